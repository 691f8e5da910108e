from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ports.backup import restore


class Command(BaseCommand):
    help = "Restore the database from a backup made by backup_db. Stop web, worker and beat first."

    def add_arguments(self, parser):
        parser.add_argument("path")

    def handle(self, *args, path, **options):
        try:
            restore(Path(path))
        except FileNotFoundError as exc:
            raise CommandError(f"No such backup: {exc}") from exc
        self.stdout.write(f"Restored from {path}. Run `manage.py audit_verify` to check the audit chain.")
