import sys

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from ports.models import Agency, Role
from ports.services import member_add


class Command(BaseCommand):
    help = "Create or update a member: add_member USERNAME --agency SLUG --role ROLE [--password-stdin]"

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--agency", required=True)
        parser.add_argument("--role", required=True, help=f"one of {', '.join(Role.values)}")
        parser.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
        parser.add_argument("--name", default="", help="display name")

    def handle(self, *args, username, agency, role, password_stdin, name, **options):
        found = Agency.objects.filter(slug=agency).first()
        if found is None:
            raise CommandError(f"Unknown agency {agency!r}. List agencies with GET /api/v1/agencies/.")
        password = sys.stdin.readline().rstrip("\n") if password_stdin else None
        if password_stdin and not password:
            raise CommandError("No password on standard input.")
        try:
            membership = member_add(
                username=username, agency=found, role=role, password=password, display_name=name, actor="manage.py"
            )
        except ValidationError as exc:
            raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())) from exc
        self.stdout.write(f"{username} is {membership.role} at {found.slug} (handle {membership.handle})")
