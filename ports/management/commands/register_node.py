from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from ports.models import Agency
from ports.services import node_register


class Command(BaseCommand):
    help = "Register a scanner node with its public key (PEM or raw base64url); prints its API token last."

    def add_arguments(self, parser):
        parser.add_argument("node_id")
        parser.add_argument("--agency", required=True)
        parser.add_argument("--public-key", required=True, help="file holding a PEM or base64url Ed25519 key")
        parser.add_argument("--description", default="")

    def handle(self, *args, node_id, agency, public_key, description, **options):
        found = Agency.objects.filter(slug=agency).first()
        if found is None:
            raise CommandError(f"Unknown agency {agency!r}.")
        path = Path(public_key)
        if not path.is_file():
            raise CommandError(f"No such key file: {public_key}")
        try:
            node, raw = node_register(
                node_id=node_id, agency=found, public_key=path.read_text(), description=description, actor="manage.py"
            )
        except ValidationError as exc:
            raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())) from exc
        self.stdout.write(f"Node {node.id} registered for {found.slug} at {node.port_id}. API token (shown once):")
        self.stdout.write(raw)
