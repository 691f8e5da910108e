"""Schemathesis against the live /api/schema/ (SPEC section 2): no 5xx, every answer is documented and conforms.

The API is served by a real gunicorn process on the test database (schemathesis' in-process WSGI runner closes
the test connection), so the cast, the tokens and a signing scanner node are committed first. Each operation
gets a bounded number of generated requests, as a member (an officer) and, for the node operations, as a node.
Agency admin operations need a TOTP-verified portal session: tokens get a 403, and that answer must conform too.
"""

import json
import os

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from ports.services import token_issue
from tests.conftest import WebServer
from tests.scans.helpers import Node

pytestmark = pytest.mark.integration

CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
# Operations a scanner node calls (SPEC section 5); everything else is a member's.
NODE_OPERATIONS = {
    ("GET", "/api/v1/nodes/me/"),
    ("POST", "/api/v1/nodes/me/keys/"),
    ("POST", "/api/v1/scans/"),
    ("POST", "/api/v1/scans/batch/"),
}
# Valid requests as the schema describes them, then invalid ones (wrong types, missing fields, bad values).
# FUZZ_SCALE=10 makes a deeper local run; make test keeps the bounded default.
_SCALE = int(os.environ.get("FUZZ_SCALE", "1"))
EXAMPLES = {GenerationMode.POSITIVE: 8 * _SCALE, GenerationMode.NEGATIVE: 6 * _SCALE}


def _fuzz(operation, base_url: str, token: str, failures: dict) -> int:
    """Send a bounded number of generated requests for one operation; distinct failures are collected, not raised."""
    return sum(_fuzz_mode(operation, mode, base_url, token, failures) for mode in EXAMPLES)


def _fuzz_mode(operation, mode, base_url: str, token: str, failures: dict) -> int:
    headers = {"Authorization": f"Token {token}"}
    sent = 0

    @hypothesis_settings(
        max_examples=EXAMPLES[mode],
        phases=[Phase.explicit, Phase.generate],
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case):
        nonlocal sent
        sent += 1
        response = case.call(base_url=base_url, headers=headers, timeout=30)
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except FailureGroup as group:
            for failure in group.exceptions:
                key = (operation.label, mode.value, type(failure).__name__, failure.title)
                failures.setdefault(key, f"{failure.message}\n  {case.as_curl_command(headers=headers)}")
        except Failure as failure:
            key = (operation.label, mode.value, type(failure).__name__, failure.title)
            failures.setdefault(key, f"{failure.message}\n  {case.as_curl_command(headers=headers)}")

    try:
        run()
    except Unsatisfiable:  # nothing to make invalid: no parameters and no body
        assert mode == GenerationMode.NEGATIVE, operation.label
        assert sent == 0, operation.label
    return sent


# Hostile values (SPEC section 5): each replaces one body field in turn, sent as raw JSON text (NaN and lone
# surrogates cannot go through a JSON encoder). Those marked `refused` must never be accepted; none may be a 5xx.
HOSTILE = {
    "nan": ("NaN", True),
    "infinity": ("-Infinity", True),
    "huge": ("1e308", False),
    "nul": ('"a\\u0000b"', True),
    "lone-surrogate": ('"\\ud800"', True),
    "deep": ("[" * 5000 + "]" * 5000, True),
    "long": (json.dumps("x" * 100_000), False),
    "object": ('{"a": 1}', False),
    "list": ("[1, 2]", False),
    "bool": ("true", False),
    "impossible-date": ('"2026-02-30T25:00:00Z"', False),
}
SENTINEL = "__hostile__"


def _example_body(operation) -> dict | None:
    """One valid body for the operation, as the schema describes it (None when it takes no JSON object)."""
    found: list = []

    @hypothesis_settings(
        max_examples=1,
        phases=[Phase.generate],
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=GenerationMode.POSITIVE))
    def one(case):
        if not found:
            found.append(case.body)

    try:
        one()
    except Unsatisfiable:
        return None
    body = found[0] if found else None
    return body if isinstance(body, dict) and body else None


def _hostile(operation, base_url: str, token: str, failures: dict) -> int:
    if operation.method.upper() not in ("POST", "PUT", "PATCH"):
        return 0
    body = _example_body(operation)
    if body is None:
        return 0
    sent = 0
    for field in sorted(body)[:8]:
        for name, (raw, refused) in HOSTILE.items():
            text = json.dumps({**body, field: SENTINEL}).replace(json.dumps(SENTINEL), raw)
            url = base_url + operation.path.replace("{", "").replace("}", "")
            response = requests.request(
                operation.method.upper(),
                url,
                data=text.encode("utf-8", "surrogatepass"),
                headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
                timeout=30,
            )
            sent += 1
            key = (operation.label, "hostile", name, field)
            if response.status_code >= 500:
                failures.setdefault(key, f"{response.status_code} for {field}={name}")
            elif refused and response.status_code < 400:
                failures.setdefault(key, f"{response.status_code}: {field}={name} was accepted")
            elif response.status_code >= 400 and response.status_code != 404:
                answer = response.json()
                if set(answer) != {"code", "errors"}:
                    failures.setdefault(key, f"error shape {sorted(answer)} for {field}={name}")
    return sent


def test_every_api_operation_answers_within_its_schema(
    transactional_db, cast, make_agency, api_as, redis_server, tmp_path
):
    author = cast["users"]["author"]
    member_client = api_as(author)
    node = Node("beanr-fuzz-01", make_agency("beanr-customs"))
    for _ in range(3):
        assert node.push().status_code == 201
    assert node.push(verdict="suspect").status_code == 201
    alert = member_client.post(
        "/api/v1/alerts/",
        {
            "title": "Cocaine in banana reefers",
            "body": "Rip-on bags behind the evaporator.",
            "category": "rip_on_rip_off",
            "severity": "high",
            "tlp": "GREEN",
            "audience": {"agencies": [], "ports": [], "users": []},
            "containers": [],
            "vessels": [],
            "port": "BEANR",
            "origin": "ECGYE",
        },
        format="json",
    )
    assert alert.status_code == 201, alert.content
    _, member_token = token_issue(user=author, name="fuzz")

    web = WebServer(redis_server.url, tmp_path / "web.log")
    failures: dict = {}
    sent = hostile = 0
    try:
        web.start()
        schema = schemathesis.openapi.from_url(
            web.url + "/api/schema/", headers={"Authorization": f"Token {member_token}"}
        )
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) > 40
        for operation in operations:
            is_node = (operation.method.upper(), operation.path) in NODE_OPERATIONS
            sent += _fuzz(operation, web.url, node.token if is_node else member_token, failures)
            hostile += _hostile(operation, web.url, node.token if is_node else member_token, failures)
            if is_node:  # a member calling a node operation is refused, in the documented shape
                sent += _fuzz(operation, web.url, member_token, failures)
            assert web.proc.poll() is None, "gunicorn died"
    finally:
        web.stop()
    assert sent > len(operations)
    assert hostile > 10 * len(HOSTILE)  # the hostile values reached many body fields
    report = "\n\n".join(
        f"{label} ({mode}) [{kind}: {title}]\n{detail}" for (label, mode, kind, title), detail in failures.items()
    )
    assert not failures, f"{len(failures)} distinct failures over {sent} requests:\n\n{report}"
