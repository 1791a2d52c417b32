"""5xx — the operation against the person's current state in the register.

These are the preconditions of the transitions in :mod:`rserz_soap.domain.operations` (which share the
codes 501–505, 510, 512, 513 and refuse again, so a record that slipped past the checks still cannot
corrupt a card). Checking them here too means a СМО learns every problem of a record in one protocol,
with the directory's wording, instead of the first refusal of a transition.

"Submitting СМО" is the record's ``INSURANCE`` СМО. In this model an insurance period's ``rsmo`` holds the
reason it was opened, so "already changed by wish this year" is a period with ``rsmo`` 2 that started in
the event's calendar year.

The old СМО's answer to a STOPLIST (П021/П022/П023/П025 for a period the hub has already closed) is a
confirmation, not a de-registration: the rules that would refuse it (503, 504, 512, 514) stand aside for it
(:func:`rserz_soap.domain.operations.confirmed_period`), and the transition changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

from rserz_soap.domain.flk.rules import (
    Finding,
    RuleContext,
    fmt_date,
    is_dead,
    living_card,
    open_period_of,
    owner_smo,
    rule,
)
from rserz_soap.domain.operations import confirmed_period
from rserz_soap.domain.person import PersonCard, PersonData, PolicyType, Status
from rserz_soap.domain.records import BY_WISH, Op

#: Operations on the person's insurance in the submitting СМО: it must hold their open period.
NEEDS_OWN_PERIOD: Final = frozenset(
    {
        Op.P021,
        Op.P022,
        Op.P023,
        Op.P024,
        Op.P025,
        Op.P040,
        Op.P060,
        Op.P061,
        Op.P062,
        Op.P063,
    }
)
CHANGES_SMO: Final = frozenset({Op.P031, Op.P032, Op.P033, Op.P034, Op.P035, Op.P036})
CONTRACT_ENDED: Final = frozenset({Op.P033, Op.P036})
RSMO_YEARLY_CHANGE: Final = 2
INACTIVE: Final = frozenset({Status.MERGED, Status.ANNULLED})


def _identity(data: PersonData) -> dict[str, str]:
    """Name, sex and birth date: what only П061 (new policy) may change. Letter case is no change."""
    return {
        "FAM": (data.fam or "").strip().casefold(),
        "IM": (data.im or "").strip().casefold(),
        "OT": (data.ot or "").strip().casefold(),
        "W": str(data.w),
        "DR": data.dr.isoformat(),
    }


def _confirms(ctx: RuleContext) -> bool:
    """The record is the old СМО's confirmation of a period the hub already closed."""
    return confirmed_period(ctx.card, ctx.record, ctx.submitter) is not None


def _changed(card: PersonCard, data: PersonData) -> list[str]:
    before, after = _identity(card.data), _identity(data)
    return [name for name in before if before[name] != after[name]]


@rule("501")
def person_known(ctx: RuleContext) -> Iterator[Finding]:
    if ctx.card is None and ctx.op is not None and ctx.op is not Op.P010:
        yield Finding(f"операция {ctx.op.value}: ЗЛ не найдено в регистре")


@rule("502")
def first_choice_not_insured(ctx: RuleContext) -> Iterator[Finding]:
    card = living_card(ctx)
    if ctx.op is Op.P010 and card is not None and (period := card.open_period()) is not None:
        yield Finding(
            f"ЗЛ застраховано в СМО «{period.smo_code}» с {fmt_date(period.dbeg)}; "
            "для смены СМО используйте П031–П036"
        )


@rule("503")
def person_alive(ctx: RuleContext) -> Iterator[Finding]:
    card = ctx.card
    if card is not None and card.status not in INACTIVE and is_dead(card) and ctx.op is not None:
        if _confirms(ctx):
            return
        when = f" {fmt_date(card.ddeath)}" if card.ddeath is not None else ""
        yield Finding(f"операция {ctx.op.value}: ЗЛ умерло{when}")


@rule("504")
def insured_by_submitter(ctx: RuleContext) -> Iterator[Finding]:
    card = living_card(ctx)
    if card is None or ctx.op not in NEEDS_OWN_PERIOD or open_period_of(card, ctx.submitter) is not None:
        return
    if _confirms(ctx):
        return
    current = owner_smo(card)
    where = f"застраховано в СМО «{current}»" if current else "не имеет открытого периода страхования"
    yield Finding(f"операция {ctx.record.op}: ЗЛ {where}, запись от СМО «{ctx.submitter}»")


