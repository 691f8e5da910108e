"""Every string marked for translation, in templates, Python and JavaScript, has a finished Dutch, French and
German translation: the marked strings are extracted afresh (as `scripts/messages.sh update` would) into a
scratch copy of the sources, and GNU gettext's msgcmp compares them with the committed catalogues, counting
missing, empty and fuzzy entries as failures. `msgfmt --check` then checks each catalogue's placeholders."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LANGUAGES = ("nl", "fr", "de")
DOMAINS = ("django", "djangojs")
# What `scripts/messages.sh update` leaves out: tools, tests, data and vendored code, not the portal's text.
SKIP = {".venv", "var", "tests", "bench", "docs", "clients", "node_modules", "locale", ".git", "vendor", "__pycache__"}


def _sources(into: Path) -> None:
    for entry in ROOT.iterdir():
        if entry.name in SKIP or entry.name.startswith("."):
            continue
        if entry.is_dir():
            shutil.copytree(entry, into / entry.name, ignore=shutil.ignore_patterns(*SKIP), symlinks=True)
        elif entry.suffix in (".py", ".html", ".txt", ".js"):
            shutil.copy2(entry, into / entry.name)


@pytest.fixture(scope="module")
def templates_pot(tmp_path_factory) -> Path:
    """A fresh extraction of every marked string: locale/django.pot and locale/djangojs.pot."""
    for tool in ("xgettext", "msgcmp", "msgfmt", "msgmerge"):
        if shutil.which(tool) is None:
            pytest.fail(f"GNU gettext ({tool}) is not installed; `make test` installs the Debian package gettext")
    work = tmp_path_factory.mktemp("extract")
    _sources(work)
    (work / "locale").mkdir()
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(work)}  # no settings: makemessages runs standalone
    for domain in DOMAINS:
        subprocess.run(
            [sys.executable, "-m", "django", "makemessages", "-d", domain, "-l", "nl", "--keep-pot", "-v0"],
            cwd=work,
            env=env,
            check=True,
            capture_output=True,
        )
    return work / "locale"


def _unfinished(catalogue: Path, pot: Path, scratch: Path) -> list[str]:
    """The msgids of `pot` that `catalogue` lacks, leaves empty or marks fuzzy (with their context, if any)."""
    merged = scratch / f"{catalogue.parent.parent.name}-{catalogue.name}"
    # No fuzzy matching: a new string must not borrow the translation of a similar one.
    subprocess.run(
        ["msgmerge", "--quiet", "--no-fuzzy-matching", "-o", str(merged), str(catalogue), str(pot)], check=True
    )
    unfinished = []
    for selector in ("--untranslated", "--only-fuzzy"):
        listed = subprocess.run(
            ["msgattrib", selector, "--no-obsolete", "--no-wrap", str(merged)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        unfinished += [
            line for line in listed.splitlines() if line.startswith(("msgid ", "msgctxt ")) and line != 'msgid ""'
        ]
    return unfinished


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("domain", DOMAINS)
def test_every_marked_string_is_translated(templates_pot, tmp_path, language, domain):
    pot = templates_pot / f"{domain}.pot"
    catalogue = ROOT / "locale" / language / "LC_MESSAGES" / f"{domain}.po"
    assert pot.exists(), f"nothing extracted for {domain}"
    assert catalogue.exists(), f"{catalogue.relative_to(ROOT)} is missing: run `make messages`"
    unfinished = _unfinished(catalogue, pot, tmp_path)
    assert unfinished == [], (
        f"{catalogue.relative_to(ROOT)}: {len(unfinished)} marked strings without a finished translation "
        "(run `make messages`, translate, remove the fuzzy flags):\n" + "\n".join(unfinished[:60])
    )
    # And gettext's own comparison agrees (untranslated and fuzzy entries count as missing there too).
    assert subprocess.run(["msgcmp", str(catalogue), str(pot)], capture_output=True).returncode == 0


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("domain", DOMAINS)
def test_catalogue_is_well_formed_and_has_no_fuzzy_entry(language, domain):
    catalogue = ROOT / "locale" / language / "LC_MESSAGES" / f"{domain}.po"
    check = subprocess.run(
        ["msgfmt", "--check", "--statistics", "-o", "/dev/null", str(catalogue)], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stderr
    assert "fuzzy" not in check.stderr, check.stderr
    assert "untranslated" not in check.stderr, check.stderr


def test_the_checker_fails_on_a_new_untranslated_string(tmp_path):
    """The comparison really catches a new message, and a fuzzy one: both are named."""
    pot = tmp_path / "new.pot"
    pot.write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
        'msgid "A message nobody translated yet"\nmsgstr ""\n\n'
        'msgid "Log in"\nmsgstr ""\n',
        encoding="utf-8",
    )
    fuzzy = tmp_path / "django.po"
    text = (ROOT / "locale" / "nl" / "LC_MESSAGES" / "django.po").read_text(encoding="utf-8")
    fuzzy.write_text(text.replace('msgid "Log in"', '#, fuzzy\nmsgid "Log in"', 1), encoding="utf-8")
    assert _unfinished(fuzzy, pot, tmp_path / "") == ['msgid "A message nobody translated yet"', 'msgid "Log in"']
