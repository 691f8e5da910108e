import os

from django.core.management.base import BaseCommand

from demo.seed import seed


class Command(BaseCommand):
    help = "Seed the demo alliance (idempotent): real ports, agencies, demo members, scanner nodes with keys."

    def handle(self, *args, **options):
        result = seed(password=os.environ.get("DEMO_PASSWORD") or None)
        self.stdout.write(self.style.SUCCESS("Demo alliance ready."))
        self.stdout.write("Demo logins (password for all: {}):".format(result["password"]))
        for username, slug, role, handle in result["users"]:
            self.stdout.write(f"  {username:<20} {role:<8} {slug:<26} {handle}")
        self.stdout.write("Scanner nodes: " + ", ".join(result["nodes"]))