@rule("505")
def insured_elsewhere(ctx: RuleContext) -> Iterator[Finding]:
    card = living_card(ctx)
    if card is None or ctx.op not in CHANGES_SMO:
        return
    current = owner_smo(card)
    if current is None:
        yield Finding(f"операция {ctx.record.op}: у ЗЛ нет открытого периода страхования; нужна П010")
    elif current == ctx.submitter:
        yield Finding(f"операция {ctx.record.op}: ЗЛ уже застраховано в СМО «{current}»")


@rule("506")
def once_a_year_by_wish(ctx: RuleContext) -> Iterator[Finding]:
    card = living_card(ctx)
    if card is None or ctx.op not in BY_WISH:
        return
    year = ctx.event_date.year
    earlier = [p for p in card.insurance if p.rsmo == RSMO_YEARLY_CHANGE and p.dbeg.year == year]
    if earlier:
        first = min(earlier, key=lambda p: p.dbeg)
        yield Finding(
            f"в {year} году СМО уже сменена по желанию: СМО «{first.smo_code}» с {fmt_date(first.dbeg)}"
        )


@rule("507")
def previous_contract_ended(ctx: RuleContext) -> Iterator[Finding]:
    card = living_card(ctx)
    if card is None or ctx.op not in CONTRACT_ENDED:
        return
    previous = owner_smo(card)
    if previous is None or previous == ctx.submitter:
        return  # 505
    smo = ctx.ref.smo(previous, ctx.event_date)
    if smo is not None:
        until = f" (F002: договор по {fmt_date(smo.date_end)})" if smo.date_end else ""
        yield Finding(f"СМО «{previous}» действует на {fmt_date(ctx.event_date)}{until}")


@rule("508")
def p040_keeps_identity(ctx: RuleContext) -> Iterator[Finding]:
    card = living_card(ctx)
    if card is not None and ctx.op is Op.P040 and (changed := _changed(card, ctx.record.person)):
        yield Finding(f"изменены {', '.join(changed)}: нужна операция П061", field=changed[0])


@rule("509")
def p061_changes_identity(ctx: RuleContext) -> Iterator[Finding]:
    card = living_card(ctx)
    if card is not None and ctx.op is Op.P061 and not _changed(card, ctx.record.person):
        yield Finding("ФИО, пол и дата рождения совпадают с регистром: нужна операция П040 или П062")


@rule("510")
def p060_needs_open_vs(ctx: RuleContext) -> Iterator[Finding]:
    card = living_card(ctx)
    if card is None or ctx.op is not Op.P060:
        return
    period = open_period_of(card, ctx.submitter)
    if period is not None and period.vpolis != PolicyType.VS:
        yield Finding(f"открытый полис СМО «{ctx.submitter}» — VPOLIS={period.vpolis}, не ВС")


@rule("511")
def single_open_period(ctx: RuleContext) -> Iterator[Finding]:
    card = ctx.card
    if card is None:
        return
    open_ = sorted((p for p in card.insurance if p.is_open), key=lambda p: p.dbeg)
    if len(open_) > 1:
        shown = ", ".join(f"«{p.smo_code}» с {fmt_date(p.dbeg)}" for p in open_)
        yield Finding(f"открытых периодов {len(open_)}: {shown}")


@rule("512")
def record_active(ctx: RuleContext) -> Iterator[Finding]:
    card = ctx.card
    if card is not None and card.status in INACTIVE and not _confirms(ctx):
        yield Finding(f"запись ЗЛ в статусе «{card.status.value}»")


@rule("513")
def operation_in_r001(ctx: RuleContext) -> Iterator[Finding]:
    if ctx.op is None or not ctx.ref.operation(ctx.record.op, ctx.event_date):
        yield Finding(f"TIP_OP «{ctx.record.op}» (R001 на {fmt_date(ctx.event_date)})")


@rule("514")
def not_suspended_twice(ctx: RuleContext) -> Iterator[Finding]:
    card = living_card(ctx)
    if card is not None and ctx.op is Op.P025 and card.status is Status.SUSPENDED and not _confirms(ctx):
        yield Finding("страхование ЗЛ уже приостановлено")
