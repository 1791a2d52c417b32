"""The engine: the directory decides wording and severity, a missing code stops it, batches get 905."""

from __future__ import annotations

import dataclasses
from dataclasses import replace

import pytest

from rserz_soap.domain.flk.directory import DirectoryError, ErrorDirectory, Kind, Severity
from rserz_soap.domain.flk.engine import (
    DUPLICATE_KEY,
    SERVICE_CODES,
    check,
    check_batch,
    rejected,
    verify_directory,
)
from rserz_soap.domain.flk.reference import InMemoryReference
from rserz_soap.domain.flk.rules import Finding, RuleContext, registered_rules, rule
from rserz_soap.domain.identifiers import make_enp, make_snils
from rserz_soap.domain.person import PersonCard
from rserz_soap.domain.records import OperationRecord
from tests.domain.flk.builders import (
    DR,
    TODAY,
    insured_card,
    known_person_record,
    passport,
    single_policy,
    valid_record,
    with_document,
    with_insurance,
    with_person,
)


def _other_person_record(n_rec: int, **changes: object) -> OperationRecord:
    """A second good П010 of a different person (own ЕНП, СНИЛС and passport)."""
    record = with_person(valid_record(n_rec=n_rec), fam="Смирнов", ss=make_snils(556_677_889))
    record = with_insurance(record, enp=make_enp("45", DR, 1, 500))
    record = with_document(record, docnum="777777")
    return dataclasses.replace(record, **changes)  # type: ignore[arg-type]


def test_registered_rules_and_logical_codes_of_the_bundled_directory_are_the_same(
    directory: ErrorDirectory,
) -> None:
    assert set(registered_rules()) | SERVICE_CODES == directory.codes(Kind.LOGICAL)
    assert not set(registered_rules()) & SERVICE_CODES
    assert len(registered_rules()) >= 40
    verify_directory(directory)


def test_a_directory_without_a_registered_code_fails_loudly(
    directory: ErrorDirectory, ref: InMemoryReference
) -> None:
    broken = directory.without("203")

    with pytest.raises(DirectoryError, match="203"):
        verify_directory(broken)
    with pytest.raises(DirectoryError, match="203"):
        check(valid_record(), None, ref, broken, today=TODAY)


def test_a_rule_code_listed_as_a_format_error_is_refused(directory: ErrorDirectory) -> None:
    broken = directory.with_entry(replace(directory["101"], kind=Kind.FORMAT))

    with pytest.raises(DirectoryError, match="101"):
        verify_directory(broken)


@pytest.mark.parametrize("code", [DUPLICATE_KEY, *sorted(SERVICE_CODES)])
def test_a_directory_without_a_code_reported_outside_the_rules_is_refused(
    code: str, directory: ErrorDirectory
) -> None:
    with pytest.raises(DirectoryError, match=code):
        verify_directory(directory.without(code))


def test_the_service_layer_words_its_own_codes_through_the_directory(directory: ErrorDirectory) -> None:
    error = directory.error("590", n_rec=4, detail="INSURANCE/SMO 45002, отправитель 45001")
    refused = directory.with_severity("504", Severity.WARNING).error("504", n_rec=1)

    assert (error.code, error.field, error.parent, error.n_rec, error.rejects) == (
        "590",
        "SMOCOD",
        "INSURANCE",
        4,
        True,
    )
    assert error.comment == (
        "СМО в записи не совпадает с участником обмена, приславшим запись: "
        "INSURANCE/SMO 45002, отправитель 45001"
    )
    assert (refused.comment, refused.severity) == (directory["504"].message, Severity.WARNING)
    with pytest.raises(DirectoryError, match="999"):
        directory.error("999", n_rec=1)


def test_two_rules_for_one_code_are_refused() -> None:
    registered_rules()

    def impostor(ctx: RuleContext) -> list[Finding]:
        return []

    with pytest.raises(ValueError, match="101"):
        rule("101")(impostor)


def test_severity_n_switches_a_rule_off(directory: ErrorDirectory, ref: InMemoryReference) -> None:
    record = with_person(valid_record(), fam="Ivanov")
    assert [e.code for e in check(record, None, ref, directory, today=TODAY)] == ["101"]

    assert check(record, None, ref, directory.with_severity("101", Severity.OFF), today=TODAY) == []


def test_snils_of_an_adult_is_switched_off_in_the_bundled_directory(
    directory: ErrorDirectory, ref: InMemoryReference
) -> None:
    record = with_person(valid_record(), ss=None)

    assert directory["304"].severity is Severity.OFF
    assert check(record, None, ref, directory, today=TODAY) == []
    [warning] = check(record, None, ref, directory.with_severity("304", Severity.WARNING), today=TODAY)
    assert (warning.code, warning.severity, rejected([warning])) == ("304", Severity.WARNING, False)


def test_severity_comes_from_the_directory(directory: ErrorDirectory, ref: InMemoryReference) -> None:
    record = with_document(valid_record(), docser="4508")

    [error] = check(record, None, ref, directory, today=TODAY)
    [warning] = check(record, None, ref, directory.with_severity("203", Severity.WARNING), today=TODAY)

    assert (error.severity, rejected([error])) == (Severity.ERROR, True)
    assert (warning.severity, rejected([warning])) == (Severity.WARNING, False)


def test_changing_the_message_changes_the_comment(directory: ErrorDirectory, ref: InMemoryReference) -> None:
    record = with_document(valid_record(), docser="4508")
    reworded = directory.with_message("203", "Серия паспорта набрана неверно")

    [error] = check(record, None, ref, reworded, today=TODAY)

    assert error.comment.startswith(
        "Серия паспорта набрана неверно: Серия «4508» не соответствует маске «99 99»"
    )


