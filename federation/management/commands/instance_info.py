from django.core.management.base import BaseCommand

from ports.instance import home_agencies, instance_id, instance_url
from ports.services import portal_key_ensure


class Command(BaseCommand):
    help = "Print this instance's id, URL, home agencies and portal key thumbprint (what a peer pins)."

    def handle(self, *args, **options):
        self.stdout.write(f"instance {instance_id()} at {instance_url()}")
        self.stdout.write("home agencies: " + ", ".join(home_agencies().values_list("slug", flat=True)))
        self.stdout.write(portal_key_ensure().kid)
