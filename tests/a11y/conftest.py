"""The demo alliance in a live server, sessions for Playwright, axe-core, and the English strings the
translated pages must not show."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client

from tests.conftest import login_verified

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "tests" / "vendor" / "axe-core-4.14.1" / "axe.min.js"
PASSWORD = "a11y-demo-password"
PHONE = {"width": 375, "height": 812}


@pytest.fixture
def demo(transactional_db, settings, tmp_path):
    """The whole demo alliance (alerts in four languages, scans, a correlation, a displacement flag)."""
    from demo.seed import seed

    settings.VAR_DIR = tmp_path
    seed(password=PASSWORD)
    return get_user_model().objects


def session_cookie(live_server, username: str, *, verified: bool = False) -> dict:
    """A logged-in session for `username` (verified with a TOTP device when asked), as a Playwright cookie."""
    client = Client()
    user = get_user_model().objects.get(username=username)
    if verified:
        login_verified(client, user)
    else:
        client.force_login(user)
    return {
        "name": settings.SESSION_COOKIE_NAME,
        "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
        "url": live_server.url,
    }


def run_axe(page) -> list[dict]:
    """axe-core on the page as it is; only the serious and critical violations, summarised."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        """async () => {
            const r = await axe.run(document, {resultTypes: ['violations']});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
              nodes: v.nodes.slice(0, 3).map(n => n.target.join(' ') + ' :: ' + (n.failureSummary || ''))}));
        }"""
    )
    return [v for v in result if v["impact"] in ("serious", "critical")]


def _po_entries(path: Path) -> list[tuple[str, str]]:
    text = path.read_text(encoding="utf-8")
    pairs = []
    for block in text.split("\n\n"):
        if "#, fuzzy" in block or "msgid_plural" in block:
            continue
        msgid = re.search(r'^msgid ((?:".*"\n?)+)', block, re.M)
        msgstr = re.search(r'^msgstr ((?:".*"\n?)+)', block, re.M)
        if not msgid or not msgstr:
            continue
        join = lambda chunk: "".join(re.findall(r'"(.*)"', chunk)).replace('\\"', '"')  # noqa: E731
        pairs.append((join(msgid.group(1)), join(msgstr.group(1))))
    return pairs


def english_strings(language: str) -> set[str]:
    """Whole English messages (no placeholder) whose translation differs: on a page in `language`, a text
    node or label equal to one of them is an untranslated string."""
    strings, translations = set(), set()
    for domain in ("django", "djangojs"):
        for msgid, msgstr in _po_entries(ROOT / "locale" / language / "LC_MESSAGES" / f"{domain}.po"):
            translations.add(msgstr)
            if msgid and msgstr and msgid != msgstr and "%(" not in msgid and "<" not in msgid:
                strings.add(msgid)
    # A translation that happens to spell an English message ("Tag", German for "Day") is not a leftover.
    return strings - translations


VISIBLE_TEXTS = """() => {
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode, parent = node.parentElement;
    if (!parent || ['SCRIPT', 'STYLE', 'NOSCRIPT'].includes(parent.tagName)) continue;
    const text = node.textContent.replace(/\\s+/g, ' ').trim();
    if (text) out.push(text);
  }
  for (const el of document.querySelectorAll('[placeholder],[aria-label],[title],[alt],[data-confirm]')) {
    for (const attr of ['placeholder', 'aria-label', 'title', 'alt', 'data-confirm']) {
      const value = el.getAttribute(attr);
      if (value) out.push(value.trim());
    }
  }
  for (const el of document.querySelectorAll('option, button, legend, summary, label, th, h1, h2, h3')) {
    const text = el.textContent.replace(/\\s+/g, ' ').trim();
    if (text) out.push(text);
  }
  return out;
}"""


def untranslated(page, english: set[str]) -> set[str]:
    return {text for text in page.evaluate(VISIBLE_TEXTS) if text in english}
