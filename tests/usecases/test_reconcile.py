"""Reconciliation's two halves without the federal side: the comparison and the regional rows it reads."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import Engine, text

from rserz_soap.config import Settings
from rserz_soap.demo.load import region_reference_from_files, seed_region
from rserz_soap.domain.federal import FederalPerson, FederalPolicy
from rserz_soap.domain.person import Document
from rserz_soap.usecases.reconcile import Filter, RegionalRow, compare, regional_rows
from tests.harness import uow


def _row(enp: str, **values: str | None) -> RegionalRow:
    base: dict[str, str | None] = {
        "fam": "Иванова",
        "im": "Анна",
        "ot": None,
        "w": "2",
        "dr": "1980-01-02",
        "ss": "11223344595",
        "document": "14 4505 123456",
        "smo": "45001",
        "ddeath": None,
    }
    return RegionalRow(int(enp[-4:]), enp, {**base, **values})


def _fed(enp: str, **kw: object) -> FederalPerson:
    values: dict[str, object] = {
        "fam": "Иванова",
        "im": "Анна",
        "ot": None,
        "w": 2,
        "dr": date(1980, 1, 2),
        "ss": "11223344595",
        "documents": (Document(14, "45 05", "123456"),),
        "policies": (FederalPolicy("45001", "3", date(2020, 1, 1)),),
    }
    values.update(kw)
    return FederalPerson(enp, "INSURED", **values)  # type: ignore[arg-type]


def test_equal_cards_give_nothing_and_the_document_is_compared_normalised() -> None:
    assert (
        compare(
            {"4500000000000001": _row("4500000000000001")},
            {"4500000000000001": _fed("4500000000000001")},
            {},
            federal_complete=True,
        )
        == []
    )


def test_each_field_that_differs_is_one_item_with_both_values() -> None:
    enp = "4500000000000002"
    fed = _fed(
        enp,
        fam="Иванёва",  # the витрина carries no names: not compared
        ss="11223344696",
        documents=(Document(14, "4505", "123465"),),
        policies=(
            FederalPolicy("45001", "3", date(2020, 1, 1)),
            FederalPolicy("45003", "3", date(2024, 5, 1)),
        ),
        ddeath=date(2025, 1, 1),
    )
    diffs = compare({enp: _row(enp)}, {enp: fed}, {}, federal_complete=True)
    assert [(d.field, d.regional, d.federal) for d in diffs] == [
        ("ss", "11223344595", "11223344696"),
        ("document", "14 4505 123456", "14 4505 123465"),
        ("smo", "45001", "45003"),  # the latest federal policy
        ("ddeath", None, "2025-01-01"),
    ]
    assert {d.category for d in diffs} == {"differs"}


def test_a_pinned_field_is_an_accepted_deviation() -> None:
    enp = "4500000000000003"
    row = _row(enp)
    diffs = compare(
        {enp: row}, {enp: _fed(enp, ss="11223344696")}, {row.person_id: {"ss"}}, federal_complete=True
    )
    assert [(d.category, d.field) for d in diffs] == [("accepted_deviation", "ss")]


def test_missing_persons_in_both_directions() -> None:
    ours, theirs = "4500000000000004", "4500000000000005"
    complete = compare({ours: _row(ours)}, {theirs: _fed(theirs)}, {}, federal_complete=True)
    assert [(d.enp, d.category, d.field) for d in complete] == [
        (ours, "missing_federally", "*"),
        (theirs, "missing_regionally", "*"),
    ]
    # a list batch: absence from the answer is not absence from ФЕРЗЛ (its notFound list says that)
    partial = compare({ours: _row(ours)}, {}, {}, federal_complete=False)
    assert partial == []


@pytest.fixture
def seeded(fresh_engine: Engine, settings: Settings) -> Engine:
    seed_region(
        fresh_engine, region_reference_from_files(settings, date.today()), 400, 3, progress=False, workers=0
    )
    return fresh_engine


def test_regional_rows_walk_in_enp_order_and_filters_select_their_persons(seeded: Engine) -> None:
    with seeded.connect() as conn:
        everyone = regional_rows(uow(conn))
        total = conn.execute(text("SELECT count(*) FROM person WHERE merged_into IS NULL")).scalar_one()
        first = regional_rows(uow(conn), limit=150)
        rest = regional_rows(uow(conn), after=first[-1].enp)
        smo = regional_rows(uow(conn), flt=Filter(smo="45002"))
        smo_count = conn.execute(
            text(
                "SELECT count(DISTINCT person_id) FROM insurance_period"
                " WHERE superseded_at IS NULL AND dstop IS NULL AND smo_code = '45002'"
            )
        ).scalar_one()
        mo_code = conn.execute(
            text("SELECT mo_code FROM attachment WHERE superseded_at IS NULL AND date_out IS NULL LIMIT 1")
        ).scalar_one()
        mo = regional_rows(uow(conn), flt=Filter(mo=mo_code))
        mo_count = conn.execute(
            text(
                "SELECT count(DISTINCT person_id) FROM attachment"
                " WHERE superseded_at IS NULL AND date_out IS NULL AND mo_code = :m"
            ),
            {"m": mo_code},
        ).scalar_one()
        today = regional_rows(uow(conn), flt=Filter(changed_since=date.today()))
        tomorrow = regional_rows(uow(conn), flt=Filter(changed_since=date.today() + timedelta(days=1)))
        listed = regional_rows(uow(conn), enps=[everyone[5].enp, everyone[7].enp])

    assert len(everyone) == total and [r.enp for r in everyone] == sorted(r.enp for r in everyone)
    assert [r.enp for r in first + rest] == [r.enp for r in everyone]
    assert 0 < len(smo) == smo_count < total and {r.values["smo"] for r in smo} <= {"45002"} | {None}
    assert 0 < len(mo) == mo_count < total
    assert len(today) == total and tomorrow == []
    assert [r.enp for r in listed] == [everyone[5].enp, everyone[7].enp]
