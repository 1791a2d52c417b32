"""Operations П010…П063 as state transitions of a person's card.

One function per group of operations, all pure: ``apply_operation(card, record, ctx)`` returns the new
card and the stop-list notices the change owes to other СМО. Preconditions are checked by the ФЛК state
rules (codes 5xx) before anything is applied; the transitions check them again and raise
:class:`OperationRefused`, so a record that slipped past the checks can still never corrupt a card.

Two rules of the exchange shape the transitions beyond R001's wording:

* The old СМО answers a STOPLIST: once the hub closes a period (another СМО took the person, ЗАГС reported a
  death, duplicates were merged, military service began), the СМО's software sends П021/П022/П023/П025 for
  that period (I_Policies). Such a record confirms what the register already holds: the transition is
  :attr:`Transition.confirmed`, changes nothing and owes nobody a notice (:func:`confirmed_period`).
* A change of СМО with a new policy (П034–П036) closes the old period with stop reason 4 (the new СМО
  issued its own ВС/policy); without a new policy (П031–П033) the reason says why the person changed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from rserz_soap.domain.federal import FormedPolicy
from rserz_soap.domain.person import (
    Address,
    Attachment,
    InsurancePeriod,
    PersonCard,
    PolicyType,
    Status,
    StopReason,
)
from rserz_soap.domain.policy_types import f008_of
from rserz_soap.domain.records import Op, OperationRecord


class OperationRefused(Exception):
    """The operation is not allowed in the person's current state."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True)
class OperationContext:
    """``allocate_enp``: the region's own numbering, only for an isolated stand (federal-first off); with
    federal-first on it is None and a new person's ЕНП stays unknown until ФЕРЗЛ forms it. ``formed``: the
    policy ФЕРЗЛ formed for this operation (``createdPcy``) — the new period is that policy, never the one
    the СМО's record names (since 2022-12-01 the register issues no policy of its own)."""

    submitter_smo: str
    today: date
    allocate_enp: Callable[[date, int], str] | None  # (birth date, sex) -> a fresh ЕНП of the region
    formed: FormedPolicy | None = None


@dataclass(frozen=True)
class StopNotice:
    """A STOPLIST entry owed to ``smo_code``: its insurance of this person stopped."""

    smo_code: str
    enp: str
    reason: int
    stop_date: date


@dataclass(frozen=True)
class Transition:
    """The card before and after an operation; ``confirmed``: the record only confirms the card as it is
    (the old СМО's answer to its STOPLIST), so ``after`` is ``before`` and nothing is to be stored."""

    before: PersonCard | None
    after: PersonCard
    operation: Op
    valid_from: date
    stop_notices: tuple[StopNotice, ...] = ()
    confirmed: bool = False


# Codes shared with the ФЛК directory (group 5xx: operation vs the person's state).
UNKNOWN_PERSON = "501"
ALREADY_INSURED = "502"
PERSON_DEAD = "503"
NOT_INSURED_BY_SUBMITTER = "504"
NOT_INSURED_ELSEWHERE = "505"
NO_OPEN_VS = "510"
PERSON_INACTIVE = "512"
UNKNOWN_OPERATION = "513"

_CHANGE_REASON = {
    Op.P031: StopReason.YEARLY_CHANGE,
    Op.P034: StopReason.VS_BY_OTHER_SMO,
    Op.P032: StopReason.MOVED,
    Op.P035: StopReason.VS_BY_OTHER_SMO,
    Op.P033: StopReason.OTHER,
    Op.P036: StopReason.VS_BY_OTHER_SMO,
}
_NEW_POLICY = {Op.P034, Op.P035, Op.P036}
#: De-registrations the old СМО sends in answer to a STOPLIST (П024 corrects a ЕНП and is never an answer).
CONFIRMS_STOP = frozenset({Op.P021, Op.P022, Op.P023, Op.P025})
_DEREGISTRATION = {
    Op.P021: (StopReason.OTHER, Status.NOT_INSURED),
    Op.P022: (StopReason.DEATH, Status.DEAD),
    Op.P023: (StopReason.DUPLICATE, Status.ANNULLED),
    Op.P024: (StopReason.OTHER, Status.ANNULLED),
    Op.P025: (StopReason.OTHER, Status.SUSPENDED),
}
_REISSUE = {Op.P060, Op.P061, Op.P062, Op.P063}


def confirmed_period(card: PersonCard | None, rec: OperationRecord, smo_code: str) -> InsurancePeriod | None:
    """The closed period of ``smo_code`` that a de-registration from it confirms, or None.

    A confirmation is a П021/П022/П023/П025 from an СМО that no longer holds the person's open period but
    held one the hub has closed. When the record names its policy (``NPOLIS``) that period is the one; else
    the СМО's latest closed period.
    """
    if card is None or rec.operation not in CONFIRMS_STOP:
        return None
    current = card.open_period()
    if current is not None and current.smo_code == smo_code:
        return None  # the СМО still insures the person: a real de-registration
    closed = sorted(
        (p for p in card.insurance if p.smo_code == smo_code and p.dstop is not None),
        key=lambda p: p.dstop or date.min,
    )
    policy = rec.insurance.policy
    if policy is not None and policy.npolis:
        named = [p for p in closed if p.npolis == policy.npolis or p.enp == policy.npolis]
        closed = named or closed
    return closed[-1] if closed else None


