"""Export the audit entries before a date, ending at a signed checkpoint, as JSON lines."""

from datetime import date
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ports.audit_archive import archive_write


class Command(BaseCommand):
    help = (
        "Write the audit entries before --before (00:00 UTC) to --out, ending at a portal-signed checkpoint of the "
        "last one (created if needed). Entries stay in the database; verify with `audit_verify --archive FILE`."
    )

    def add_arguments(self, parser):
        parser.add_argument("--before", required=True, help="YYYY-MM-DD: archive the entries before this day")
        parser.add_argument("--out", required=True, help="the archive file to write (JSON lines)")

    def handle(self, *args, before, out, **options):
        try:
            day = date.fromisoformat(before)
        except ValueError as exc:
            raise CommandError("--before is a date YYYY-MM-DD") from exc
        try:
            archive = archive_write(before=day, out=Path(out))
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"archived {archive.entries} audit entries (#{archive.first_seq} to #{archive.last_seq}) to {archive.path}, "
            f"ending at signed checkpoint #{archive.checkpoint.seq}"
        )
