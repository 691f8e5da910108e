from datetime import date

from django.core.management.base import BaseCommand, CommandError

from ports.retention import first_retained_scan_day
from trends.services.rollups import rebuild


class Command(BaseCommand):
    help = (
        "Recompute the daily rollups from the scans, then the weekly and monthly ones from the daily ones "
        "(all, or from --since YYYY-MM-DD on: the week and month holding it are recomputed whole)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--since", help="first day to rebuild (UTC date); earlier rollups are kept")

    def handle(self, *args, since=None, **options):
        try:
            day = date.fromisoformat(since) if since else None
        except ValueError as exc:
            raise CommandError("--since is a date YYYY-MM-DD") from exc
        floor = first_retained_scan_day()
        cells = rebuild(day)
        self.stdout.write(f"rebuilt {cells} rollup cells" + (f" from {day}" if day else ""))
        if floor is not None and (day is None or day < floor):
            self.stdout.write(f"kept the rollups before {floor} as they are: retention purged those days' scans")
