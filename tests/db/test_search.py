"""Which index the name searches can use (``db/search.py``; the indexes of migrations 0001 and 0016)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import Connection, text

from rserz_soap.db.search import Search


def _plan(conn: Connection, *, partial: bool) -> str:
    search = Search(conn)
    lookup = search.name_lookup(
        "Ефремва",
        "Александра",
        None,
        dr_from=date(1996, 3, 14),
        dr_to=date(1996, 9, 14),
        threshold=0.5,
        limit=1000,
        partial=partial,
    )
    for name, value in lookup.settings:
        search._set(name, value)
    return "\n".join(conn.execute(text(f"EXPLAIN {lookup.sql}"), lookup.params).scalars())


@pytest.mark.parametrize("partial", [True, False], ids=["words of the name", "the whole name"])
def test_a_birth_date_window_and_a_misspelt_name_are_narrowed_by_one_gist_index(
    fresh_conn: Connection, partial: bool
) -> None:
    """searchPersons' shape (a window, trigram operator and threshold) matches the GiST index's operators
    and predicate: with the date-only btree out of the way and no sequential scan, the plan walks
    ``ix_person_data_dr_name_trgm_current`` — on a large register the planner prefers it by itself
    (docs/data-model.md). Were the operator or the predicate changed so that the index no longer serves,
    the plan would fall back to the GIN index or a scan and this fails."""
    fresh_conn.execute(text("DROP INDEX ix_person_data_dr_name_current"))  # rolled back with the test
    fresh_conn.execute(text("SET LOCAL enable_seqscan = off"))
    plan = _plan(fresh_conn, partial=partial)
    assert "ix_person_data_dr_name_trgm_current" in plan, plan
    assert "Index Cond" in plan and "dr >=" in plan, plan


def test_the_gist_index_holds_current_rows_only(fresh_conn: Connection) -> None:
    definition = fresh_conn.execute(
        text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_person_data_dr_name_trgm_current'")
    ).scalar_one()
    assert "USING gist (dr, name_key gist_trgm_ops)" in definition
    assert definition.endswith("WHERE (superseded_at IS NULL)")
