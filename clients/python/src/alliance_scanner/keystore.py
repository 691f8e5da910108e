"""The node's private keys on disk: the active key and, during a rotation, the next one.

Files (mode 0600, in a 0700 directory):
- `node.key`: the key the portal has as this node's active key;
- `node.key.next`: a new key written *before* it is registered with the portal.

Every write goes to a temporary file that is fsync'd and renamed into place, then the directory is
fsync'd, so a crash or power cut leaves either the old file or the new one, never half of one. The
rotation keeps this invariant: at every instant one of the two files holds the key the portal has
as active (see `node.Node.rotate_key` and `node.Node.resolve_rotation`).
"""

import contextlib
import os
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from . import signing

ACTIVE = "node.key"
NEXT = "node.key.next"


class KeyStoreError(RuntimeError):
    pass


def ensure_private_dir(path: Path) -> Path:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_private(path: Path, data: bytes) -> None:
    """Write `data` to `path` (mode 0600) atomically and durably."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    _fsync_dir(path.parent)


class KeyStore:
    def __init__(self, home: Path):
        self.home = ensure_private_dir(home)
        self.active_path = home / ACTIVE
        self.next_path = home / NEXT
        for leftover in home.glob(".node.key*.tmp"):  # a write that died before its rename
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()

    def _load(self, path: Path) -> Ed25519PrivateKey:
        try:
            return signing.load_private_pem(path.read_bytes())
        except FileNotFoundError:
            raise KeyStoreError(f"no key at {path}: run `alliance-scanner keygen` first") from None
        except ValueError as exc:
            raise KeyStoreError(f"{path} is not an Ed25519 private key PEM: {exc}") from exc

    def has_active(self) -> bool:
        return self.active_path.exists()

    def active(self) -> Ed25519PrivateKey:
        return self._load(self.active_path)

    def pending(self) -> Ed25519PrivateKey | None:
        return self._load(self.next_path) if self.next_path.exists() else None

    def create_active(self) -> Ed25519PrivateKey:
        if self.active_path.exists():
            raise KeyStoreError(f"{self.active_path} already exists; rotate it with `alliance-scanner rotate-key`")
        key = Ed25519PrivateKey.generate()
        write_private(self.active_path, signing.private_pem(key))
        return key

    def store_pending(self, key: Ed25519PrivateKey) -> None:
        """Step one of a rotation: the new key is on disk before the portal hears of it."""
        write_private(self.next_path, signing.private_pem(key))

    def promote_pending(self) -> Ed25519PrivateKey:
        """The portal has the pending key as active: it replaces the old one in a single rename."""
        key = self._load(self.next_path)
        os.replace(self.next_path, self.active_path)
        _fsync_dir(self.home)
        return key

    def discard_pending(self) -> None:
        """The portal refused the pending key: the active key stays the one in use."""
        with contextlib.suppress(FileNotFoundError):
            self.next_path.unlink()
        _fsync_dir(self.home)
