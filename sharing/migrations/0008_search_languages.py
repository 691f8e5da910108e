"""Full-text search in English, Dutch, French and German (sharing.search): the `unaccent` extension, five
text search configurations, and every stored alert and practice re-indexed under them. PostgreSQL only;
SQLite searches with icontains and needs none of it. The GIN indexes of 0002 stay as they are."""

from django.db import migrations

LANGUAGES = ("english", "dutch", "french", "german")
# Token types that hold words; hword/hword_part are the parts of hyphenated words ("rip-on").
WORD_TOKENS = "asciiword, asciihword, hword_asciipart, word, hword, hword_part"


def _configurations(schema_editor) -> None:
    run = schema_editor.execute
    # unaccent is a trusted extension (PostgreSQL 13+): the database owner may create it.
    run("CREATE EXTENSION IF NOT EXISTS unaccent")
    run("DROP TEXT SEARCH CONFIGURATION IF EXISTS alliance_simple")
    run("CREATE TEXT SEARCH CONFIGURATION alliance_simple (COPY = simple)")
    run(f"ALTER TEXT SEARCH CONFIGURATION alliance_simple ALTER MAPPING FOR {WORD_TOKENS} WITH unaccent, simple")
    for language in LANGUAGES:
        name = f"alliance_{language}"
        run(f"DROP TEXT SEARCH CONFIGURATION IF EXISTS {name}")
        run(f"CREATE TEXT SEARCH CONFIGURATION {name} (COPY = {language})")
        run(f"ALTER TEXT SEARCH CONFIGURATION {name} ALTER MAPPING FOR {WORD_TOKENS} WITH unaccent, {language}_stem")


def _vector_sql(fields: tuple[str, ...]) -> str:
    configs = ("alliance_simple", *(f"alliance_{language}" for language in LANGUAGES))
    weights = ("A", "B", "C")
    return " || ".join(
        f"setweight(to_tsvector('{config}'::regconfig, coalesce({field}, '')), '{weights[min(i, 2)]}')"
        for i, field in enumerate(fields)
        for config in configs
    )


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    _configurations(schema_editor)
    # The same vector sharing.search.document_vector builds on every publish (alerts: title, body, category).
    schema_editor.execute(f"UPDATE sharing_alert SET search_vector = {_vector_sql(('title', 'body', 'category'))}")
    schema_editor.execute(f"UPDATE sharing_practice SET search_vector = {_vector_sql(('title', 'body'))}")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    english = " || ".join(
        f"setweight(to_tsvector('english'::regconfig, coalesce({field}, '')), '{weight}')"
        for field, weight in (("title", "A"), ("body", "B"), ("category", "C"))
    )
    schema_editor.execute(f"UPDATE sharing_alert SET search_vector = {english}")
    schema_editor.execute(f"UPDATE sharing_practice SET search_vector = {english.rsplit(' || ', 1)[0]}")
    for name in ("alliance_simple", *(f"alliance_{language}" for language in LANGUAGES)):
        schema_editor.execute(f"DROP TEXT SEARCH CONFIGURATION IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("sharing", "0007_scans_correlation_move_out")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
