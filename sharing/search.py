"""Full-text search in the alliance's languages (SPEC section 8), on PostgreSQL.

Alerts and practices are written in English, Dutch, French or German, and nothing says which. Each text is
indexed once per language, stemmed (`alliance_english`, `alliance_dutch`, `alliance_french`,
`alliance_german`: the Snowball stemmers after `unaccent`) and once unstemmed with accents folded
(`alliance_simple`), all into one GIN-indexed tsvector; a query is parsed by the same five configurations
and their tsqueries are OR-ed. "Verzegelingen" finds "verzegeling", "saisies" finds "saisie",
"Plomben" finds "Plombe", "cocaine" finds "cocaïne". docs/search.md has the measurement on the demo
content against English-only stemming and the language-neutral configuration alone.

The configurations and the `unaccent` extension are created by migration sharing 0008; SQLite (`make run`)
has no full-text search and matches words with icontains instead (sharing.selectors.full_text).
"""

from functools import reduce

from django.contrib.postgres.search import SearchQuery, SearchVector

LANGUAGES = ("english", "dutch", "french", "german")
# Language-neutral first: exact words with accents folded, then one stemmed configuration per language.
CONFIGS = ("alliance_simple", *(f"alliance_{language}" for language in LANGUAGES))
WEIGHTS = ("A", "B", "C")


def document_vector(fields: tuple[str, ...]) -> SearchVector:
    """The tsvector of `fields` (weights A, B, C in order) under every configuration."""
    parts = [
        SearchVector(name, weight=WEIGHTS[min(index, len(WEIGHTS) - 1)], config=config)
        for index, name in enumerate(fields)
        for config in CONFIGS
    ]
    return reduce(lambda left, right: left + right, parts)


def query(text: str) -> SearchQuery:
    """The reader's words (web-search syntax: quotes, OR, -word) under every configuration, OR-ed."""
    queries = [SearchQuery(text, config=config, search_type="websearch") for config in CONFIGS]
    return reduce(lambda left, right: left | right, queries)
