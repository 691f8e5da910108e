"""Verify every stored alert and practice signature; exit 1 naming each invalid object."""

from django.core.management.base import BaseCommand, CommandError

from ports.signing import SignatureStatus
from sharing.integrity import verify_all


class Command(BaseCommand):
    help = "Recompute the signature status of every alert and practice (and each version); exit 1 if any is invalid."

    def add_arguments(self, parser):
        parser.add_argument(
            "--no-mark", action="store_true", help="Do not record invalid objects (counts keep including them)."
        )

    def handle(self, *args, **options):
        problems, checked = verify_all(mark=not options["no_mark"])
        invalid = [p for p in problems if p.status == SignatureStatus.INVALID]
        for finding in problems:
            if finding.status == SignatureStatus.INVALID:
                self.stderr.write(f"INVALID {finding}")
            else:
                self.stdout.write(f"note: {finding}")  # signed with a retired or revoked key: still authentic
        self.stdout.write(f"{checked} signed objects checked, {len(invalid)} invalid.")
        if invalid:
            raise CommandError(f"{len(invalid)} invalid signature(s)", returncode=1)
