import sys

from django.core.management.base import BaseCommand, CommandError

from federation.models import Peer
from federation.services import FederationError, peer_set_token


class Command(BaseCommand):
    help = "Read from standard input the token we use to read from peer ID (SPEC 10.1)."

    def add_arguments(self, parser):
        parser.add_argument("peer_id")

    def handle(self, *args, peer_id, **options):
        peer = Peer.objects.filter(pk=peer_id).first()
        if peer is None:
            raise CommandError(f"no peer {peer_id!r}; add_peer it first")
        token = sys.stdin.readline()
        try:
            peer_set_token(peer=peer, token=token)
        except FederationError as exc:
            raise CommandError(str(exc))
        self.stdout.write(f"Token for {peer_id} stored; the sync starts at the next beat.")
