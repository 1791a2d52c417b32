"""Every logical rule: a good record passes, and one change to it trips exactly the rule's code.

Each case starts from a record (and card) of :mod:`tests.domain.flk.builders` that passes every rule and
changes one thing. The test asserts the case's code is reported, and a coverage test makes sure every
logical code of the directory has a case here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest

from rserz_soap.domain.flk.directory import ErrorDirectory, Kind, Severity
from rserz_soap.domain.flk.engine import SERVICE_CODES, FlkError, check
from rserz_soap.domain.flk.reference import InMemoryReference
from rserz_soap.domain.identifiers import make_enp, make_snils
from rserz_soap.domain.person import Document, PersonCard, PolicyType, Status
from rserz_soap.domain.records import OperationRecord
from rserz_soap.files.flk_directory import bundled_reference
from rserz_soap.files.nsi import NsiRecord, bundled_files, parse_nsi_file
from tests.domain.flk.builders import (
    DR,
    ENDED_SMO,
    ENP,
    OTHER_ID,
    OTHER_SMO,
    REGION_OKATO,
    SMO,
    SNILS,
    TODAY,
    good_cases,
    insured_card,
    known_person_record,
    passport,
    period,
    person,
    single_policy,
    valid_record,
    with_document,
    with_insurance,
    with_person,
    with_policy,
    with_visit,
)

Case = tuple[OperationRecord, PersonCard | None, InMemoryReference | None]


def _someone_else(**changes: object) -> PersonCard:
    """Another registered person holding the identifiers given in ``changes``."""
    other = PersonCard(data=person(fam="Сидоров", ss=None), person_id=OTHER_ID, enp=None)
    return dataclasses.replace(other, **changes)  # type: ignore[arg-type]


def _ref_with(*people: PersonCard) -> InMemoryReference:
    return bundled_reference(REGION_OKATO, people=people)


def _ref_with_smo_of_another_region() -> InMemoryReference:
    foreign = NsiRecord(
        "F002",
        "77001",
        date(2010, 1, 1),
        None,
        {"smocod": "77001", "tf_okato": "46000", "nam_smok": "СМО соседей"},
    )
    bundled = [record for path in bundled_files() for record in parse_nsi_file(path).records]
    return InMemoryReference([*bundled, foreign], region_okato=REGION_OKATO)


def _wrong_luhn(enp: str) -> str:
    return enp[:-1] + str((int(enp[-1]) + 1) % 10)


def _wrong_snils_check(ss: str) -> str:
    return ss[:-2] + f"{(int(ss[-2:]) + 1) % 100:02d}"


def _p(record: OperationRecord, card: PersonCard | None = None, ref: InMemoryReference | None = None) -> Case:
    return (record, card, ref)


def _born_after_policy_start() -> OperationRecord:
    """A child's record whose policy starts the day before the birth (everything else consistent)."""
    dr = date(2024, 6, 1)
    enp = make_enp("45", dr, 1, 5)
    certificate = dataclasses.replace(BIRTH_CERTIFICATE, docdate=date(2024, 6, 10))
    record = with_person(REC(documents=(certificate,)), dr=dr, ss=make_snils(223_344_556), ot="Петрович")
    policy = single_policy(npolis=enp, dbeg=dr - timedelta(days=1))
    return with_visit(with_insurance(record, enp=enp, policy=policy), dvizit=dr - timedelta(days=1))


OTHER_ENP = make_enp("45", date(1990, 1, 1), 2, 77)
UNOWNED_ENP = make_enp("45", DR, 1, 99)  # the person's facet, a serial nobody has
REC = valid_record
BIRTH_CERTIFICATE = Document(doctype=3, docser="IV-АБ", docnum="123456", docdate=date(1985, 8, 1))
FOREIGN_PASSPORT = Document(doctype=9, docser=None, docnum="FA1234567", docdate=date(2020, 1, 10))

