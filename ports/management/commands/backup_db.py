from pathlib import Path

from django.core.management.base import BaseCommand

from ports.backup import backup


class Command(BaseCommand):
    help = "Write a consistent backup of the database (SQLite online backup or pg_dump -Fc); prints its path."

    def add_arguments(self, parser):
        parser.add_argument("--dir", default=None, help="target directory (default: var/backups)")

    def handle(self, *args, dir, **options):
        path = backup(Path(dir) if dir else None)
        self.stdout.write(str(path))
