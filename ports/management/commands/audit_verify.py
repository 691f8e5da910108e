from django.core.management.base import BaseCommand

from ports.audit import verify_chain, verify_checkpoints
from ports.audit_archive import archive_verify


class Command(BaseCommand):
    help = "Prove the audit chain unbroken and consistent with the signed checkpoints (exit 1 otherwise)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--archive", metavar="FILE", help="check an `audit_archive` file instead: its chain ends at its checkpoint"
        )

    def handle(self, *args, archive=None, **options):
        if archive:
            ok, count, problem = archive_verify(archive)
            if not ok:
                self.stderr.write(f"AUDIT ARCHIVE BROKEN after {count} good entries: {problem}")
                raise SystemExit(1)
            self.stdout.write(f"Audit archive OK: {count} entries, ending at a signed checkpoint.")
            return
        ok, count, problem = verify_chain()
        if not ok:
            self.stderr.write(f"AUDIT CHAIN BROKEN after {count} good entries: {problem}")
            raise SystemExit(1)
        ok, checked, problem = verify_checkpoints()
        if not ok:
            self.stderr.write(f"AUDIT CHECKPOINT MISMATCH: {problem}")
            raise SystemExit(1)
        self.stdout.write(f"Audit chain OK: {count} entries, {checked} signed checkpoints.")