CASES: dict[str, Callable[[], Case]] = {
    # 1xx person
    "101": lambda: _p(with_person(REC(), fam="Ivanov")),
    "102": lambda: _p(with_person(REC(), im="Пётр1")),
    "103": lambda: _p(with_person(REC(), ot="С.")),
    "104": lambda: _p(with_person(REC(), fam="-Иванов")),
    "105": lambda: _p(with_person(REC(), im="Пётр ")),
    "106": lambda: _p(with_person(REC(), ot="'Сергеевич")),
    "107": lambda: _p(with_person(REC(), fam="Иванов--Петров")),
    "108": lambda: _p(with_person(REC(), im="Пётр  Павел")),
    "109": lambda: _p(with_person(REC(), ot="Мамед  оглы")),
    "110": lambda: _p(with_person(REC(), fam="Ф" * 41)),
    "111": lambda: _p(with_person(REC(), im="И" * 41)),
    "112": lambda: _p(with_person(REC(), ot="Сергеевич" * 4 + "Петрович")),
    "113": lambda: _p(with_person(REC(), fam="")),
    "114": lambda: _p(with_person(REC(), im="")),
    "115": lambda: _p(with_person(REC(), dost="1")),
    "116": lambda: _p(with_person(REC(), dost="7")),
    "117": lambda: _p(with_person(REC(), ot="Сергеевна")),
    "118": lambda: _p(with_person(REC(), w=3)),
    "119": lambda: _p(with_person(REC(), dr=TODAY + timedelta(days=1))),
    "120": lambda: _p(with_person(REC(), dr=date(1899, 12, 31))),
    "121": lambda: _p(known_person_record("П022"), insured_card()),
    "122": lambda: _p(known_person_record("П022", ddeath=DR - timedelta(days=1)), insured_card()),
    "123": lambda: _p(known_person_record("П022", ddeath=TODAY + timedelta(days=1)), insured_card()),
    "124": lambda: _p(REC(ddeath=TODAY)),
    "125": lambda: _p(with_person(REC(), mr="г. Звездоград, " * 10)),
    "126": lambda: _p(with_person(REC(), birth_oksm="999")),
    "127": lambda: _p(with_person(REC(), c_oksm="999")),
    "128": lambda: _p(with_person(REC(), kateg=13)),
    "129": lambda: _p(with_person(REC(), c_oksm="860")),
    # 2xx documents
    "201": lambda: _p(REC(documents=())),
    "202": lambda: _p(with_document(REC(), doctype=19)),
    "203": lambda: _p(with_document(REC(), docser="45 О1")),
    "204": lambda: _p(with_document(REC(), docnum="12345")),
    "205": lambda: _p(with_document(REC(), docdate=DR - timedelta(days=1))),
    "206": lambda: _p(with_document(REC(), docdate=TODAY + timedelta(days=1))),
    "207": lambda: _p(with_document(REC(), docexp=date(2012, 1, 1))),
    "208": lambda: _p(with_document(REC(), docexp=TODAY - timedelta(days=1))),
    "209": lambda: _p(with_document(REC(), docdate=None)),
    "210": lambda: _p(REC(documents=(passport(), BIRTH_CERTIFICATE))),
    "211": lambda: _p(with_document(REC(), docdate=date(1999, 7, 9))),
    "212": lambda: _p(with_document(REC(), docdate=date(2004, 6, 1))),
    "213": lambda: _p(REC(documents=(passport(), FOREIGN_PASSPORT))),
    "214": lambda: _p(with_person(REC(documents=(FOREIGN_PASSPORT,)), kateg=7, c_oksm="860")),
    "215": lambda: _p(REC(), None, _ref_with(_someone_else(documents=frozenset({passport()})))),
    # 3xx identifiers
    "301": lambda: _p(with_person(REC(), ss="1122334")),
    "302": lambda: _p(with_person(REC(), ss=_wrong_snils_check(SNILS))),
    "303": lambda: _p(REC(), None, _ref_with(_someone_else(data=person(fam="Сидоров", ss=SNILS)))),
    "304": lambda: _p(with_person(REC(), ss=None)),
    "305": lambda: _p(with_insurance(REC(), enp="45123")),
    "306": lambda: _p(with_insurance(REC(), enp=_wrong_luhn(ENP))),
    "307": lambda: _p(with_insurance(REC(), enp=OTHER_ENP)),
    "308": lambda: _p(dataclasses.replace(with_insurance(REC(), enp=OTHER_ENP), extra={"OLD_ENP": "1"})),
    "309": lambda: _p(REC(), None, _ref_with(_someone_else(enp=ENP))),
    "310": lambda: _p(with_insurance(known_person_record("П021"), enp=None), insured_card()),
    "311": lambda: _p(with_insurance(known_person_record("П040"), enp=UNOWNED_ENP), insured_card()),
    # 4xx insurance
    "401": lambda: _p(with_insurance(REC(), smo_code="45099")),
    "402": lambda: _p(with_insurance(REC(), policy=None)),
    "403": lambda: _p(with_insurance(REC(), ter_st="46000")),
    "404": lambda: _p(with_policy(REC(), vpolis=9)),
    "405": lambda: _p(with_policy(REC(), npolis="4500001")),
    "406": lambda: _p(with_insurance(REC(), policy=single_policy(npolis="4500001234"))),
    "407": lambda: _p(with_insurance(REC(), policy=single_policy(npolis=UNOWNED_ENP))),
    "408": lambda: _p(
        with_insurance(REC(), policy=single_policy(vpolis=PolicyType.OLD_STYLE, npolis="123456"))
    ),
    "409": lambda: _p(with_policy(REC(), dbeg=TODAY + timedelta(days=2))),
    "410": lambda: _p(_born_after_policy_start()),
    "411": lambda: _p(with_policy(REC(), dend=TODAY + timedelta(days=60))),
    "412": lambda: _p(with_insurance(REC(), policy=single_policy(dend=TODAY - timedelta(days=1)))),
    "413": lambda: _p(with_policy(REC(), dend=None)),
    "414": lambda: _p(dataclasses.replace(REC(), extra={"MO": "450019"})),  # F003: closed 31.03.2023
    "415": lambda: _p(with_visit(REC(), dvizit=TODAY + timedelta(days=1))),
    "416": lambda: _p(with_visit(REC(), rsmo=5)),
    "417": lambda: _p(with_visit(REC(), rpolis=7)),
    "418": lambda: _p(with_visit(REC(), method=5)),
    "419": lambda: _p(with_visit(REC(), rsmo=2)),
    "420": lambda: _p(with_insurance(REC(), ogrnsmo="1020000010008")),
    "421": lambda: _p(with_insurance(REC(), smo_code="77001"), None, _ref_with_smo_of_another_region()),
    "422": lambda: _p(dataclasses.replace(REC(), visit=None)),
    "423": lambda: _p(
        with_visit(known_person_record("П031"), rsmo=2, dvizit=date(2025, 11, 2)), insured_card(OTHER_SMO)
    ),
    # 5xx operation vs state
    "501": lambda: _p(known_person_record("П021"), None),
    "502": lambda: _p(REC(), insured_card(OTHER_SMO)),
    "503": lambda: _p(known_person_record("П021"), insured_card(status=Status.DEAD, ddeath=date(2025, 1, 5))),
    "504": lambda: _p(known_person_record("П021"), insured_card(OTHER_SMO)),
    "505": lambda: _p(with_visit(known_person_record("П031"), rsmo=2), insured_card(SMO)),
    "506": lambda: _p(
        with_visit(known_person_record("П031"), rsmo=2),
        insured_card(insurance=frozenset({period(OTHER_SMO, dbeg=date(2025, 1, 20), rsmo=2)})),
    ),
    "507": lambda: _p(with_visit(known_person_record("П033"), rsmo=4), insured_card(OTHER_SMO)),
    "508": lambda: _p(with_person(known_person_record("П040"), fam="Петров"), insured_card()),
    "509": lambda: _p(with_insurance(known_person_record("П061"), policy=single_policy()), insured_card()),
    "510": lambda: _p(with_insurance(known_person_record("П060"), policy=single_policy()), insured_card()),
    "511": lambda: _p(
        known_person_record("П021"),
        insured_card(insurance=frozenset({period(), period(OTHER_SMO, dbeg=date(2021, 1, 1))})),
    ),
    "512": lambda: _p(known_person_record("П021"), insured_card(status=Status.MERGED)),
    "513": lambda: _p(known_person_record("П099"), insured_card()),
    "514": lambda: _p(known_person_record("П025"), insured_card(status=Status.SUSPENDED)),
}


