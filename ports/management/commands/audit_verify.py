from django.core.management.base import BaseCommand

from ports.audit import CheckpointError, checkpoint_jws_from_text, checkpoint_read, verify_chain, verify_checkpoints
from ports.audit_archive import archive_verify


class Command(BaseCommand):
    help = (
        "Prove the audit chain unbroken, not cut at its start or its end, and consistent with the signed "
        "checkpoints (exit 1 otherwise)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--archive", metavar="FILE", help="check an `audit_archive` file instead: its chain ends at its checkpoint"
        )
        parser.add_argument(
            "--checkpoint",
            metavar="JSON",
            action="append",
            default=[],
            help="a signed checkpoint kept outside the database: the JSON line the portal logged (or its JWS); "
            "the chain must reach it and agree with it (repeatable)",
        )

    def handle(self, *args, archive=None, checkpoint=(), **options):
        if archive:
            ok, count, problem = archive_verify(archive)
            if not ok:
                self.stderr.write(f"AUDIT ARCHIVE BROKEN after {count} good entries: {problem}")
                raise SystemExit(1)
            self.stdout.write(f"Audit archive OK: {count} entries, ending at a signed checkpoint.")
            return
        given = []
        for text in checkpoint:
            try:
                given.append(checkpoint_read(checkpoint_jws_from_text(text)))
            except CheckpointError as exc:
                self.stderr.write(f"AUDIT CHECKPOINT REFUSED (--checkpoint): {exc}")
                raise SystemExit(1) from None
        ok, count, problem = verify_chain(given)
        if not ok:
            self.stderr.write(f"AUDIT CHAIN BROKEN after {count} good entries: {problem}")
            raise SystemExit(1)
        ok, checked, problem = verify_checkpoints()
        if not ok:
            self.stderr.write(f"AUDIT CHECKPOINT MISMATCH: {problem}")
            raise SystemExit(1)
        outside = f", consistent with {len(given)} given" if given else ""
        self.stdout.write(f"Audit chain OK: {count} entries, {checked} signed checkpoints{outside}.")
