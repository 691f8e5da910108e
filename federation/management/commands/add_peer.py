from django.core.management.base import BaseCommand, CommandError

from federation.services import FederationError, peer_add


class Command(BaseCommand):
    help = (
        "Register a peer instance (SPEC 10.1), pinning its portal key; fetch its signed instance document; print "
        "the token the peer uses to read from us, alone on the last line."
    )

    def add_arguments(self, parser):
        parser.add_argument("peer_id", help="the peer's INSTANCE_ID, e.g. nl")
        parser.add_argument("--url", required=True, help="the peer's INSTANCE_URL")
        parser.add_argument("--key-thumbprint", required=True, help="the kid (RFC 7638) of the peer's portal key")

    def handle(self, *args, peer_id, url, key_thumbprint, **options):
        try:
            token = peer_add(peer_id=peer_id, url=url, key_thumbprint=key_thumbprint, actor=None)
        except FederationError as exc:
            raise CommandError(str(exc))
        self.stdout.write(f"Peer {peer_id} added; its portal key {key_thumbprint} is pinned.")
        self.stdout.write(f"Give this token to {peer_id} (its operator runs set_peer_token with it):")
        self.stdout.write(token)