def _all_on(directory: ErrorDirectory) -> ErrorDirectory:
    """Switched-off rules must still be shown to fail their case."""
    for entry in directory.of_kind(Kind.LOGICAL):
        if not entry.enabled:
            directory = directory.with_severity(entry.code, Severity.WARNING)
    return directory


def _run(case: Case, directory: ErrorDirectory, ref: InMemoryReference) -> list[FlkError]:
    record, card, own_ref = case
    return check(record, card, own_ref or ref, directory, today=TODAY)


@pytest.mark.parametrize(("name", "case"), list(good_cases().items()), ids=list(good_cases()))
def test_a_good_record_of_every_operation_passes_every_rule(
    name: str,
    case: tuple[OperationRecord, PersonCard | None],
    directory: ErrorDirectory,
    ref: InMemoryReference,
) -> None:
    record, card = case
    assert check(record, card, ref, _all_on(directory), today=TODAY) == []


@pytest.mark.parametrize("code", sorted(CASES))
def test_the_broken_record_trips_the_rule(
    code: str, directory: ErrorDirectory, ref: InMemoryReference
) -> None:
    errors = _run(CASES[code](), _all_on(directory), ref)

    reported = [e for e in errors if e.code == code]
    assert reported, f"{code} not reported; got {[(e.code, e.comment) for e in errors]}"
    entry = directory[code]
    for error in reported:
        assert error.comment.startswith(entry.message + ": ")
        assert error.n_rec == 1
        assert error.field is not None and error.parent is not None


