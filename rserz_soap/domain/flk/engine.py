"""Running the ФЛК: every enabled rule over a record, or over a batch with its duplicate checks.

The engine joins the two halves: a rule says what is wrong (the detail), the directory says how the
protocol reports it (message, field, parent, severity). A rule whose code the directory lacks would report
errors nobody can word or switch off, so that is refused before any record is checked
(:func:`verify_directory`), and the service calls it at startup.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Final

from rserz_soap.domain.flk.directory import DirectoryError, ErrorDirectory, ErrorEntry, FlkError, Kind
from rserz_soap.domain.flk.reference import Reference
from rserz_soap.domain.flk.rules import Finding, Rule, RuleContext, registered_rules
from rserz_soap.domain.identifiers import IdentifierError, validate_snils
from rserz_soap.domain.person import PersonCard
from rserz_soap.domain.records import OperationRecord

__all__ = [
    "DUPLICATE_KEY",
    "SERVICE_CODES",
    "FlkError",
    "check",
    "check_batch",
    "rejected",
    "verify_directory",
]

#: F012 905: a key value repeated within one file (batch).
DUPLICATE_KEY: Final = "905"

#: Logical codes reported by the service layer, not by a rule, because only it knows the fact checked:
#: 590 — the record's СМО is not the participant that sent it (``registry.buffer.WRONG_SUBMITTER``);
#: 591 — the federal register refused the change (``registry.buffer.FEDERAL_REJECTED``).
SERVICE_CODES: Final = frozenset({"590", "591"})


def rejected(errors: Iterable[FlkError]) -> bool:
    """The record must not change the register: at least one error of severity E."""
    return any(e.rejects for e in errors)


def verify_directory(directory: ErrorDirectory) -> None:
    """Raise :class:`DirectoryError` unless ``directory`` can word everything the hub may report.

    That is: a logical entry for every registered rule, and entries for the codes reported outside the
    rules (905 of batches, :data:`SERVICE_CODES`). A directory is immutable, so one that passed keeps,
    for the registry it passed against, the rules it enables with their entries
    (``ErrorDirectory.engine_memo``), and is not verified again until a rule is registered: :func:`check`
    verifies the directory for every record it checks.
    """
    _enabled_checks(directory)


def _enabled_checks(directory: ErrorDirectory) -> tuple[tuple[ErrorEntry, Rule], ...]:
    """The enabled rules with their entries, in code order; verifies ``directory`` unless it passed
    against the registry as it is."""
    rules = registered_rules()
    memo = directory.engine_memo
    if memo is not None and memo[0] is rules:  # nothing registered since this directory passed
        return memo[1]
    missing = sorted(set(rules) - directory.codes())
    if missing:
        raise DirectoryError(f"the ФЛК directory has no entry for rule code(s) {', '.join(missing)}")
    wrong_kind = sorted(code for code in rules if directory[code].kind is not Kind.LOGICAL)
    if wrong_kind:
        raise DirectoryError(f"rule code(s) {', '.join(wrong_kind)} are not logical in the ФЛК directory")
    absent = sorted({DUPLICATE_KEY, *SERVICE_CODES} - directory.codes())
    if absent:
        raise DirectoryError(
            f"the ФЛК directory has no entry for code(s) {', '.join(absent)} "
            "(reported by the engine or the service layer)"
        )
    checks = tuple((directory[code], fn) for code, fn in rules.items() if directory[code].enabled)
    directory.engine_memo = (rules, checks)
    return checks


def check(
    record: OperationRecord,
    card: PersonCard | None,
    ref: Reference,
    directory: ErrorDirectory,
    *,
    today: date,
) -> list[FlkError]:
    """All errors of one record, in code order; ``card`` is the person it resolves to (None = unknown)."""
    checks = _enabled_checks(directory)
    ctx = RuleContext(record=record, card=card, ref=ref, today=today)
    n_rec = record.n_rec
    errors: list[FlkError] = []
    for entry, fn in checks:
        for finding in fn(ctx):
            errors.append(_report(entry, n_rec, finding))
    return errors


def check_batch(
    items: Sequence[tuple[OperationRecord, PersonCard | None]],
    ref: Reference,
    directory: ErrorDirectory,
    *,
    today: date,
) -> list[FlkError]:
    """Every record's errors, plus 905 for what must be unique within one batch.

    905 goes to each later record that repeats an ``N_REC`` or a document, СНИЛС or ЕНП of an earlier
    record in the batch. Two records about the same registered person may share identifiers (a batch can
    carry two operations on one person), so only records resolved to different persons, or not resolved
    at all, clash.
    """
    verify_directory(directory)
    entry = directory[DUPLICATE_KEY]
    duplicates: dict[int, list[Finding]] = {}
    if entry.enabled:
        for index, finding in _batch_duplicates(items):
            duplicates.setdefault(index, []).append(finding)
    errors: list[FlkError] = []
    for index, (record, card) in enumerate(items):
        errors.extend(check(record, card, ref, directory, today=today))
        errors.extend(_report(entry, record.n_rec, f) for f in duplicates.get(index, ()))
    return errors


def _report(entry: ErrorEntry, n_rec: int, finding: Finding) -> FlkError:
    return entry.report(n_rec, finding.detail, field=finding.field, parent=finding.parent)


def _batch_duplicates(
    items: Sequence[tuple[OperationRecord, PersonCard | None]],
) -> Iterable[tuple[int, Finding]]:
    """(index of the record in the batch, its 905 finding)."""
    seen_n_rec: dict[int, int] = {}
    # key → (first N_REC, person id of that record or None)
    seen: dict[tuple[str, object], tuple[int, int | None]] = {}
    for index, (record, card) in enumerate(items):
        if record.n_rec in seen_n_rec:
            yield (
                index,
                Finding(
                    f"N_REC {record.n_rec} повторяется (записи {seen_n_rec[record.n_rec] + 1} "
                    f"и {index + 1} пакета)",
                    field="N_REC",
                    parent="OP",
                ),
            )
        else:
            seen_n_rec[record.n_rec] = index
        person_id = card.person_id if card is not None else None
        for key, detail, field, parent in _keys(record):
            first = seen.get(key)
            if first is None:
                seen[key] = (record.n_rec, person_id)
            elif person_id is None or first[1] != person_id:
                detail = f"{detail} уже указан в записи N_REC {first[0]}"
                yield index, Finding(detail, field=field, parent=parent)


def _keys(record: OperationRecord) -> Iterable[tuple[tuple[str, object], str, str, str]]:
    """(key, how to name it, IM_POL, BAS_EL) of every value that must be unique within a batch."""
    for doc in record.documents:
        shown = f"документ тип {doc.doctype} «{doc.docser or ''} {doc.docnum}»"
        yield ("DOC", doc.key), shown, "DOCNUM", "DOC"
    if record.person.ss:
        try:
            ss = validate_snils(record.person.ss)
        except IdentifierError:
            ss = None  # a malformed СНИЛС is reported by 301/302, not as a duplicate
        if ss is not None:
            yield ("SS", ss), f"СНИЛС «{ss}»", "SS", "PERSON"
    if record.insurance.enp:
        yield ("ENP", record.insurance.enp), f"ЕНП «{record.insurance.enp}»", "ENP", "INSURANCE"
