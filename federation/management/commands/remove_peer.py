from django.core.management.base import BaseCommand, CommandError

from federation.models import Peer
from federation.services import peer_remove


class Command(BaseCommand):
    help = "Forget peer ID: revoke the tokens it reads us with and stop pulling from it (SPEC 10.1)."

    def add_arguments(self, parser):
        parser.add_argument("peer_id")

    def handle(self, *args, peer_id, **options):
        peer = Peer.objects.filter(pk=peer_id).first()
        if peer is None:
            raise CommandError(f"no peer {peer_id!r}")
        peer_remove(peer=peer)
        self.stdout.write(f"Peer {peer_id} removed; its tokens are revoked.")
