"""On PostgreSQL, the audit log refuses UPDATE and DELETE at the database level.

TRUNCATE needs the table owner's privilege; in production the application's
role does not own the tables (docs/operations.md), and the test suite needs
TRUNCATE to reset the database between transactional tests.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION ports_auditentry_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only: % refused on ports_auditentry', TG_OP;
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS ports_auditentry_append_only ON ports_auditentry;
CREATE TRIGGER ports_auditentry_append_only
    BEFORE UPDATE OR DELETE ON ports_auditentry
    FOR EACH ROW EXECUTE FUNCTION ports_auditentry_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS ports_auditentry_append_only ON ports_auditentry;
DROP FUNCTION IF EXISTS ports_auditentry_append_only();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("ports", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
