"""Full-text search in four languages, measured on the demo content: English-only stemming (what search did
before), the language-neutral configuration alone (accents folded, no stemming), and the one the portal
uses (sharing.search: the neutral configuration OR one Snowball stemmer per language, each after unaccent).

The documents are the demo alliance's alerts and best practice (demo/content.py: five English alerts, one
each in Dutch, French and German, one English practice), indexed as sharing.search indexes them (title,
body, category). Each query is a word form an officer would type, usually not the exact form in the text
(plural, inflection, missing accent), with the documents it should find judged by hand. Recall is the share
of those found; a false hit is a document found that the query should not find.

Needs the migrated PostgreSQL database of `make bench` (the configurations come from migration sharing 0008).
Usage: python bench/eval_search_languages.py
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alliance.settings.test")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402

from demo.content import ALERTS_IN_OTHER_LANGUAGES, PRACTICE, _alerts  # noqa: E402

# (query, language of the query, documents it should find)
QUERIES = [
    ("cloned seal", "en", {"green"}),
    ("reefers", "en", {"green", "amber_nlrtm", "amber_strict", "amber_deham", "practice"}),
    ("extraction teams", "en", {"amber_strict"}),
    ("inspecting", "en", {"practice"}),
    ("technician", "en", {"practice"}),
    ("verzegeling", "nl", {"green_nl"}),
    ("koelcontainer", "nl", {"green_nl"}),
    ("vervalst", "nl", {"green_nl"}),
    ("controle", "nl", {"green_nl", "green_fr"}),  # Dutch "controles", French "contrôles"
    ("markering", "nl", {"green_nl"}),  # inside the compound "lasermarkeringen"
    ("cocaine", "fr", {"green_fr", "amber_deham"}),
    ("planchers modifies", "fr", {"green_fr"}),
    ("soudure", "fr", {"green_fr"}),
    ("frigorifique", "fr", {"green_fr"}),
    ("douanier", "fr", {"green_fr", "green_nl"}),
    ("Plombe", "de", {"green_de"}),
    ("Kuehlcontainer", "de", set()),  # a spelling without the umlaut no configuration folds (ue ≠ ü)
    ("kuhlcontainer", "de", {"green_de"}),
    ("Kontrolle", "de", {"green_de"}),
    ("Zollbeamter", "de", {"green_de"}),
    ("Prägung", "de", {"green_de"}),
]

LANGUAGES = ("english", "dutch", "french", "german")
STRATEGIES = {
    "English stemming only (before)": ("english",),
    "language-neutral (unaccent, no stemming)": ("alliance_simple",),
    "neutral + four stemmers (sharing.search)": ("alliance_simple", *(f"alliance_{lang}" for lang in LANGUAGES)),
}


def documents() -> dict[str, tuple[str, str, str]]:
    docs = {name: (d["title"], d["body"], d["category"]) for name, _, d in _alerts({"europol.liaison": "x"})}
    docs |= {name: (d["title"], d["body"], d["category"]) for name, _, d in ALERTS_IN_OTHER_LANGUAGES}
    docs["practice"] = (PRACTICE[1]["title"], PRACTICE[1]["body"], "")
    return docs


def found(configs: tuple[str, ...], docs: dict, query: str) -> set[str]:
    vector = " || ".join(
        f"to_tsvector('{c}'::regconfig, %(title)s) || to_tsvector('{c}'::regconfig, %(body)s)"
        f" || to_tsvector('{c}'::regconfig, %(category)s)"
        for c in configs
    )
    tsquery = " || ".join(f"websearch_to_tsquery('{c}'::regconfig, %(q)s)" for c in configs)
    hits = set()
    with connection.cursor() as cursor:
        for name, (title, body, category) in docs.items():
            cursor.execute(
                f"SELECT ({vector}) @@ ({tsquery})", {"title": title, "body": body, "category": category, "q": query}
            )
            if cursor.fetchone()[0]:
                hits.add(name)
    return hits


def main() -> None:
    docs = documents()
    print(f"{len(docs)} documents, {len(QUERIES)} queries\n")
    print(
        "| strategy | " + " | ".join(f"recall {lang}" for lang in ("en", "nl", "fr", "de")) + " | recall | false hits |"
    )
    print("|---|" + "---|" * 6)
    details = {}
    for label, configs in STRATEGIES.items():
        per_lang: dict[str, list[int]] = {}
        wrong = 0
        rows = []
        for query, lang, expected in QUERIES:
            got = found(configs, docs, query)
            per_lang.setdefault(lang, [0, 0])
            per_lang[lang][0] += len(got & expected)
            per_lang[lang][1] += len(expected)
            wrong += len(got - expected)
            rows.append((query, sorted(got & expected), sorted(expected - got), sorted(got - expected)))
        details[label] = rows
        total = sum(v[0] for v in per_lang.values()), sum(v[1] for v in per_lang.values())
        cells = [f"{per_lang[lang][0]}/{per_lang[lang][1]}" for lang in ("en", "nl", "fr", "de")]
        print(f"| {label} | " + " | ".join(cells) + f" | {total[0]}/{total[1]} | {wrong} |")
    print()
    for label, rows in details.items():
        print(f"{label}:")
        for query, hit, missed, extra in rows:
            note = (f" missed {missed}" if missed else "") + (f" extra {extra}" if extra else "")
            print(f"  {query!r}: found {hit}{note}")


if __name__ == "__main__":
    main()
