"""Federation reads: per-peer sync figures for the operator's page, the API and `/metrics` (SPEC 10.2)."""

from dataclasses import dataclass, field
from datetime import datetime

from .models import Direction, Peer, PeerReason


@dataclass(frozen=True)
class PeerFigures:
    peer: str
    url: str
    key_thumbprint: str
    cursor: int
    lag_objects: int
    lag_seconds: float
    applied: int
    last_success_at: datetime | None
    last_error_at: datetime | None
    last_error: str
    has_token: bool
    left_out: dict[str, int] = field(default_factory=dict)  # reason -> count, what we did not offer the peer
    refused: dict[str, int] = field(default_factory=dict)  # reason -> count, what we refused from the peer

    def as_dict(self) -> dict:
        return {
            "peer": self.peer,
            "url": self.url,
            "key_thumbprint": self.key_thumbprint,
            "cursor": str(self.cursor),
            "lag": {"objects": self.lag_objects, "seconds": round(self.lag_seconds, 3)},
            "applied": self.applied,
            "last_success": self.last_success_at.isoformat().replace("+00:00", "Z") if self.last_success_at else None,
            "last_error": (
                {"at": self.last_error_at.isoformat().replace("+00:00", "Z"), "message": self.last_error}
                if self.last_error_at
                else None
            ),
            "reasons": {"left_out": self.left_out, "refused": self.refused},
            "reading": self.has_token,
        }


def peer_figures() -> list[PeerFigures]:
    """Every peer's cursor, lag, last success and error, and counts by reason code: two queries in all.

    A plain function for the peers page, `GET /api/v1/federation/peers/` and `/metrics`.
    """
    counts: dict[str, dict[str, dict[str, int]]] = {}
    for peer_id, direction, reason, n in PeerReason.objects.values_list("peer_id", "direction", "reason", "count"):
        counts.setdefault(peer_id, {}).setdefault(direction, {})[reason] = n
    return [
        PeerFigures(
            peer=p.id,
            url=p.url,
            key_thumbprint=p.key_thumbprint,
            cursor=p.cursor,
            lag_objects=p.lag_objects,
            lag_seconds=p.lag_seconds,
            applied=p.applied,
            last_success_at=p.last_success_at,
            last_error_at=p.last_error_at,
            last_error=p.last_error,
            has_token=p.token_encrypted is not None,
            left_out=counts.get(p.id, {}).get(Direction.OUT, {}),
            refused=counts.get(p.id, {}).get(Direction.IN, {}),
        )
        for p in Peer.objects.order_by("id").defer("document_jws")
    ]
