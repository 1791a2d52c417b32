"""The directory as a value, its generated documentation, the category table and the in-memory reference."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from rserz_soap.domain.flk.directory import (
    CATEGORIES,
    GROUP_TITLES,
    DirectoryError,
    ErrorDirectory,
    ErrorEntry,
    Kind,
    Severity,
    render_markdown,
)
from rserz_soap.domain.flk.reference import InMemoryReference, add_working_days
from rserz_soap.domain.person import PersonCard
from tests.domain.flk.builders import ENP, SNILS, insured_card, passport

DOC = Path(__file__).resolve().parents[3] / "docs" / "flk.md"


def _entry(code: str, severity: Severity = Severity.ERROR) -> ErrorEntry:
    return ErrorEntry(code, f"ошибка {code}", "FAM", "PERSON", severity, Kind.LOGICAL)


def test_docs_flk_md_is_the_render_of_the_bundled_directory(directory: ErrorDirectory) -> None:
    assert DOC.read_text(encoding="utf-8") == render_markdown(directory), "run: python tools/gen_flk_doc.py"


def test_render_lists_every_code_once_with_its_severity(directory: ErrorDirectory) -> None:
    text = render_markdown(directory)

    for entry in directory:
        rows = [line for line in text.splitlines() if line.startswith(f"| {entry.code} |")]
        assert len(rows) == 1
        assert f"| {entry.severity.value}" in rows[0]
    for title in GROUP_TITLES.values():
        assert f"### {title}" in text
    assert "flk_error" in text and "errors.xml" in text


def test_logical_codes_follow_the_group_scheme(directory: ErrorDirectory) -> None:
    for code in directory.codes(Kind.LOGICAL):
        assert len(code) == 3 and code[0] in GROUP_TITLES, code
    f012 = {"801", "802", "803", "804", "805", "901", "902", "903", "904", "905"}
    assert directory.codes(Kind.FORMAT) == f012


def test_a_code_listed_twice_is_refused() -> None:
    with pytest.raises(DirectoryError, match="101"):
        ErrorDirectory([_entry("101"), _entry("101")])


def test_with_methods_return_changed_copies() -> None:
    original = ErrorDirectory([_entry("101"), _entry("102")])

    changed = original.with_severity("101", Severity.WARNING).with_message("102", "иначе")

    assert original["101"].severity is Severity.ERROR and original["102"].message == "ошибка 102"
    assert changed["101"].severity is Severity.WARNING and changed["102"].message == "иначе"
    assert changed != original
    assert "102" not in original.without("102") and len(original) == 2


def test_entries_are_kept_in_numeric_code_order() -> None:
    directory = ErrorDirectory([_entry("905"), _entry("101"), _entry("21")])

    assert [e.code for e in directory] == ["21", "101", "905"]


def test_every_category_1_to_12_has_documents_and_residence_documents_are_among_them() -> None:
    assert set(CATEGORIES) == set(range(13))
    assert CATEGORIES[0].group is None and CATEGORIES[0].working is None
    for code in range(1, 13):
        group = CATEGORIES[code].group
        assert group is not None and group.doc_types
        assert group.residence_types <= group.doc_types


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        (date(2025, 3, 3), 1, date(2025, 3, 4)),  # Monday → Tuesday
        (date(2025, 3, 7), 1, date(2025, 3, 10)),  # Friday → Monday
        (date(2025, 3, 8), 1, date(2025, 3, 10)),  # Saturday → Monday
        (date(2025, 3, 3), 30, date(2025, 4, 14)),  # six whole weeks
        (date(2025, 3, 3), 0, date(2025, 3, 3)),
    ],
)
def test_working_days_are_monday_to_friday(start: date, n: int, expected: date) -> None:
    assert add_working_days(start, n) == expected


def test_in_memory_reference_indexes_a_persons_identifiers() -> None:
    card = insured_card(aliases=frozenset({"4500000000000000"}))
    ref = InMemoryReference([], region_okato="45000", people=[card])

    assert ref.snils_owners(SNILS) == {1}
    assert ref.document_owners(passport().key) == {1}
    assert ref.enp_owner(ENP) == 1 and ref.enp_owner("4500000000000000") == 1
    assert ref.enp_owner("4599999999999999") is None


def test_in_memory_reference_refuses_an_unregistered_person() -> None:
    ref = InMemoryReference([], region_okato="45000")

    with pytest.raises(ValueError, match="person_id"):
        ref.add_person(PersonCard(data=insured_card().data))


def test_in_memory_reference_answers_by_date(ref: InMemoryReference) -> None:
    assert ref.smo("45004", date(2024, 12, 31)) is not None
    assert ref.smo("45004", date(2025, 1, 1)) is None
    old, new = ref.document_type(11, date(2019, 12, 31)), ref.document_type(11, date(2020, 1, 1))
    assert old is not None and new is not None
    assert (old.num_mask, new.num_mask) == ("0999999", "9999999")
    assert ref.mo("450063", date(2024, 6, 1)) is not None and ref.mo("450063", date(2025, 6, 1)) is None
    assert ref.country("643", date(2025, 1, 1)) and not ref.country("999", date(2025, 1, 1))
    assert ref.policy_type(5, date(2023, 1, 1)) and not ref.policy_type(5, date(2022, 1, 1))
    assert ref.operation("П061", date(2025, 1, 1)) and ref.sex(2, date(2025, 1, 1))
