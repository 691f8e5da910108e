"""docs/interop.md, section MISP: its Python snippet runs as written against a live server (gunicorn)."""

import io
import re
from contextlib import redirect_stdout
from pathlib import Path

import pytest
from django.core.management import call_command

from tests.conftest import WebServer
from tests.sharing.conftest import VESSELS, container

pytestmark = pytest.mark.integration

DOC = Path(__file__).resolve().parents[2] / "docs" / "interop.md"


def misp_snippets() -> list[str]:
    text = DOC.read_text()
    section = text[text.index("<!-- MISP section: begin -->") : text.index("<!-- MISP section: end -->")]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


def test_the_misp_section_has_one_snippet_and_no_untested_command():
    text = DOC.read_text()
    section = text[text.index("<!-- MISP section: begin -->") : text.index("<!-- MISP section: end -->")]
    assert re.findall(r"```(\w*)", section)[::2] == ["python"]  # every fenced block is the one run below


def test_the_misp_snippet_reads_and_verifies_the_feed(
    transactional_db, cast, publish, redis_server, tmp_path, monkeypatch
):
    author = cast["users"]["author"]
    green = publish(author, tlp="GREEN", containers=[container()], vessels=VESSELS[:1], source_reliability="B")
    amber = publish(author, tlp="AMBER", audience={"agencies": ["nlrtm-customs"], "ports": [], "users": []})
    publish(author, tlp="RED", audience={"agencies": [], "ports": [], "users": []})  # never in a feed
    out = io.StringIO()
    with redirect_stdout(out):
        call_command("issue_token", "rotterdam.analyst", "--agency", "nlrtm-customs")
    token = out.getvalue().strip().splitlines()[-1]  # the token alone on the last line

    web = WebServer(redis_server.url, tmp_path / "web.log")
    try:
        web.start()
        monkeypatch.setenv("ALLIANCE_URL", web.url)
        monkeypatch.setenv("ALLIANCE_TOKEN", token)
        (snippet,) = misp_snippets()
        printed = io.StringIO()
        with redirect_stdout(printed):
            exec(compile(snippet, str(DOC), "exec"), {"__name__": "__doc_snippet__"})  # noqa: S102 - our own doc
    finally:
        web.stop()
    lines = printed.getvalue().splitlines()
    assert sorted(line.split()[0] for line in lines) == sorted([green["id"], amber["id"]])
    assert all(line.endswith("signature verified") for line in lines)
    assert any("tlp:green" in line and "admiralty-scale:source-reliability" in line for line in lines)
