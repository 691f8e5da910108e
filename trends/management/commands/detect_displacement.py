from datetime import date

from django.core.management.base import BaseCommand, CommandError

from trends.services.displacement import detect_and_store


class Command(BaseCommand):
    help = "Run displacement detection over the whole history (or only tightenings from --since) and store flags."

    def add_arguments(self, parser):
        parser.add_argument("--since", help="examine only tightenings starting on or after this date (YYYY-MM-DD)")

    def handle(self, *args, since=None, **options):
        try:
            day = date.fromisoformat(since) if since else None
        except ValueError as exc:
            raise CommandError("--since is a date YYYY-MM-DD") from exc
        result = detect_and_store(since=day)
        self.stdout.write(
            f"{result['flags']} flags: {result['created']} new, {result['updated']} updated, "
            f"{result['notified']} notices"
        )
