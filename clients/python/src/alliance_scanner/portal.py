"""The portal's scanner endpoints (docs/scanner-api.md), one request per call, no retries here: the
caller (`node.Node`) decides what a failure means for the queue.

Failures come out as exceptions of two kinds:
- `Unavailable`: nothing is known about the outcome (network error, timeout, 5xx, 429, 401, an answer
  that is not the API's) - the same request may be sent again later;
- `Refused`: the portal answered with a definite API error (4xx with the error envelope).
"""

import json
from dataclasses import dataclass, field
from typing import Any

import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from . import signing

BATCH_MAX = 500  # SPEC section 5: a batch holds 1 to 500 items


class Unavailable(RuntimeError):
    def __init__(self, message: str, *, retry_after: float | None = None, status: int | None = None):
        super().__init__(message)
        self.retry_after = retry_after
        self.status = status


class TooLarge(Unavailable):
    """413 from the portal or a proxy in front of it: the same items fit in smaller batches."""


@dataclass
class Refused(RuntimeError):
    status: int
    code: str
    errors: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"HTTP {self.status} {self.code}: {json.dumps(self.errors, ensure_ascii=False)}"


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


class Portal:
    def __init__(self, url: str, token: str, *, timeout: float = 30.0, session: requests.Session | None = None):
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.session = session or requests.Session()
        self.session.headers.update(
            {"Authorization": f"Token {token}", "Content-Type": "application/json", "Accept": "application/json"}
        )

    def close(self) -> None:
        self.session.close()

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        try:
            response = self.session.request(
                method,
                self.url + path,
                data=None if body is None else json.dumps(body, separators=(",", ":")),
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            raise Unavailable(f"{type(exc).__name__}: {exc}") from exc
        status = response.status_code
        if status == 413:
            raise TooLarge("request too large (413)", status=status)
        if status == 429:
            raise Unavailable("throttled (429)", retry_after=_retry_after(response), status=status)
        if status >= 500:
            raise Unavailable(f"portal error {status}", retry_after=_retry_after(response), status=status)
        try:
            data = response.json()
        except ValueError:
            # A proxy's HTML page, a captive portal...: not the API, so nothing is known.
            raise Unavailable(f"HTTP {status} without a JSON body", status=status) from None
        if status == 401:
            # The token: fixed by the operator, never a reason to drop a scan.
            raise Unavailable(f"token refused (401): {data.get('errors') or data}", status=status)
        if status >= 400:
            if not isinstance(data, dict):
                raise Unavailable(f"HTTP {status} with an unexpected body", status=status)
            raise Refused(status, str(data.get("code") or "error"), data.get("errors") or {})
        return status, data

    # ------------------------------------------------------------ endpoints

    def me(self) -> dict[str, Any]:
        """GET /api/v1/nodes/me/: node id, agency, port, status, counters, active key."""
        _, data = self._request("GET", "/api/v1/nodes/me/")
        if not isinstance(data, dict) or "node" not in data:
            raise Unavailable("GET /api/v1/nodes/me/ did not answer a node")
        return data

    def push(self, jws: str) -> tuple[int, dict[str, Any]]:
        """POST /api/v1/scans/: 201 created, 200 identical re-send; Refused for 4xx (409 conflict...)."""
        status, data = self._request("POST", "/api/v1/scans/", {"jws": jws})
        return status, data

    def batch(self, items: list[str]) -> list[dict[str, Any]]:
        """POST /api/v1/scans/batch/: one result per item, in order."""
        if not 1 <= len(items) <= BATCH_MAX:
            raise ValueError(f"a batch holds 1 to {BATCH_MAX} items")
        _, data = self._request("POST", "/api/v1/scans/batch/", {"items": items})
        results = data.get("results") if isinstance(data, dict) else None
        if not isinstance(results, list) or len(results) != len(items):
            raise Unavailable("the batch answer does not hold one result per item")
        for result in results:
            # Anything but a known status leaves the outcome unknown: never a reason to set a scan aside.
            if not isinstance(result, dict) or result.get("status") not in ("created", "duplicate", "rejected"):
                raise Unavailable(f"the batch answer holds an unexpected result: {result!r:.200}")
        return results

    def register_key(self, *, node: str, current: Ed25519PrivateKey, new_x: str) -> dict[str, Any]:
        """POST /api/v1/nodes/me/keys/: the new public key, signed by the current key (typ key+json)."""
        document = {"node": node, "x": new_x, "created_at": signing.utc_now()}
        _, data = self._request(
            "POST", "/api/v1/nodes/me/keys/", {"jws": signing.sign(document, current, signing.KEY_TYP)}
        )
        if not isinstance(data, dict):
            raise Unavailable("the key registration answer is not a JSON object")
        return data
