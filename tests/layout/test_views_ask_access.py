"""Views and API modules never decide who reads what: they ask `access` (or, in ports, its own selectors).

A view that compares a membership's role, an agency's sector, an object's TLP or a signature status, or
filters a queryset on one of them, holds a second copy of the access rule; this test fails on it. Serializers
and forms may still *describe* those fields (choices, help texts): only decisions are refused.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APPS = ("ports", "sharing", "scans", "correlation", "trends", "webhooks", "notifications", "interop")

# Attribute names that carry an access decision when compared or filtered on.
DECIDING = {"role", "sector", "agency_sector", "is_public", "tlp", "signature_status", "integrity_failed"}
DECIDING_ENUMS = {"Role", "Sector", "Tlp", "SignatureStatus"}
QUERY_METHODS = {"filter", "exclude", "get", "get_or_create"}


def view_modules() -> list[Path]:
    found = []
    for app in APPS:
        base = ROOT / app
        found += [
            p for p in base.glob("*.py") if p.stem in ("views", "api", "api_keys", "taxii") or p.stem.endswith("_views")
        ]
        found += [p for p in (base / "api").glob("*.py") if p.stem != "__init__"]
    return sorted(found)


def _names(node: ast.AST) -> set[str]:
    out = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Attribute):
            out.add(sub.attr)
            if isinstance(sub.value, ast.Name) and sub.value.id in DECIDING_ENUMS:
                out.add(sub.value.id)
        elif isinstance(sub, ast.Name):
            out.add(sub.id)
        elif isinstance(sub, ast.Constant) and sub.value == "invalid":
            out.add("'invalid'")
    return out


def decisions(source: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            names = _names(node)
            hit = (
                (names & DECIDING) or (names & DECIDING_ENUMS) or ("'invalid'" in names and "signature_status" in names)
            )
            if hit:
                found.append(f"line {node.lineno}: compares {sorted(hit)}")
        elif isinstance(node, (ast.comprehension, ast.If, ast.IfExp, ast.BoolOp, ast.UnaryOp)):
            tests = node.ifs if isinstance(node, ast.comprehension) else [getattr(node, "test", None)]
            tests += getattr(node, "values", []) + ([node.operand] if isinstance(node, ast.UnaryOp) else [])
            for test in tests:
                if isinstance(test, ast.Attribute) and test.attr in DECIDING:
                    found.append(f"line {test.lineno}: tests {test.attr}")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in QUERY_METHODS:
            for kw in node.keywords:
                if kw.arg and kw.arg.split("__")[-1] in DECIDING | {"in"} and set(kw.arg.split("__")) & DECIDING:
                    found.append(f"line {node.lineno}: filters on {kw.arg}")
    return found


@pytest.mark.parametrize("path", view_modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_view_and_api_modules_do_not_decide_access(path):
    assert decisions(path.read_text()) == []


def test_the_check_catches_what_it_should():
    caught = decisions(
        "def v(user):\n"
        "    a = [m for m in ms if m.role == Role.OFFICER]\n"
        "    b = Alert.objects.filter(tlp__in=('CLEAR',))\n"
        "    c = scan.signature_status == 'invalid'\n"
        "    d = [m for m in ms if m.agency.is_public]\n"
        "    return Scan.objects.exclude(integrity_failed=True)\n"
    )
    assert len(caught) == 5
    assert decisions("class S:\n    tlp = serializers.ChoiceField(choices=Tlp.choices)\n") == []
