"""Purge what retention no longer keeps (the beat task runs the same daily)."""

from django.core.management.base import BaseCommand

from retention.services import purge_expired


class Command(BaseCommand):
    help = "Delete alerts, feedback, scans and deliveries older than their RETENTION_DAYS_* setting (0 keeps forever)."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="only count what would be deleted")
        parser.add_argument("--batch-size", type=int, default=500, help="objects deleted per transaction")

    def handle(self, *args, dry_run=False, batch_size=500, **options):
        verb = "would purge" if dry_run else "purged"
        for result in purge_expired(dry_run=dry_run, batch_size=batch_size):
            if result.cutoff is None:
                self.stdout.write(f"{result.kind}: kept forever (retention 0)")
                continue
            along = ", ".join(f"{n} {label}" for label, n in sorted(result.along.items()))
            self.stdout.write(
                f"{result.kind}: {verb} {result.count} older than {result.cutoff:%Y-%m-%d %H:%M} UTC "
                f"({result.days} days)" + (f"; with them {along}" if along else "")
            )
        if dry_run:
            self.stdout.write("dry run: nothing was deleted")
