"""The rule registry and what every rule gets to look at.

A rule is a small function ``(RuleContext) -> Iterable[Finding]`` registered against one error code with
``@rule("101")``. It says *what* is wrong in this record (the detail); the directory says how the protocol
words it, which field it points at and how severe it is. The rules themselves live in one module per group
(``rules_person``, ``rules_documents``, ``rules_identifiers``, ``rules_insurance``, ``rules_state``);
:func:`registered_rules` imports them all, so nobody can forget to.

Rules assume nothing about other rules having passed: each one skips quietly when the data it needs is
missing or malformed, because another code already reports that.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from types import MappingProxyType
from typing import Final

from rserz_soap.domain.flk.reference import Reference
from rserz_soap.domain.person import InsurancePeriod, PersonCard, Status
from rserz_soap.domain.records import Op, OperationRecord, PolicyInput

__all__ = [
    "RULE_MODULES",
    "Finding",
    "Rule",
    "RuleContext",
    "add_years",
    "fmt_date",
    "living_card",
    "owner_smo",
    "plus",
    "registered_rules",
    "rule",
]


@dataclass(frozen=True)
class Finding:
    """One concrete violation: the detail for COMMENT; the element, when not the directory's default."""

    detail: str
    field: str | None = None
    parent: str | None = None


@dataclass(frozen=True)
class RuleContext:
    """The record, the person it resolves to (``None`` = not in the register), the outside world, today."""

    record: OperationRecord
    card: PersonCard | None
    ref: Reference
    today: date

    @property
    def event_date(self) -> date:
        return self.record.event_date

    @property
    def op(self) -> Op | None:
        return self.record.operation

    @property
    def policy(self) -> PolicyInput | None:
        return self.record.insurance.policy

    @property
    def submitter(self) -> str:
        """The СМО that sent the record (``INSURANCE``'s СМО: the one the operation is done for)."""
        return self.record.insurance.smo_code

    @property
    def own_id(self) -> int | None:
        """The person's own id, which uniqueness rules must not count as "another person"."""
        return self.card.person_id if self.card is not None else None

    def others(self, owners: set[int]) -> set[int]:
        """``owners`` without the person the record resolves to. Ids never go into a protocol: another
        person's internal id is none of the submitting СМО's business."""
        return {o for o in owners if o != self.own_id}


Rule = Callable[[RuleContext], Iterable[Finding]]

_REGISTRY: dict[str, Rule] = {}
#: :func:`registered_rules`' answer, kept until the next registration (ФЛК asks for it per record)
_SORTED: Mapping[str, Rule] | None = None

#: Every module that registers rules; importing them is what fills the registry.
RULE_MODULES: Final = (
    "rserz_soap.domain.flk.rules_person",
    "rserz_soap.domain.flk.rules_documents",
    "rserz_soap.domain.flk.rules_identifiers",
    "rserz_soap.domain.flk.rules_insurance",
    "rserz_soap.domain.flk.rules_state",
)


def rule(code: str) -> Callable[[Rule], Rule]:
    """Register the decorated function as the check of error ``code`` (one function per code)."""

    def register(fn: Rule) -> Rule:
        if code in _REGISTRY and _REGISTRY[code] is not fn:
            raise ValueError(f"ФЛК code {code} already has a rule: {_REGISTRY[code].__qualname__}")
        global _SORTED
        _REGISTRY[code] = fn
        _SORTED = None
        return fn

    return register


def registered_rules() -> Mapping[str, Rule]:
    """All rules by code, in code order (the order their errors appear in a protocol).

    Read-only, and the same object until a rule is registered: a directory verified against it
    (:func:`~rserz_soap.domain.flk.engine.verify_directory`) needs no second verification until then."""
    global _SORTED
    if _SORTED is None:
        for module in RULE_MODULES:
            importlib.import_module(module)
        _SORTED = MappingProxyType(dict(sorted(_REGISTRY.items())))
    return _SORTED


# --------------------------------------------------------------------------- helpers shared by rules


def add_years(day: date, years: int) -> date:
    """The same calendar day ``years`` later; 29 February becomes 28 February in a common year.

    (The Civil Code ends a term counted in years on the matching day, or the month's last day if the
    month has no such day.) Saturates at ``date.max``: a birth date of 9999 is an error to report
    (119), not a reason for a rule to crash.
    """
    year = day.year + years
    if year > date.max.year:
        return date.max
    try:
        return day.replace(year=year)
    except ValueError:
        return day.replace(year=year, day=28)


def plus(day: date, delta: timedelta) -> date:
    """``day + delta``, saturating at ``date.max`` (incoming dates can be anything up to 9999-12-31)."""
    try:
        return day + delta
    except OverflowError:
        return date.max


def fmt_date(day: date) -> str:
    return day.isoformat()


def owner_smo(card: PersonCard) -> str | None:
    """The СМО of the person's open insurance period, i.e. the insurer an operation changes or ends."""
    period = card.open_period()
    return period.smo_code if period is not None else None


def open_period_of(card: PersonCard, smo_code: str) -> InsurancePeriod | None:
    period = card.open_period()
    return period if period is not None and period.smo_code == smo_code else None


def living_card(ctx: RuleContext) -> PersonCard | None:
    """The card when the state rules should look at it: known, active (not merged/annulled) and alive.

    The other cases have codes of their own (unknown person, inactive record, dead person), so a
    state rule that needs a living person simply has nothing more to say about them.
    """
    card = ctx.card
    if card is None or card.status in (Status.MERGED, Status.ANNULLED) or is_dead(card):
        return None
    return card


def is_dead(card: PersonCard) -> bool:
    return card.status is Status.DEAD or card.ddeath is not None