def apply_operation(card: PersonCard | None, rec: OperationRecord, ctx: OperationContext) -> Transition:
    op = rec.operation
    if op is None:
        raise OperationRefused(UNKNOWN_OPERATION, f"unknown operation {rec.op!r}")
    confirmed = confirmed_period(card, rec, ctx.submitter_smo)
    if card is not None and confirmed is not None:  # the old СМО's answer to its STOPLIST
        assert confirmed.dstop is not None
        return Transition(card, card, op, confirmed.dstop, confirmed=True)
    if card is not None and card.status in (Status.MERGED, Status.ANNULLED):
        raise OperationRefused(PERSON_INACTIVE, f"the person's record is {card.status.value}")
    if op is Op.P010:
        return _first_choice(card, rec, ctx)
    known = _require_known(card)
    if known.status is Status.DEAD:
        raise OperationRefused(PERSON_DEAD, "the person is dead")
    if op in _DEREGISTRATION:
        return _deregister(known, rec, ctx, op)
    if op in _CHANGE_REASON:
        return _change_smo(known, rec, ctx, op)
    if op is Op.P040:
        return _change_data(known, rec, op)
    return _reissue(known, rec, ctx, op)


def _first_choice(card: PersonCard | None, rec: OperationRecord, ctx: OperationContext) -> Transition:
    if card is not None and card.status is Status.DEAD:
        raise OperationRefused(PERSON_DEAD, "the person is dead")
    if card is not None and card.open_period() is not None:
        raise OperationRefused(ALREADY_INSURED, "the person is insured: a change of СМО is П031–П036")
    base = card or PersonCard(data=rec.person)
    enp = base.enp or rec.insurance.enp
    if ctx.formed is not None:
        enp = ctx.formed.enp
    elif enp is None and ctx.allocate_enp is not None:
        enp = ctx.allocate_enp(rec.person.dr, rec.person.w)
    after = _with_record_data(base, rec).replace(enp=enp, status=Status.INSURED)
    period = _period(rec, enp or "", ctx)
    after = after.with_periods([*after.insurance, period])
    return Transition(card, after, Op.P010, period.dbeg if ctx.formed else rec.event_date)


def _deregister(card: PersonCard, rec: OperationRecord, ctx: OperationContext, op: Op) -> Transition:
    period = _open_period_of(card, ctx.submitter_smo)
    reason, status = _DEREGISTRATION[op]
    stop = rec.event_date
    attachments = card.attachments
    ddeath = card.ddeath
    if op is Op.P022:
        stop = rec.ddeath or rec.event_date
        ddeath = stop
        attachments = frozenset(_closed_attachment(a, stop) for a in card.attachments)
    after = card.replace(status=status, ddeath=ddeath, attachments=attachments)
    after = after.with_periods(_replace(card.insurance, period, period.stopped(stop, reason)))
    return Transition(card, after, op, stop, _notice(period, card, reason, stop, ctx))


def _change_smo(card: PersonCard, rec: OperationRecord, ctx: OperationContext, op: Op) -> Transition:
    previous = card.open_period()
    if previous is None or previous.smo_code == ctx.submitter_smo:
        raise OperationRefused(NOT_INSURED_ELSEWHERE, "a change of СМО needs insurance in another СМО")
    start = rec.event_date
    reason = _CHANGE_REASON[op]
    if op in _NEW_POLICY or ctx.formed is not None:
        new = _period(rec, _enp(card), ctx)
    else:  # the policy (ЕНП, number, form) stays; only the insurer and the dates change
        new = dataclasses.replace(
            previous,
            smo_code=rec.insurance.smo_code,
            ogrnsmo=rec.insurance.ogrnsmo,
            dbeg=start,
            dstop=None,
            stop_reason=None,
            rsmo=rec.visit.rsmo if rec.visit else None,
            rpolis=None,
            method=rec.visit.method if rec.visit else None,
        )
    periods = [*_replace(card.insurance, previous, previous.stopped(start, reason)), new]
    after = _with_record_data(card, rec).replace(status=Status.INSURED).with_periods(periods)
    return Transition(card, after, op, start, _notice(previous, card, reason, start, ctx))


def _change_data(card: PersonCard, rec: OperationRecord, op: Op) -> Transition:
    _open_period_of(card, rec.insurance.smo_code)
    return Transition(card, _with_record_data(card, rec), op, rec.event_date)


def _reissue(card: PersonCard, rec: OperationRecord, ctx: OperationContext, op: Op) -> Transition:
    assert op in _REISSUE
    previous = _open_period_of(card, ctx.submitter_smo)
    if op is Op.P060 and previous.vpolis != PolicyType.VS:
        raise OperationRefused(NO_OPEN_VS, "П060 needs an open ВС")
    new = _period(rec, _enp(card), ctx)
    periods = [*_replace(card.insurance, previous, previous.stopped(new.dbeg, StopReason.REISSUED)), new]
    base = _with_record_data(card, rec) if op is not Op.P060 or rec.documents else card
    if ctx.formed is not None and ctx.formed.enp != card.enp:  # §3.3.1 cases 5–7: sex or birth date changed
        base = base.replace(enp=ctx.formed.enp)
    return Transition(card, base.with_periods(periods), op, new.dbeg)