def test_every_rule_code_has_a_failing_case(directory: ErrorDirectory) -> None:
    assert set(CASES) == directory.codes(Kind.LOGICAL) - SERVICE_CODES


# --------------------------------------------------------------------------- details and boundaries


def _codes(
    record: OperationRecord, card: PersonCard | None, directory: ErrorDirectory, ref: InMemoryReference
) -> set[str]:
    return {e.code for e in check(record, card, ref, directory, today=TODAY)}


def test_series_comment_names_value_mask_type_and_date(
    directory: ErrorDirectory, ref: InMemoryReference
) -> None:
    record = with_document(REC(), docser="45 О1", docdate=date(2024, 3, 1))

    [error] = [e for e in check(record, None, ref, directory, today=TODAY) if e.code == "203"]

    assert error.comment == (
        "Серия документа не соответствует маске F011: "
        "Серия «45 О1» не соответствует маске «99 99» (F011, тип 14, на 2024-03-01)"
    )
    assert (error.field, error.parent, error.severity) == ("DOCSER", "DOC", Severity.ERROR)


@pytest.mark.parametrize(
    ("docdate", "docnum", "ok"),
    [
        (date(2015, 4, 1), "123456", True),  # F011 type 11 before 2020: number 0999999 (6 or 7 digits)
        (date(2021, 4, 1), "123456", False),  # from 2020: 9999999 (exactly 7)
        (date(2021, 4, 1), "1234567", True),
    ],
)
def test_masks_are_taken_on_the_document_date(
    docdate: date, docnum: str, ok: bool, directory: ErrorDirectory, ref: InMemoryReference
) -> None:
    permit = Document(doctype=11, docser="82", docnum=docnum, docdate=docdate, is_main=False)
    record = with_person(REC(documents=(FOREIGN_PASSPORT, permit)), kateg=2, c_oksm="860")

    assert ("204" not in _codes(record, None, directory, ref)) is ok


def test_without_an_f011_version_on_the_issue_date_the_event_date_version_is_used(
    directory: ErrorDirectory, ref: InMemoryReference
) -> None:
    old = with_document(REC(), docdate=date(2008, 1, 10))  # bundled F011 starts in 2011

    assert _codes(old, None, directory, ref) == set()
    assert "203" in _codes(with_document(old, docser="4508"), None, directory, ref)


def test_free_text_series_may_be_absent(directory: ErrorDirectory, ref: InMemoryReference) -> None:
    permit = Document(doctype=23, docser=None, docnum="123", docdate=date(2022, 1, 1), is_main=False)
    record = with_person(REC(documents=(FOREIGN_PASSPORT, permit)), kateg=8, c_oksm="860")

    assert _codes(record, None, directory, ref) == set()


