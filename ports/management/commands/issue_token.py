from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from ports.selectors import active_memberships
from ports.services import token_issue


class Command(BaseCommand):
    help = "Print a new personal API token for USERNAME, alone on the last line."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="cli")

    def handle(self, *args, username, name, **options):
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"Unknown or inactive user {username!r}.")
        if not active_memberships(user).exists():
            raise CommandError(f"{username} has no active membership; personal tokens are for members.")
        _, raw = token_issue(user=user, name=name, actor="manage.py")
        self.stdout.write(f"Personal token for {username} (shown once, stored hashed):")
        self.stdout.write(raw)
