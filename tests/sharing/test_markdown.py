"""Best-practice Markdown renders safely: scripts, javascript: and data: links and event handlers come out inert."""

import re

import pytest

from sharing.markdown import render_markdown


def _no_active_content(html: str) -> None:
    lowered = html.lower()
    assert "<script" not in lowered
    assert "javascript:" not in lowered
    assert "data:" not in lowered
    assert "<img" not in lowered
    assert "<iframe" not in lowered
    assert "<svg" not in lowered
    assert "<style" not in lowered
    assert "<object" not in lowered
    assert "<form" not in lowered
    assert not re.search(r"<[^>]*\son\w+\s*=", lowered), html  # no event handler attribute on any tag


def test_ordinary_markdown_renders():
    html = render_markdown(
        "## Reefer checks\n\n1. Open the **unit** panel\n2. Compare the *seal* numbers\n\n"
        "| port | hits |\n|---|---|\n| BEANR | 3 |\n\n```\nscan --deep\n```\n\n[guide](https://example.org/g)"
    )
    assert "<h2>Reefer checks</h2>" in html
    assert "<strong>unit</strong>" in html
    assert "<em>seal</em>" in html
    assert "<table>" in html
    assert "<td>BEANR</td>" in html
    assert "<pre><code>scan --deep" in html
    assert 'href="https://example.org/g"' in html
    assert 'rel="noopener noreferrer"' in html


@pytest.mark.parametrize(
    "source",
    [
        "<script>alert(1)</script>",
        "Hello <script src=https://evil.example/x.js></script> world",
        "[click](javascript:alert(1))",
        "[click](JaVaScRiPt:alert(1))",
        "[click](  javascript:alert(document.cookie))",
        '<a href="javascript:alert(1)">raw link</a>',
        "<a href=\"jav&#x09;ascript:alert('XSS');\">encoded</a>",
        "<img src=x onerror=alert(1)>",
        "![pixel](https://evil.example/p.png)",
        "![x](data:image/png;base64,iVBORw0KGgo=)",
        "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        '<p onclick="alert(1)">click me</p>',
        '<div onmouseover="alert(1)">hover</div>',
        '<a href="https://ok.example" onfocus="alert(1)" autofocus>x</a>',
        "<svg onload=alert(1)>",
        '<iframe src="https://evil.example"></iframe>',
        "<style>body{display:none}</style>",
        '<form action="https://evil.example"><input name=x></form>',
        '<object data="x.swf"></object>',
        "<<script>script>alert(1)<</script>/script>",
    ],
)
def test_active_content_renders_inert(source):
    html = render_markdown(source)
    _no_active_content(html)


def test_allowed_link_schemes_survive_and_get_rel():
    html = render_markdown("[mail](mailto:desk@example.org) [web](http://example.org)")
    assert 'href="mailto:desk@example.org"' in html
    assert 'href="http://example.org"' in html
    assert html.count('rel="noopener noreferrer"') == 2


def test_text_is_escaped_not_dropped():
    html = render_markdown("Use `<script>` tags? Never. 5 < 7 & 3 > 2")
    assert "&lt;script&gt;" in html
    assert "&lt;" in html
    assert "&amp;" in html