@pytest.mark.parametrize(("event", "ok"), [(date(1999, 8, 9), True), (date(1999, 8, 10), False)])
def test_birth_certificate_is_accepted_until_30_days_after_the_14th_birthday(
    event: date, ok: bool, directory: ErrorDirectory, ref: InMemoryReference
) -> None:
    record = with_visit(with_policy(REC(documents=(BIRTH_CERTIFICATE,)), dbeg=event, dend=None), dvizit=event)

    assert ("210" not in _codes(record, None, directory, ref)) is ok


@pytest.mark.parametrize(("event", "ok"), [(date(2005, 10, 8), True), (date(2005, 10, 9), False)])
def test_passport_issued_before_20_is_valid_until_90_days_after_the_20th_birthday(
    event: date, ok: bool, directory: ErrorDirectory, ref: InMemoryReference
) -> None:
    record = with_visit(with_document(REC(), docdate=date(2003, 1, 10)), dvizit=event)
    record = with_policy(record, dbeg=event, dend=None)

    assert ("212" not in _codes(record, None, directory, ref)) is ok


def test_passport_issued_before_45_expires_90_days_after_the_45th_birthday(
    directory: ErrorDirectory, ref: InMemoryReference
) -> None:
    late = with_policy(REC(), dbeg=date(2030, 10, 9), dend=None)

    assert "212" in {e.code for e in check(late, None, ref, directory, today=date(2030, 10, 9))}


@pytest.mark.parametrize(("dend_days", "ok"), [(30, True), (31, False)])
def test_vs_is_valid_for_30_working_days(
    dend_days: int, ok: bool, directory: ErrorDirectory, ref: InMemoryReference
) -> None:
    record = with_policy(REC(), dend=ref.working_days_after(TODAY, dend_days))

    assert ("411" not in _codes(record, None, directory, ref)) is ok


@pytest.mark.parametrize(
    ("ot", "w", "ok"),
    [
        ("Ильинична", 2, True),
        ("Ильинична", 1, False),
        ("Кузьмич", 1, True),
        ("Мамед оглы", 1, True),
        ("Мамед кызы", 1, False),
        ("Алиевна", 2, True),
        ("Петрович", 2, False),
        ("Джон", 1, True),
    ],
)
def test_patronymic_ending_vs_sex(
    ot: str, w: int, ok: bool, directory: ErrorDirectory, ref: InMemoryReference
) -> None:
    record = with_person(REC(), ot=ot, w=w, dr=DR)
    record = with_insurance(record, enp=make_enp("45", DR, w, 12))

    assert ("117" not in _codes(record, None, directory, ref)) is ok


@pytest.mark.parametrize("name", ["Д'Артаньян", "Анна-Мария", "Ёлкин", "де ла Круз", "Ахмед’ов"])
def test_names_with_apostrophe_hyphen_space_and_yo_pass(
    name: str, directory: ErrorDirectory, ref: InMemoryReference
) -> None:
    assert _codes(with_person(REC(), fam=name), None, directory, ref) == set()


def test_missing_name_parts_pass_when_dost_says_so(directory: ErrorDirectory, ref: InMemoryReference) -> None:
    record = with_person(REC(), fam="", ot=None, dost="1 2")

    assert _codes(record, None, directory, ref) == set()


def test_foreign_citizen_with_a_residence_permit_passes(
    directory: ErrorDirectory, ref: InMemoryReference
) -> None:
    permit = Document(doctype=11, docser="82", docnum="1234567", docdate=date(2022, 1, 1), is_main=False)
    record = with_person(REC(documents=(FOREIGN_PASSPORT, permit)), kateg=7, c_oksm="860")

    assert _codes(record, None, directory, ref) == set()


def test_eaeu_worker_needs_no_residence_document(directory: ErrorDirectory, ref: InMemoryReference) -> None:
    record = with_person(REC(documents=(FOREIGN_PASSPORT,)), kateg=3, c_oksm="112")

    assert _codes(record, None, directory, ref) == set()


def test_uniqueness_ignores_the_persons_own_identifiers(directory: ErrorDirectory) -> None:
    card = insured_card(data=person())
    own = _ref_with(card)
    record = known_person_record("П040")

    assert _codes(record, card, directory, own) == set()
    stranger = dataclasses.replace(card, person_id=OTHER_ID + 5)
    assert {"215", "303", "309"} <= _codes(record, stranger, directory, own)


