"""Alliance Exchange scanner client: sign scans, keep them on disk, deliver each exactly once."""

from .node import Backoff, Delivery, KeyProblem, Node, NotConfigured
from .portal import Portal, Refused, TooLarge, Unavailable
from .queue import Queue, QueueConflict
from .signing import DocumentError, canonical, kid_of, public_x, sign, sign_payload

__version__ = "1.0.0"
__all__ = [
    "Backoff",
    "Delivery",
    "DocumentError",
    "KeyProblem",
    "Node",
    "NotConfigured",
    "Portal",
    "Queue",
    "QueueConflict",
    "Refused",
    "TooLarge",
    "Unavailable",
    "canonical",
    "kid_of",
    "public_x",
    "sign",
    "sign_payload",
]