def _require_known(card: PersonCard | None) -> PersonCard:
    if card is None:
        raise OperationRefused(UNKNOWN_PERSON, "the person is not in the register")
    return card


def _open_period_of(card: PersonCard, smo_code: str) -> InsurancePeriod:
    period = card.open_period()
    if period is None or period.smo_code != smo_code:
        raise OperationRefused(NOT_INSURED_BY_SUBMITTER, f"the person is not insured by СМО {smo_code}")
    return period


def _enp(card: PersonCard) -> str:
    assert card.enp is not None, "a registered person always has a main ЕНП"
    return card.enp


def _period(rec: OperationRecord, enp: str, ctx: OperationContext) -> InsurancePeriod:
    """The new period: the policy ФЕРЗЛ formed when there is one, else the record's (isolated stand, or
    the check before the application is sent)."""
    formed = ctx.formed
    if formed is None:
        return _new_period(rec, enp)
    return InsurancePeriod(
        smo_code=formed.smo or rec.insurance.smo_code,
        ter_st=formed.okato or rec.insurance.ter_st,
        enp=formed.enp,
        vpolis=f008_of(formed.pcy_type),
        npolis=formed.num or formed.enp,
        dbeg=formed.dbeg,
        spolis=formed.ser,
        ogrnsmo=rec.insurance.ogrnsmo,
        dend=formed.dend,
        rsmo=rec.visit.rsmo if rec.visit else None,
        rpolis=rec.visit.rpolis if rec.visit else None,
        method=rec.visit.method if rec.visit else None,
    )


def _new_period(rec: OperationRecord, enp: str) -> InsurancePeriod:
    policy = rec.insurance.policy
    if policy is None:
        raise OperationRefused("402", "the operation needs INSURANCE/POLIS")
    return InsurancePeriod(
        smo_code=rec.insurance.smo_code,
        ter_st=rec.insurance.ter_st,
        enp=enp,
        vpolis=policy.vpolis,
        npolis=policy.npolis,
        dbeg=policy.dbeg,
        spolis=policy.spolis,
        ogrnsmo=rec.insurance.ogrnsmo,
        dend=policy.dend,
        rsmo=rec.visit.rsmo if rec.visit else None,
        rpolis=rec.visit.rpolis if rec.visit else None,
        method=rec.visit.method if rec.visit else None,
    )


def _with_record_data(card: PersonCard, rec: OperationRecord) -> PersonCard:
    """The person's data, documents and addresses as the record states them (absent parts are kept)."""
    addresses = {a.kind: a for a in card.addresses}
    for new in (rec.address_g, rec.address_p):
        if new is not None:
            addresses[new.kind] = new
    documents = frozenset(rec.documents) if rec.documents else card.documents
    return card.replace(
        data=rec.person, documents=documents, addresses=frozenset[Address](addresses.values())
    )


def _closed_attachment(a: Attachment, on: date) -> Attachment:
    return a if a.date_out is not None and a.date_out <= on else dataclasses.replace(a, date_out=on)


def _replace(
    periods: frozenset[InsurancePeriod], old: InsurancePeriod, new: InsurancePeriod
) -> list[InsurancePeriod]:
    return [new if p == old else p for p in periods]


def _notice(
    period: InsurancePeriod, card: PersonCard, reason: int, stop: date, ctx: OperationContext
) -> tuple[StopNotice, ...]:
    """The previous insurer learns that its insurance stopped, unless it is the one who stopped it."""
    if period.smo_code == ctx.submitter_smo:
        return ()
    return (StopNotice(period.smo_code, card.enp or period.enp, reason, stop),)


def record_death(card: PersonCard, ddeath: date) -> Transition:
    """A death reported by an outside register (ФЕРЗЛ, ЗАГС), not by an СМО's П022.

    The same facts as П022 — dead from ``ddeath``, the open insurance stopped for death, attachments closed —
    and the insurer always gets its STOPLIST notice, because it did not stop the insurance itself."""
    if card.status is Status.DEAD and card.ddeath == ddeath:
        raise OperationRefused(PERSON_DEAD, "the death is already recorded")
    period = card.open_period()
    after = card.replace(
        status=Status.DEAD,
        ddeath=ddeath,
        attachments=frozenset(_closed_attachment(a, ddeath) for a in card.attachments),
    )
    notices: tuple[StopNotice, ...] = ()
    if period is not None:
        after = after.with_periods(_replace(card.insurance, period, period.stopped(ddeath, StopReason.DEATH)))
        notices = (StopNotice(period.smo_code, card.enp or period.enp, StopReason.DEATH, ddeath),)
    return Transition(card, after, Op.P022, ddeath, notices)