def test_enp_alias_of_the_person_is_accepted(directory: ErrorDirectory) -> None:
    card = insured_card(aliases=frozenset({UNOWNED_ENP}))
    record = with_insurance(known_person_record("П040"), enp=UNOWNED_ENP)

    assert _codes(record, card, directory, _ref_with(card)) == set()


def test_p024_may_carry_a_different_enp(directory: ErrorDirectory, ref: InMemoryReference) -> None:
    record = with_insurance(known_person_record("П024"), enp=UNOWNED_ENP)

    assert "311" not in _codes(record, insured_card(), directory, ref)


def test_old_enp_mark_turns_the_facet_error_into_a_warning(
    directory: ErrorDirectory, ref: InMemoryReference
) -> None:
    record = dataclasses.replace(with_insurance(REC(), enp=OTHER_ENP), extra={"OLD_ENP": "1"})

    [error] = check(record, None, ref, directory, today=TODAY)

    assert (error.code, error.severity, error.rejects) == ("308", Severity.WARNING, False)


def test_change_by_wish_last_year_does_not_block_this_year(
    directory: ErrorDirectory, ref: InMemoryReference
) -> None:
    card = insured_card(insurance=frozenset({period(OTHER_SMO, dbeg=date(2024, 2, 1), rsmo=2)}))
    record = with_visit(known_person_record("П034"), rsmo=2)
    record = with_insurance(record, policy=valid_record().insurance.policy)

    assert _codes(record, card, directory, ref) == set()


def test_p033_from_an_smo_whose_contract_ended_passes_and_from_a_working_one_fails(
    directory: ErrorDirectory, ref: InMemoryReference
) -> None:
    record = with_visit(known_person_record("П033"), rsmo=4)

    assert "507" not in _codes(record, insured_card(ENDED_SMO), directory, ref)
    late_2024 = with_visit(record, dvizit=date(2024, 12, 20))
    assert "507" in {
        e.code for e in check(late_2024, insured_card(ENDED_SMO), ref, directory, today=date(2024, 12, 20))
    }


def test_p022_for_a_dead_person_is_refused(directory: ErrorDirectory, ref: InMemoryReference) -> None:
    record = known_person_record("П022", ddeath=date(2025, 1, 5))
    card = insured_card(status=Status.DEAD, ddeath=date(2025, 1, 5))

    assert _codes(record, card, directory, ref) == {"503"}


def test_p010_for_a_dead_person_is_refused_as_dead_not_as_insured(
    directory: ErrorDirectory, ref: InMemoryReference
) -> None:
    card = insured_card(status=Status.DEAD, ddeath=date(2025, 1, 5))

    assert _codes(REC(), card, directory, ref) == {"503"}


# --------------------------------------------------------------------------- the field's real formats


def test_enp_facet_mismatch_is_a_warning_by_default(
    directory: ErrorDirectory, ref: InMemoryReference
) -> None:
    (error,) = [e for e in _run(CASES["307"](), directory, ref) if e.code == "307"]

    assert (error.severity, error.rejects) == (Severity.WARNING, False)


def _corrected(**changes: object) -> OperationRecord:
    """A П061 that corrects the person's birth date or sex: the ЕНП keeps the old values' digits."""
    record = with_insurance(known_person_record("П061"), policy=single_policy())
    return with_visit(with_person(record, **changes), rpolis=3)


