"""Manual one-sided changes by a ТФОМС operator, and the pins that keep deliberate deviations.

Two kinds, both audited (a version with the operator and the reason, and a RECLIST entry for the СМО
that insures the person):

* ``apply_federal`` — make the card hold what the federal register holds. Operators use it by hand; the
  federal sync uses the same function with ``respect_pins=True``, so a pinned field is never overwritten.
* ``set_deviation`` — deliberately keep a value different from ФЕРЗЛ (a court decision, a confirmed
  document the federal copy lacks). It needs a justification and *pins* the field: reconciliation then
  reports the difference as an accepted deviation, not as an error.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from rserz_soap.db.notices import NewCorrection
from rserz_soap.db.persons import StoredCard, VersionMeta
from rserz_soap.db.pins import KnownFederal, NewPin, PinRow
from rserz_soap.db.uow import UnitOfWork
from rserz_soap.domain.codec import decode, encode
from rserz_soap.domain.person import Document, PersonCard, PersonData

SCALAR_FIELDS = frozenset(f.name for f in dataclasses.fields(PersonData))
DOCUMENT = "document"
FIELDS = SCALAR_FIELDS | {DOCUMENT}


class ManualChangeError(ValueError):
    pass


@dataclass(frozen=True)
class ManualResult:
    person_id: int
    version_no: int | None  # None: nothing to change
    changed: tuple[str, ...]
    skipped_pinned: tuple[str, ...] = ()


def _check_fields(values: Mapping[str, Any]) -> None:
    unknown = set(values) - FIELDS
    if unknown:
        raise ManualChangeError(f"unknown fields: {sorted(unknown)}; allowed: {sorted(FIELDS)}")


def _with_values(card: PersonCard, values: Mapping[str, Any]) -> PersonCard:
    scalars = {k: v for k, v in values.items() if k in SCALAR_FIELDS}
    if scalars:
        typed = decode(PersonData, {**encode(card.data), **encode(scalars)})
        card = card.replace(data=typed)
    if DOCUMENT in values:
        doc = (
            values[DOCUMENT] if isinstance(values[DOCUMENT], Document) else decode(Document, values[DOCUMENT])
        )
        kept = frozenset(d for d in card.documents if not d.is_main)
        card = card.replace(documents=kept | {doc})
    return card


def _field_value(card: PersonCard, name: str) -> Any:
    if name == DOCUMENT:
        doc = card.main_document()
        return encode(doc) if doc else None
    return encode(getattr(card.data, name))


def pinned_fields(uow: UnitOfWork, person_id: int) -> dict[str, Any]:
    """Active pins of a person: field → the value the region keeps."""
    with uow:
        return uow.pins.active(person_id)


def deviation_status(uow: UnitOfWork, person_id: int, name: str, federal: Any) -> str:
    """How reconciliation classifies a difference in ``name``: 'accepted_deviation', 'differs' or 'equal'."""
    with uow:
        card = uow.persons.load(person_id).card
        ours = _field_value(card, name)
        if ours == encode(federal):
            return "equal"
        pins = uow.pins.active(person_id)
    return "accepted_deviation" if name in pins and pins[name] == ours else "differs"


def apply_federal(
    uow: UnitOfWork,
    person_id: int,
    values: Mapping[str, Any],
    *,
    actor: str,
    reason: str,
    respect_pins: bool,
    source_kind: str = "operator",
    valid_from: date | None = None,
) -> ManualResult:
    """Set the card to the federal values; remember them as known federal values."""
    _check_fields(values)
    with uow:
        stored = uow.persons.load(person_id, for_update=True)
        uow.pins.remember_federal(
            person_id, values, source="manual" if source_kind == "operator" else source_kind
        )
        pins = uow.pins.active(person_id)
        skipped = tuple(sorted(k for k in values if respect_pins and k in pins))
        applicable = {k: v for k, v in values.items() if k not in skipped}
        if not respect_pins:
            uow.pins.release(person_id, applicable.keys(), actor)
        return _save(
            uow,
            stored,
            applicable,
            actor=actor,
            reason=reason,
            operation="MANUAL_FEDERAL",
            source_kind=source_kind,
            valid_from=valid_from,
            skipped=skipped,
        )


def apply_registry(
    uow: UnitOfWork,
    person_id: int,
    values: Mapping[str, Any],
    *,
    actor: str,
    reason: str,
    source_kind: str,
    operation: str,
) -> ManualResult:
    """Set values another state register vouches for (СФР's СНИЛС), with the same audit as an operator's
    change; a pinned field is kept. Unlike :func:`apply_federal` nothing is remembered as ФЕРЗЛ's value."""
    _check_fields(values)
    with uow:
        stored = uow.persons.load(person_id, for_update=True)
        pins = uow.pins.active(person_id)
        skipped = tuple(sorted(k for k in values if k in pins))
        return _save(
            uow,
            stored,
            {k: v for k, v in values.items() if k not in skipped},
            actor=actor,
            reason=reason,
            operation=operation,
            source_kind=source_kind,
            valid_from=None,
            skipped=skipped,
        )


def set_deviation(
    uow: UnitOfWork,
    person_id: int,
    values: Mapping[str, Any],
    *,
    federal: Mapping[str, Any],
    actor: str,
    justification: str,
    valid_from: date | None = None,
) -> ManualResult:
    """Keep values deliberately different from ФЕРЗЛ, pinned so the federal sync never overwrites them."""
    _check_fields(values)
    if not justification or not justification.strip():
        raise ManualChangeError("a deliberate deviation from ФЕРЗЛ needs a justification")
    with uow:
        stored = uow.persons.load(person_id, for_update=True)
        uow.pins.remember_federal(
            person_id, {k: v for k, v in federal.items() if k in values}, source="manual"
        )
        result = _save(
            uow,
            stored,
            values,
            actor=actor,
            reason=justification,
            operation="MANUAL_DEVIATION",
            source_kind="operator",
            valid_from=valid_from,
            skipped=(),
        )
        card = uow.persons.load(person_id).card
        uow.pins.release(person_id, values.keys(), actor)
        uow.pins.pin(
            person_id,
            [
                NewPin(name, _field_value(card, name), encode(federal.get(name)), justification, actor)
                for name in values
            ],
        )
        return result


def release_pin(uow: UnitOfWork, person_id: int, name: str, *, actor: str) -> bool:
    """Stop keeping a deviation: the next federal sync may overwrite the field again."""
    with uow:
        return uow.pins.release(person_id, [name], actor) > 0


def remember_federal(uow: UnitOfWork, person_id: int, values: Mapping[str, Any], *, source: str) -> None:
    with uow:
        uow.pins.remember_federal(person_id, values, source=source)


def _save(
    uow: UnitOfWork,
    stored: StoredCard,
    values: Mapping[str, Any],
    *,
    actor: str,
    reason: str,
    operation: str,
    source_kind: str,
    valid_from: date | None,
    skipped: tuple[str, ...],
) -> ManualResult:
    before = stored.card
    after = _with_values(before, values)
    changed = tuple(sorted(k for k in values if _field_value(after, k) != _field_value(before, k)))
    assert before.person_id is not None
    if not changed:
        return ManualResult(before.person_id, None, (), skipped)
    meta = VersionMeta(operation, source_kind, actor, valid_from or date.today(), actor=actor, reason=reason)
    saved = uow.persons.save(stored, after, meta)
    period = after.open_period()
    if period is not None:  # RECLIST: the insurer learns of the ТФОМС-side correction
        uow.notices.add_correction(
            NewCorrection(
                smo_code=period.smo_code,
                person_id=before.person_id,
                version_id=saved.version_id,
                tip_op=operation,
                is_active=1,
                err_code=None,
                err_desc=f"{', '.join(changed)}: {reason}",
            )
        )
    return ManualResult(before.person_id, saved.version_no, changed, skipped)


def pins(uow: UnitOfWork, person_id: int) -> list[PinRow]:
    """Active pins with their justification, author and time."""
    with uow:
        return uow.pins.active_pins(person_id)


def known_federal(uow: UnitOfWork, person_id: int) -> dict[str, KnownFederal]:
    """The values ФЕРЗЛ was last seen to hold for the person (encoded), by card field."""
    with uow:
        return uow.pins.known_federal(person_id)
