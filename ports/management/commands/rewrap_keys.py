"""KEK rotation: `ALLIANCE_KEK=<new> manage.py rewrap_keys --old-kek-stdin < old-kek` re-encrypts every
held private key under the new KEK (one transaction; keys, kids and signatures unchanged)."""

import sys

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from ports.services import keys_rewrap


class Command(BaseCommand):
    help = "Re-encrypt every portal-held private key under the current ALLIANCE_KEK (KEK rotation)."

    def add_arguments(self, parser):
        parser.add_argument("--old-kek-stdin", action="store_true", required=True, help="read the old KEK from stdin")

    def handle(self, *args, **options):
        old = sys.stdin.readline().rstrip("\n")
        if not old:
            raise CommandError("the old KEK was empty")
        try:
            count = keys_rewrap(old_kek=old)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(f"re-wrapped {count} private key(s) under the current ALLIANCE_KEK")
