"""Bulk helpers against real PostgreSQL, on scratch tables inside the rolled-back test transaction."""

from __future__ import annotations

from datetime import date

import psycopg
import pytest
from sqlalchemy import Connection, text

from rserz_soap.db import bulk

TABLES = ["bulk_parent", "bulk_child"]


@pytest.fixture
def scratch(db_conn: Connection) -> Connection:
    db_conn.execute(
        text("""
        CREATE TABLE bulk_parent (id bigserial PRIMARY KEY, code text UNIQUE NOT NULL, note text);
        CREATE TABLE bulk_child (
            id bigserial PRIMARY KEY,
            parent_id bigint NOT NULL REFERENCES bulk_parent (id),
            name text NOT NULL,
            born date,
            flag boolean NOT NULL DEFAULT true
        );
        CREATE INDEX ix_bulk_child_parent ON bulk_child (parent_id);
        CREATE INDEX ix_bulk_child_lower_name ON bulk_child (lower(name), born) WHERE flag;
        CREATE INDEX ix_bulk_child_trgm ON bulk_child USING gin (name gin_trgm_ops) WHERE flag;
    """)
    )
    return db_conn


def _index_defs(conn: Connection) -> set[str]:
    rows = conn.execute(
        text("SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = ANY(:t)"),
        {"t": TABLES},
    )
    return {r[0] for r in rows}


def _fk_defs(conn: Connection) -> set[tuple[str, str, bool]]:
    rows = conn.execute(
        text("""
        SELECT conname, pg_get_constraintdef(k.oid), convalidated FROM pg_constraint k
        JOIN pg_class c ON c.oid = k.conrelid WHERE k.contype = 'f' AND c.relname = ANY(:t)"""),
        {"t": TABLES},
    )
    return {(r[0], r[1], r[2]) for r in rows}


def test_copy_rows_round_trips_values_that_need_escaping(scratch: Connection) -> None:
    nasty = ["tab\there", "new\nline", "back\\slash", "cr\rhere", "\\N", "plain", "кириллица «»"]
    n = bulk.copy_rows(
        scratch,
        "bulk_parent",
        ["id", "code", "note"],
        [(i + 1, f"c{i}", s) for i, s in enumerate(nasty)] + [(99, "null", None)],
    )
    assert n == len(nasty) + 1
    got: dict[str, str | None] = dict(scratch.execute(text("SELECT code, note FROM bulk_parent")).all())
    assert [got[f"c{i}"] for i in range(len(nasty))] == nasty
    assert got["null"] is None
    bulk.copy_rows(
        scratch,
        "bulk_child",
        ["parent_id", "name", "born", "flag"],
        [(1, "a", date(2001, 2, 3), False), (1, "b", None, True)],
    )
    rows = scratch.execute(text("SELECT name, born, flag FROM bulk_child ORDER BY name")).all()
    assert [tuple(r) for r in rows] == [("a", date(2001, 2, 3), False), ("b", None, True)]


def test_copy_text_sends_preformatted_blocks(scratch: Connection) -> None:
    bulk.copy_text(scratch, "bulk_parent", ["code", "note"], [b"a\t\\N\nb\tx\n", "c\ty\n"])
    assert scratch.execute(text("SELECT count(*) FROM bulk_parent")).scalar_one() == 3
    assert bulk.format_copy_row(["x\ty", None, True, 5, date(2020, 1, 2)]) == "x\\ty\t\\N\tt\t5\t2020-01-02\n"


def test_secondary_indexes_are_dropped_and_restored_exactly(scratch: Connection) -> None:
    before = _index_defs(scratch)
    dropped = bulk.drop_secondary_indexes(scratch, TABLES)
    assert {ix.name for ix in dropped} == {
        "ix_bulk_child_parent",
        "ix_bulk_child_lower_name",
        "ix_bulk_child_trgm",
    }
    remaining = _index_defs(scratch)
    assert len(remaining) == 3 and all(
        "UNIQUE" in d for d in remaining
    )  # two primary keys and the unique code
    report = bulk.recreate_indexes(scratch, dropped)
    assert set(report.seconds) == {ix.name for ix in dropped}
    assert _index_defs(scratch) == before


def test_foreign_keys_are_restored_and_validated(scratch: Connection) -> None:
    before = _fk_defs(scratch)
    dropped = bulk.drop_foreign_keys(scratch, TABLES)
    assert [fk.table for fk in dropped] == ["bulk_child"] and not _fk_defs(scratch)
    scratch.execute(text("INSERT INTO bulk_parent (id, code) VALUES (1, 'p')"))
    scratch.execute(text("INSERT INTO bulk_child (parent_id, name) VALUES (1, 'ok')"))
    bulk.recreate_foreign_keys(scratch, dropped)
    assert _fk_defs(scratch) == before and all(valid for *_x, valid in before)

    bulk.drop_foreign_keys(scratch, TABLES)
    scratch.execute(text("INSERT INTO bulk_child (parent_id, name) VALUES (42, 'orphan')"))
    savepoint = scratch.begin_nested()
    with pytest.raises(psycopg.errors.ForeignKeyViolation):
        bulk.recreate_foreign_keys(scratch, dropped)
    savepoint.rollback()


def test_indexes_dropped_rebuilds_on_success_only(scratch: Connection) -> None:
    before_ix, before_fk = _index_defs(scratch), _fk_defs(scratch)
    with bulk.indexes_dropped(scratch, TABLES) as state:
        assert len(state.indexes) == 3 and len(state.constraints) == 1
        bulk.copy_rows(scratch, "bulk_parent", ["id", "code"], [(i, f"c{i}") for i in range(1, 1001)])
        bulk.copy_rows(scratch, "bulk_child", ["parent_id", "name"], [(i, f"n{i}") for i in range(1, 1001)])
    assert _index_defs(scratch) == before_ix and _fk_defs(scratch) == before_fk
    assert set(state.report.seconds) == {ix.name for ix in state.indexes} | {
        fk.name for fk in state.constraints
    }

    savepoint = scratch.begin_nested()
    with pytest.raises(RuntimeError), bulk.indexes_dropped(scratch, TABLES):
        raise RuntimeError("load failed")
    assert len(_index_defs(scratch)) == 3  # nothing rebuilt inside the failed unit …
    savepoint.rollback()
    assert _index_defs(scratch) == before_ix and _fk_defs(scratch) == before_fk  # … the rollback restores


def test_reset_sequences_moves_them_past_explicit_ids(scratch: Connection) -> None:
    bulk.copy_rows(scratch, "bulk_parent", ["id", "code"], [(1, "a"), (2, "b"), (100, "c")])
    last = bulk.reset_sequences(scratch, TABLES)
    assert last == {"bulk_child.id": 1, "bulk_parent.id": 100}
    new_id = scratch.execute(text("INSERT INTO bulk_parent (code) VALUES ('d') RETURNING id")).scalar_one()
    assert new_id == 101
    child = scratch.execute(
        text("INSERT INTO bulk_child (parent_id, name) VALUES (1, 'x') RETURNING id")
    ).scalar_one()
    assert child == 1  # an empty table's sequence starts again at 1


def test_raw_connection_is_the_same_session(scratch: Connection) -> None:
    raw = bulk.raw_connection(scratch)
    scratch.execute(text("INSERT INTO bulk_parent (code) VALUES ('seen')"))
    with raw.cursor() as cur:
        cur.execute("SELECT count(*) FROM bulk_parent WHERE code = 'seen'")
        assert cur.fetchone() == (1,)
