from django.core.management.base import BaseCommand

from federation.services import sync_all


class Command(BaseCommand):
    help = "Pull every peer once from its cursor (what the beat task does every FEDERATION_SYNC_SECONDS)."

    def handle(self, *args, **options):
        self.stdout.write(f"{sync_all()} objects applied.")
