from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from ports.services import token_issue, token_membership


class Command(BaseCommand):
    help = (
        "Print a new personal API token for USERNAME, alone on the last line. The token acts for one "
        "membership: --agency SLUG, which may be left out when the user has one membership."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--agency", default=None, help="slug of the agency the token acts for")
        parser.add_argument("--name", default="cli")
        parser.add_argument("--read-only", action="store_true", help="the token reads but never writes")

    def handle(self, *args, username, agency, name, read_only, **options):
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"Unknown or inactive user {username!r}.")
        try:
            membership = token_membership(user=user, agency_slug=agency)
        except ValidationError as exc:
            message = " ".join(exc.message_dict.get("agency", exc.messages))
            if agency is None and "several agencies" in message:
                message += " Give --agency SLUG."
            raise CommandError(message) from exc
        _, raw = token_issue(membership=membership, name=name, read_only=read_only, actor="manage.py")
        kind = "Read-only personal" if read_only else "Personal"
        self.stdout.write(f"{kind} token for {username} as {membership.handle} (shown once, stored hashed):")
        self.stdout.write(raw)