@pytest.mark.parametrize(
    ("record", "card"),
    [
        (lambda: _corrected(dr=DR + timedelta(days=1)), lambda: insured_card()),
        (lambda: _corrected(w=2, ot="Сергеевна", im="Пелагея"), lambda: insured_card()),
        (
            lambda: dataclasses.replace(_corrected(dr=DR + timedelta(days=1)), old_person=person()),
            lambda: None,
        ),
        (lambda: with_person(with_insurance(REC(), enp=OTHER_ENP), dost="4"), lambda: None),
        (lambda: with_person(with_insurance(REC(), enp=OTHER_ENP), dost="6"), lambda: None),
        (lambda: with_insurance(REC(), enp=OTHER_ENP, erp="1"), lambda: None),
        (
            lambda: with_person(known_person_record("П040"), dr=date(1990, 1, 1)),
            lambda: insured_card(data=person(dr=date(1990, 1, 1))),
        ),
    ],
    ids=[
        "П061 corrects DR",
        "П061 corrects sex",
        "П061 with OLD_PERSON",
        "DOST 4",
        "DOST 6",
        "ERP 1: assigned by ФЕРЗЛ",
        "the register's own ЕНП",
    ],
)
def test_enp_facet_is_not_checked_where_a_mismatch_is_expected(
    record: Callable[[], OperationRecord],
    card: Callable[[], PersonCard | None],
    directory: ErrorDirectory,
    ref: InMemoryReference,
) -> None:
    assert "307" not in _codes(record(), card(), directory, ref)


def test_a_p061_that_changes_only_the_name_still_has_its_enp_checked(
    directory: ErrorDirectory, ref: InMemoryReference
) -> None:
    record = dataclasses.replace(
        with_insurance(_corrected(fam="Петров"), enp=OTHER_ENP, policy=single_policy(npolis=OTHER_ENP)),
        old_person=dataclasses.replace(person(fam="Иванов"), dr=date.min, w=0),
    )

    assert "307" in _codes(record, insured_card(), directory, ref)


@pytest.mark.parametrize(
    ("dvizit", "late"), [(date(2025, 11, 1), False), (date(2025, 11, 2), True), (date(2025, 1, 9), False)]
)
def test_a_change_of_smo_by_wish_is_accepted_until_1_november(
    dvizit: date, late: bool, directory: ErrorDirectory, ref: InMemoryReference
) -> None:
    for op, record in (
        ("П031", with_visit(known_person_record("П031"), rsmo=2, dvizit=dvizit)),
        ("П034", with_visit(valid_record("П034"), rsmo=2, rpolis=1, dvizit=dvizit)),
    ):
        assert ("423" in _codes(record, insured_card(OTHER_SMO), directory, ref)) is late, op


@pytest.mark.parametrize("op", ["П032", "П033", "П035", "П036"])
def test_changes_of_smo_on_moving_or_an_ended_contract_have_no_deadline(
    op: str, directory: ErrorDirectory, ref: InMemoryReference
) -> None:
    record = with_visit(known_person_record(op), rsmo=3, dvizit=date(2025, 12, 1))

    assert "423" not in _codes(record, insured_card(OTHER_SMO), directory, ref)


@pytest.mark.parametrize("op", ["П021", "П022", "П023", "П024", "П025", "П040"])
def test_de_registrations_and_changes_of_data_may_come_without_vizit(
    op: str, directory: ErrorDirectory, ref: InMemoryReference
) -> None:
    record = dataclasses.replace(
        known_person_record(op, ddeath=TODAY if op == "П022" else None), visit=None, received_on=TODAY
    )

    assert _codes(record, insured_card(), directory, ref) == set()


@pytest.mark.parametrize(
    ("op", "card"),
    [
        ("П021", lambda: _closed_by_hub(Status.INSURED)),
        ("П022", lambda: _closed_by_hub(Status.DEAD, ddeath=date(2025, 2, 1))),
        ("П023", lambda: _closed_by_hub(Status.MERGED)),
        ("П025", lambda: _closed_by_hub(Status.SUSPENDED)),
    ],
)
def test_the_old_smos_answer_to_its_stoplist_passes_the_state_rules(
    op: str, card: Callable[[], PersonCard], directory: ErrorDirectory, ref: InMemoryReference
) -> None:
    record = known_person_record(op, ddeath=date(2025, 2, 1) if op == "П022" else None)

    assert not {"503", "504", "512", "514"} & _codes(record, card(), directory, ref)


def _closed_by_hub(status: Status, **changes: Any) -> PersonCard:
    """SMO's period closed by the hub (another СМО, ЗАГС, a merge, military service)."""
    closed = period(dstop=date(2025, 2, 1), stop_reason=2)
    others = {period(OTHER_SMO, dbeg=date(2025, 2, 1))} if status is Status.INSURED else set()
    return insured_card(status=status, insurance=frozenset({closed, *others}), **changes)
