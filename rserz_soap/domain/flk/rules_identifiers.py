"""3xx — personal identifiers: СНИЛС and ЕНП (format, check digit, date/sex facet, ownership).

The arithmetic is in :mod:`rserz_soap.domain.identifiers`; these rules only decide what a failure means
for a record. A ЕНП whose facet contradicts ДР/W (307) is a warning by default (errors.xml decides), and
is not reported at all where the mismatch is expected rather than a typo:

* a П061 that corrects the birth date or the sex: the person keeps the ЕНП, whose digits encode the old
  values (OLD_PERSON or the register's card);
* an inexact birth date (DOST 4, 5 or 6): the facet cannot be checked against a date nobody knows;
* a ЕНП assigned by ФЕРЗЛ: the СМО states it is registered federally (``INSURANCE/ERP`` = 1), or it is
  already the person's number in the register — the master register's numbers stand whatever their digits
  say (domain reference §5).

A number the СМО marks as old (``OLD_ENP=1``: issued before the facet rule, or by a fund that got it wrong)
has a code of its own (308).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Final

from rserz_soap.domain.flk.rules import Finding, RuleContext, add_years, rule
from rserz_soap.domain.identifiers import (
    SEX_FEMALE,
    SEX_MALE,
    IdentifierError,
    enp_matches_person,
    validate_enp,
    validate_snils,
)
from rserz_soap.domain.records import Op

SNILS_EXPECTED_FROM_AGE: Final = 18
OLD_ENP_MARK: Final = "OLD_ENP"
#: DOST codes that make the birth date inexact: only month and year, only the year, not a calendar date.
INEXACT_BIRTH_DATE: Final = frozenset("456")
#: INSURANCE/ERP as СМО software writes it when the ЕНП is registered in the federal register.
ERP_REGISTERED: Final = "1"


def _snils_error(ss: str) -> str | None:
    try:
        validate_snils(ss)
    except IdentifierError as exc:
        return exc.code
    return None


def _bare_snils(ctx: RuleContext) -> str | None:
    ss = ctx.record.person.ss
    if not ss or _snils_error(ss) is not None:
        return None
    return validate_snils(ss)


def _enp(ctx: RuleContext) -> str | None:
    return ctx.record.insurance.enp or None


def _enp_error(enp: str) -> str | None:
    try:
        validate_enp(enp)
    except IdentifierError as exc:
        return exc.code
    return None


def _facet_mismatch(ctx: RuleContext) -> bool:
    enp, person = _enp(ctx), ctx.record.person
    if enp is None or _enp_error(enp) is not None or person.w not in (SEX_MALE, SEX_FEMALE):
        return False
    return not enp_matches_person(enp, person.dr, person.w)


def _marked_old(ctx: RuleContext) -> bool:
    return ctx.record.extra.get(OLD_ENP_MARK) == "1"


def _mismatch_expected(ctx: RuleContext) -> bool:
    """The facet may rightly disagree with DR/W: a correction, an inexact date, a federal number."""
    record, card = ctx.record, ctx.card
    person = record.person
    if INEXACT_BIRTH_DATE & set(person.dost or ""):
        return True
    if (record.insurance.erp or "").strip() == ERP_REGISTERED:
        return True
    enp = _enp(ctx)
    if card is not None and enp is not None and enp in {card.enp, *card.aliases}:
        return True
    if ctx.op is Op.P061:
        # OLD_PERSON may carry only the name; its absent DR/W are parsed as date.min/0 and say nothing.
        before = [d for d in (record.old_person, card.data if card else None) if d is not None]
        return any(d.dr not in (person.dr, date.min) or d.w not in (person.w, 0) for d in before)
    return False


@rule("301")
def snils_format(ctx: RuleContext) -> Iterator[Finding]:
    ss = ctx.record.person.ss
    if ss and _snils_error(ss) == "format":
        yield Finding(f"«{ss}»: нужно 11 цифр")


@rule("302")
def snils_check_number(ctx: RuleContext) -> Iterator[Finding]:
    ss = ctx.record.person.ss
    if ss and _snils_error(ss) == "check":
        yield Finding(f"«{ss}»")


@rule("303")
def snils_unique(ctx: RuleContext) -> Iterator[Finding]:
    ss = _bare_snils(ctx)
    if ss is not None and ctx.others(ctx.ref.snils_owners(ss)):
        yield Finding(f"СНИЛС «{ss}» уже в регистре у другого ЗЛ")


@rule("304")
def snils_present_for_adult(ctx: RuleContext) -> Iterator[Finding]:
    person = ctx.record.person
    adult_from = add_years(person.dr, SNILS_EXPECTED_FROM_AGE)
    if not person.ss and ctx.event_date >= adult_from:
        yield Finding(f"ЗЛ {SNILS_EXPECTED_FROM_AGE} лет и старше без СНИЛС")


@rule("305")
def enp_format(ctx: RuleContext) -> Iterator[Finding]:
    enp = _enp(ctx)
    if enp is not None and _enp_error(enp) == "format":
        yield Finding(f"«{enp}»: нужно 16 цифр")


@rule("306")
def enp_check_digit(ctx: RuleContext) -> Iterator[Finding]:
    enp = _enp(ctx)
    if enp is not None and _enp_error(enp) == "check":
        yield Finding(f"«{enp}»")


@rule("307")
def enp_facet(ctx: RuleContext) -> Iterator[Finding]:
    if _facet_mismatch(ctx) and not _marked_old(ctx) and not _mismatch_expected(ctx):
        person = ctx.record.person
        yield Finding(f"ЕНП «{_enp(ctx)}», DR {person.dr.isoformat()}, W={person.w}")


@rule("308")
def old_enp_facet(ctx: RuleContext) -> Iterator[Finding]:
    if _facet_mismatch(ctx) and _marked_old(ctx):
        person = ctx.record.person
        yield Finding(f"ЕНП «{_enp(ctx)}» (OLD_ENP=1), DR {person.dr.isoformat()}, W={person.w}")


@rule("309")
def enp_unique(ctx: RuleContext) -> Iterator[Finding]:
    enp = _enp(ctx)
    if enp is None or _enp_error(enp) is not None:
        return
    owner = ctx.ref.enp_owner(enp)
    if owner is not None and ctx.others({owner}):
        yield Finding(f"ЕНП «{enp}» уже в регистре у другого ЗЛ")


@rule("310")
def enp_required(ctx: RuleContext) -> Iterator[Finding]:
    if _enp(ctx) is None and ctx.op is not None and ctx.op is not Op.P010:
        yield Finding(f"операция {ctx.op.value} без ЕНП")


@rule("311")
def enp_of_the_person(ctx: RuleContext) -> Iterator[Finding]:
    """A ЕНП nobody owns, on a record about a known person, is a typo or a number from elsewhere.

    (If another person owns it, 309 says so; П024 exists precisely to correct a wrong ЕНП.)
    """
    enp, card = _enp(ctx), ctx.card
    if enp is None or card is None or card.enp is None or ctx.op is Op.P024 or _enp_error(enp) is not None:
        return
    if enp not in {card.enp, *card.aliases} and ctx.ref.enp_owner(enp) is None:
        yield Finding(f"ЕНП «{enp}», в регистре у ЗЛ «{card.enp}»")
