from django.core.management.base import BaseCommand

from ports.audit import verify_chain, verify_checkpoints


class Command(BaseCommand):
    help = "Prove the audit chain unbroken and consistent with the signed checkpoints (exit 1 otherwise)."

    def handle(self, *args, **options):
        ok, count, problem = verify_chain()
        if not ok:
            self.stderr.write(f"AUDIT CHAIN BROKEN after {count} good entries: {problem}")
            raise SystemExit(1)
        ok, checked, problem = verify_checkpoints()
        if not ok:
            self.stderr.write(f"AUDIT CHECKPOINT MISMATCH: {problem}")
            raise SystemExit(1)
        self.stdout.write(f"Audit chain OK: {count} entries, {checked} signed checkpoints.")
