from __future__ import annotations

from sqlalchemy import Connection, Engine, inspect, text

from rserz_soap.db import migrate
from rserz_soap.db.tables import metadata


def test_schema_is_at_head_and_matches_the_tables(db_engine: Engine) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(migrate.alembic_config()).get_current_head()
    assert head is not None
    assert migrate.current_revision(db_engine) == head
    with db_engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == [], f"migrations and rserz_soap/db/tables.py disagree: {diff}"


def test_pg_trgm_is_installed(db_conn: Connection) -> None:
    assert db_conn.execute(text("SELECT similarity('ИВАНОВ', 'ИВАНОФ')")).scalar_one() > 0.3


def test_every_aspect_table_is_versioned(db_engine: Engine) -> None:
    insp = inspect(db_engine)
    for table in ("person_data", "identity_document", "address", "insurance_period", "attachment"):
        cols = {c["name"] for c in insp.get_columns(table)}
        assert {"person_id", "version_id", "recorded_at", "superseded_at", "superseded_by"} <= cols, table
