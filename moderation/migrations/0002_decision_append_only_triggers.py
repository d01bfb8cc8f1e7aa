"""The moderation log is append-only at the database too, not only in the model: a trigger refuses
UPDATE of any row (PostgreSQL and SQLite) and DELETE (PostgreSQL). SQLite keeps DELETE open because
Django's test database flush empties tables with DELETE (PostgreSQL's flush uses TRUNCATE, which
row triggers do not see)."""
from django.db import migrations

PG_CREATE = """
CREATE OR REPLACE FUNCTION moderation_decision_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'moderation_decision is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER moderation_decision_append_only
    BEFORE UPDATE OR DELETE ON moderation_decision
    FOR EACH ROW EXECUTE FUNCTION moderation_decision_append_only();
"""
PG_DROP = """
DROP TRIGGER IF EXISTS moderation_decision_append_only ON moderation_decision;
DROP FUNCTION IF EXISTS moderation_decision_append_only();
"""
SQLITE_CREATE = """
CREATE TRIGGER moderation_decision_append_only BEFORE UPDATE ON moderation_decision
BEGIN SELECT RAISE(ABORT, 'moderation_decision is append-only: UPDATE refused'); END;
"""
SQLITE_DROP = "DROP TRIGGER IF EXISTS moderation_decision_append_only;"


def _run(sql_by_vendor):
    def run(apps, schema_editor):
        sql = sql_by_vendor.get(schema_editor.connection.vendor)
        if sql:
            schema_editor.execute(sql, params=None)  # None: several statements, no % formatting

    return run


class Migration(migrations.Migration):
    dependencies = [("moderation", "0001_initial")]

    operations = [
        migrations.RunPython(_run({"postgresql": PG_CREATE, "sqlite": SQLITE_CREATE}),
                             _run({"postgresql": PG_DROP, "sqlite": SQLITE_DROP})),
    ]