def test_field_and_parent_come_from_the_directory_unless_the_rule_names_them(
    directory: ErrorDirectory, ref: InMemoryReference
) -> None:
    moved = directory.with_entry(replace(directory["203"], field="SER", parent="UDL"))
    record = with_person(with_document(valid_record(), docser="4508"), dost="1")

    errors = {e.code: e for e in check(record, None, ref, moved, today=TODAY)}

    assert (errors["203"].field, errors["203"].parent) == ("SER", "UDL")
    assert (errors["115"].field, errors["115"].parent) == ("OT", "PERSON")  # the rule names the part


def test_errors_of_a_record_come_in_code_order(directory: ErrorDirectory, ref: InMemoryReference) -> None:
    record = with_document(with_person(valid_record(), fam="Ivanov", ss="123"), docser="4508")

    codes = [e.code for e in check(record, None, ref, directory, today=TODAY)]

    assert codes == sorted(codes) == ["101", "203", "301"]


# --------------------------------------------------------------------------- batches


def _batch(
    *records: OperationRecord, cards: tuple[PersonCard | None, ...] = ()
) -> list[tuple[OperationRecord, PersonCard | None]]:
    return [(r, cards[i] if i < len(cards) else None) for i, r in enumerate(records)]


def test_a_batch_of_good_records_has_no_errors(directory: ErrorDirectory, ref: InMemoryReference) -> None:
    batch = _batch(valid_record(n_rec=1), _other_person_record(2))

    assert check_batch(batch, ref, directory, today=TODAY) == []


def test_duplicate_n_rec_in_a_batch_is_905_on_the_later_record(
    directory: ErrorDirectory, ref: InMemoryReference
) -> None:
    errors = check_batch(_batch(valid_record(n_rec=7), _other_person_record(7)), ref, directory, today=TODAY)

    [error] = errors
    assert (error.code, error.field, error.parent, error.n_rec) == ("905", "N_REC", "OP", 7)
    assert error.comment == (
        "Дублирование ключевого значения в файле: N_REC 7 повторяется (записи 1 и 2 пакета)"
    )


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"documents": (passport(),)}, "DOCNUM"),
        ({"person": valid_record().person}, "SS"),
    ],
)
def test_a_document_or_snils_of_another_record_in_the_batch_is_905(
    changes: dict[str, object], field: str, directory: ErrorDirectory, ref: InMemoryReference
) -> None:
    second = _other_person_record(2, **changes)
    if field == "SS":
        second = with_person(second, fam="Смирнов")

    errors = check_batch(_batch(valid_record(n_rec=1), second), ref, directory, today=TODAY)

    assert [(e.code, e.field, e.n_rec) for e in errors] == [("905", field, 2)]
    assert "уже указан в записи N_REC 1" in errors[0].comment


def test_an_enp_of_another_record_in_the_batch_is_905(
    directory: ErrorDirectory, ref: InMemoryReference
) -> None:
    second = with_insurance(_other_person_record(2), enp=valid_record().insurance.enp)

    errors = check_batch(_batch(valid_record(n_rec=1), second), ref, directory, today=TODAY)

    assert [(e.code, e.field, e.parent, e.n_rec) for e in errors] == [("905", "ENP", "INSURANCE", 2)]


def test_two_operations_on_one_registered_person_share_identifiers(
    directory: ErrorDirectory, ref: InMemoryReference
) -> None:
    card = insured_card()
    first = known_person_record("П040")
    second = dataclasses.replace(known_person_record("П062"), n_rec=2)
    second = with_insurance(second, policy=single_policy())

    errors = check_batch(_batch(first, second, cards=(card, card)), ref, directory, today=TODAY)

    assert [e for e in errors if e.code == DUPLICATE_KEY] == []


def test_905_can_be_switched_off(directory: ErrorDirectory, ref: InMemoryReference) -> None:
    batch = _batch(valid_record(n_rec=7), _other_person_record(7))

    assert check_batch(batch, ref, directory.with_severity(DUPLICATE_KEY, Severity.OFF), today=TODAY) == []


def test_batch_keeps_record_order_and_each_records_own_errors(
    directory: ErrorDirectory, ref: InMemoryReference
) -> None:
    bad_first = with_person(valid_record(n_rec=5), fam="Ivanov")
    duplicate = _other_person_record(3, documents=(passport(),))

    errors = check_batch(_batch(bad_first, duplicate), ref, directory, today=TODAY)

    assert [(e.n_rec, e.code) for e in errors] == [(5, "101"), (3, "905")]


def test_a_verified_directory_is_verified_again_once_a_rule_is_registered(
    directory: ErrorDirectory, ref: InMemoryReference
) -> None:
    """Verification is remembered per directory (``check`` asks for it per record), but only until the
    registry changes: a rule registered later must have its code in the directory too."""
    check(valid_record(), None, ref, directory, today=TODAY)
    assert directory.engine_memo is not None and directory.engine_memo[0] is registered_rules()

    def newcomer(ctx: RuleContext) -> list[Finding]:
        return []

    from rserz_soap.domain.flk import rules as rules_module

    rule("9999")(newcomer)
    try:
        with pytest.raises(DirectoryError, match="9999"):
            check(valid_record(), None, ref, directory, today=TODAY)
        with pytest.raises(DirectoryError, match="9999"):
            verify_directory(directory)
    finally:
        del rules_module._REGISTRY["9999"]
        rules_module._SORTED = None
    check(valid_record(), None, ref, directory, today=TODAY)
    assert directory.engine_memo is not None and directory.engine_memo[0] is registered_rules()
