"""ФЕРЗЛ's events applied to the register, each exactly once (ФОМС's description v5.07 §3.2.3–4, §3.2.11–12, §5).

:func:`pull` takes the region's events of the days not yet taken in full, up to today, through an
asynchronous pair (``getChangesEventStart``/``Poll`` or ``getInsuranceStatusChangesStart``/``Poll``; at most
30 days a window, §3.2.3). An event carries who (ОИП, ЕНП) and what happened (the §5 code), not the new
values: the register reads the person's federal card (``getPersonData`` by ОИП) and applies the event
through its use cases (``domain/federal_events.py`` says which):

* 1П — a person ФЕРЗЛ registered (a birth from ЗАГС, a first choice made elsewhere): a new person of the
  register with the ЕНП and the policy ФЕРЗЛ formed; for a person the register holds, as a policy event;
* ФСМ / ОФСМ — ``vital.record_death`` / ``vital.cancel_death`` (the same death from ЗАГС counts once);
* ЗДАДРС, ИЗЕРН, ИСПРОШ — names, documents, СНИЛС from the federal card (``manual.apply_federal``, pins kept);
* РАБ / НЕРАБ — the working status: the category (V013) moves between its working and non-working twin;
* ЗСМО, ЗПБЗСМО, ДИРОПРСМО, ПРОДЛЕН, ВОССТ — the federal policy becomes the register's (new period, the old
  СМО told by STOPLIST);
* ПРИОСТ, СДАЧУТР — insurance suspended, ЕНП kept; ОПОМС — insurance ended;
* merges, splits, attachments — kept for an operator (``review``); НИЛ, НР, consent — noted.

An event is identified by ОИП|event|dt (the document gives no id); each is applied in one transaction
together with its row in ``federal_event``, so a repeated delivery changes nothing, an unknown code is
kept (``unknown_code``) and never dropped, and a worker killed mid-window loses nothing: the window's
operation token is saved as soon as it starts, the next run polls it again and skips what it took.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Protocol

from rserz_soap.db.notices import NewCorrection
from rserz_soap.db.persons import VersionMeta
from rserz_soap.db.uow import UnitOfWork
from rserz_soap.domain import federal_events as ev
from rserz_soap.domain.federal import ChangeEvent, FederalPerson, FederalPolicy, FormedPolicy
from rserz_soap.domain.operations import StopNotice
from rserz_soap.domain.person import Document, InsurancePeriod, PersonCard, PersonData, Status, StopReason
from rserz_soap.domain.policy_types import LETTERS, f008_of
from rserz_soap.usecases import manual, vital

log = logging.getLogger(__name__)

ACTOR = "ferzl:events"
CHANGES = "getChangesEvent"
STATUS_CHANGES = "getInsuranceStatusChanges"
FEEDS = (CHANGES, STATUS_CHANGES)
#: the longest window one pull asks for (§3.2.3: dtFrom…dtTo at most 30 days)
MAX_DAYS = 30
#: how far back the first pull of a feed reaches
FIRST_PULL_DAYS = 1


class EventsPort(Protocol):
    def events(
        self, terr: str, dfrom: date, dto: date, *, token: str | None = None
    ) -> tuple[str, list[ChangeEvent] | None]: ...

    def status_changes(
        self, terr: str, dfrom: date, dto: date, *, token: str | None = None
    ) -> tuple[str, list[ChangeEvent] | None]: ...

    def person(
        self, *, oip: str | None = None, enp: str | None = None, on: date | None = None
    ) -> FederalPerson | None: ...


@dataclass
class PullReport:
    feed: str
    window: tuple[date, date] | None = None
    events: int = 0
    duplicates: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)


def pull(
    uow: UnitOfWork,
    federal: EventsPort,
    terr: str,
    *,
    today: date,
    feed: str = CHANGES,
    wait: Any = None,
    max_polls: int = 600,
) -> PullReport:
    """Take one feed's events of the days not yet taken, up to ``today`` (raises FederalUnavailable while
    ФЕРЗЛ cannot answer: nothing is lost, the next run resumes the same operation)."""
    import time

    sleep = wait or time.sleep
    report = PullReport(feed)
    with uow:
        window = uow.federal_events.window(feed, lock=True)
    if window.op_token is not None and window.window_from and window.window_to:
        dfrom, dto, token = window.window_from, window.window_to, window.op_token
    else:
        start = (
            window.done_until + timedelta(days=1) if window.done_until else today - timedelta(FIRST_PULL_DAYS)
        )
        dfrom, dto, token = max(start, today - timedelta(days=MAX_DAYS)), today, None
    report.window = (dfrom, dto)
    ask = federal.events if feed == CHANGES else federal.status_changes
    items: list[ChangeEvent] | None = None
    for _ in range(max_polls):
        token, items = ask(terr, dfrom, dto, token=token)
        if window.op_token != token:
            with uow:
                uow.federal_events.started(feed, dfrom, dto, token)
            window = dataclasses.replace(window, op_token=token)
        if items is not None:
            break
        sleep(0.2)
    if items is None:
        from rserz_soap.usecases.federal_port import FederalUnavailable

        raise FederalUnavailable(f"ФЕРЗЛ {feed}: the operation is not done")
    for event in items:
        outcome = take(uow, federal, event, feed)
        if outcome is None:
            report.duplicates += 1
        else:
            report.events += 1
            report.outcomes[outcome] += 1
    with uow:  # days before today are complete now; today is asked again next time (repeats skipped)
        uow.federal_events.finished(
            feed, max(dfrom - timedelta(days=1), today - timedelta(days=1)), report.events
        )
    return report


def take(uow: UnitOfWork, federal: EventsPort, event: ChangeEvent, feed: str) -> str | None:
    """Apply one event once; its outcome, or None when it was taken before."""
    with uow:
        if uow.federal_events.seen(event.key):
            return None
    action = ev.action_of(event.event)
    fed = None
    if action not in (None, ev.NOTED, ev.REVIEW):
        fed = federal.person(oip=event.oip)  # before the transaction: no network call holds row locks
    with uow:
        events = uow.federal_events
        if not events.first_delivery(event.key, event.oip, event.enp, event.event, event.dt, feed):
            return None
        person_id, outcome, detail = _apply(uow, event, action, fed)
        events.outcome(event.key, person_id, outcome, detail)
        return outcome


def _apply(
    uow: UnitOfWork, event: ChangeEvent, action: str | None, fed: FederalPerson | None
) -> tuple[int | None, str, str | None]:
    if action is None:
        return None, "unknown_code", f"§5 does not list the event «{event.event}»: for an operator"
    if action == ev.NOTED:
        return None, "noted", ev.EVENTS[event.event].meaning
    card = _card(uow, event, fed)
    if action == ev.REVIEW:
        return (card.person_id if card else None), "review", ev.EVENTS[event.event].meaning
    if fed is None:
        return (card.person_id if card else None), "review", "ФЕРЗЛ has no card for this ОИП now"
    reason = f"событие ФЕРЗЛ {event.event} от {event.dt} (ОИП {event.oip})"
    if card is None:
        if action == ev.BIRTH_OR_FIRST:
            pid = register_from_federal(uow, fed, reason)
            return pid, "applied", "a new person (ЕНП and policy formed by ФЕРЗЛ)"
        return None, "unknown_person", f"ЕНП {event.enp or fed.enp} is not in the register"
    assert card.person_id is not None
    pid = card.person_id
    source = vital.EventSource("ferzl", reason, ACTOR)
    if action == ev.DEATH:
        if fed.ddeath is None:
            return pid, "review", "ФСМ, but the federal card has no death date"
        return pid, str(vital.record_death(uow, pid, fed.ddeath, source)), None
    if action == ev.DEATH_CANCELLED:
        return pid, str(vital.cancel_death(uow, pid, source)), None
    if action == ev.DATA:
        outcome, fields = apply_federal_person(uow, card, fed, reason=reason)
        return pid, outcome, ", ".join(fields) or None
    if action in (ev.WORKING, ev.NOT_WORKING):
        kateg = working_twin(card.data.kateg, working=action == ev.WORKING)
        if kateg == card.data.kateg:
            return pid, "unchanged", None
        result = manual.apply_federal(
            uow, pid, {"kateg": kateg}, actor=ACTOR, reason=reason, respect_pins=True, source_kind="ferzl"
        )
        return pid, "applied" if result.changed else "kept_pinned", f"kateg {card.data.kateg} → {kateg}"
    if action == ev.SUSPENSION:
        if card.status is Status.INSURED and _active(fed) is not None:
            # ФЕРЗЛ holds an active policy again (a военкомат's discharge list restored it since): stale
            return pid, "unchanged", "ФЕРЗЛ's card holds an active policy now: the suspension was lifted"
        return pid, suspend(uow, pid, _day(event), f"ФЕРЗЛ:{event.event}", reason), None
    if action == ev.END:
        return pid, end_insurance(uow, pid, _day(event), reason), None
    # a policy event (1П of a known person included): the federal policy becomes the register's
    return pid, take_federal_policy(uow, card, fed, event.event, reason), None


def _day(event: ChangeEvent) -> date:
    return date.fromisoformat(event.dt[:10])


def _card(uow: UnitOfWork, event: ChangeEvent, fed: FederalPerson | None) -> PersonCard | None:
    enps = [e for e in (event.enp, fed.enp if fed else None) if e]
    if fed is not None:
        enps += [p.enp for p in fed.policies if p.enp]
    for enp in dict.fromkeys(enps):
        card = uow.persons.card_by_enp(enp)
        if card is not None:
            return card
    return None


def working_twin(kateg: int, *, working: bool) -> int:
    """V013: 1–5 working, 6–10 the same groups not working; 11/12 stateless temporarily resident."""
    if working:
        return kateg - 5 if 6 <= kateg <= 10 else 11 if kateg == 12 else kateg
    return kateg + 5 if 1 <= kateg <= 5 else 12 if kateg == 11 else kateg


def federal_period(fed: FederalPerson, policy: FederalPolicy, okato: str) -> InsurancePeriod:
    """A federal policy as a period of the register (its letter mapped to F008, numbered as §3.2.6 says)."""
    letter = policy.policy_type if policy.policy_type in LETTERS else "Ц"
    enp = policy.enp or fed.enp
    number = policy.num if letter in ("С", "В", "Е", "К") and policy.num else enp
    return InsurancePeriod(
        smo_code=policy.smo,
        ter_st=okato,
        enp=enp,
        vpolis=f008_of(letter),
        npolis=number or enp,
        dbeg=policy.dbeg,
        spolis=policy.ser,
        dend=policy.dend if (policy.status or "").startswith("Д") else None,
    )


def _active(fed: FederalPerson) -> FederalPolicy | None:
    active = [p for p in fed.policies if (p.status or "").startswith("Д")]
    return max(active, key=lambda p: p.dbeg) if active else None


def register_from_federal(uow: UnitOfWork, fed: FederalPerson, reason: str) -> int:
    """A person ФЕРЗЛ registered (1П: a birth from ЗАГС): the register's card from the federal one."""
    policy = _active(fed)
    data = PersonData(
        fam=fed.fam or "", im=fed.im or "", ot=fed.ot, w=fed.w, dr=fed.dr, ss=fed.ss,
        kateg=1 if fed.social_status == "0" else 6,
    )  # fmt: skip
    docs = frozenset(dataclasses.replace(d, is_main=d.is_main) for d in fed.documents)
    periods = frozenset({federal_period(fed, policy, "")}) if policy else frozenset()
    card = PersonCard(
        data=data,
        status=Status.INSURED if policy else Status.NOT_INSURED,
        documents=docs,
        insurance=periods,
        enp=(policy.enp if policy and policy.enp else fed.enp),
    )
    valid = policy.dbeg if policy else fed.dr
    saved = uow.persons.save(
        None, card, VersionMeta("ФЕРЗЛ:1П", "ferzl", "ferzl", valid, actor=ACTOR, reason=reason[:500])
    )
    return saved.person_id


def take_federal_policy(uow: UnitOfWork, card: PersonCard, fed: FederalPerson, code: str, reason: str) -> str:
    """Make the register's open period the federal active policy (a new СМО, an extension, a restoration)."""
    assert card.person_id is not None
    policy = _active(fed)
    if policy is None:
        return "unchanged"
    stored = uow.persons.load(card.person_id, for_update=True)
    card = stored.card
    ours = card.open_period()
    okato = ours.ter_st if ours else next((q.ter_st for q in card.insurance), "")
    new = federal_period(fed, policy, okato)
    same = ours is not None and (ours.smo_code, ours.dbeg, ours.npolis) == (
        new.smo_code,
        new.dbeg,
        new.npolis,
    )
    if same and card.status is Status.INSURED:
        return "unchanged"
    periods = [q for q in card.insurance if q is not ours]
    notices: tuple[StopNotice, ...] = ()
    if ours is not None:
        why = StopReason.VS_BY_OTHER_SMO if ours.smo_code != new.smo_code else StopReason.REISSUED
        periods.append(ours.stopped(max(ours.dbeg, new.dbeg), why))
        if ours.smo_code != new.smo_code:
            notices = (StopNotice(ours.smo_code, card.enp or new.enp, why, new.dbeg),)
    after = card.with_periods([*periods, new]).replace(status=Status.INSURED, enp=card.enp or new.enp)
    meta = VersionMeta(f"ФЕРЗЛ:{code}", "ferzl", "ferzl", new.dbeg, actor=ACTOR, reason=reason[:500])
    uow.persons.save(stored, after, meta, notices)
    return "applied"


def suspend(
    uow: UnitOfWork, person_id: int, on: date, operation: str, reason: str, source: str = "ferzl"
) -> str:
    """Insurance suspended from ``on`` (military service, 326-ФЗ art. 10): the ЕНП is kept, the open period
    stops, the insurer gets its STOPLIST entry. Suspended already: nothing changes."""
    with uow:
        stored = uow.persons.load(person_id, for_update=True)
        card = stored.card
        if card.status is Status.SUSPENDED:
            return "unchanged"
        if card.status in (Status.DEAD, Status.MERGED, Status.ANNULLED):
            return "review"
        ours = card.open_period()
        periods = [q.stopped(max(q.dbeg, on), StopReason.OTHER) if q is ours else q for q in card.insurance]
        notices = (StopNotice(ours.smo_code, card.enp or ours.enp, StopReason.OTHER, on),) if ours else ()
        after = card.with_periods(periods).replace(status=Status.SUSPENDED)
        meta = VersionMeta(
            operation, source, source, on, actor=ACTOR if source == "ferzl" else source, reason=reason[:500]
        )
        uow.persons.save(stored, after, meta, notices)
        return "applied"


def resume(
    uow: UnitOfWork,
    person_id: int,
    on: date,
    formed: FormedPolicy | None,
    operation: str,
    reason: str,
    source: str = "ferzl",
) -> str:
    """Insurance resumed from ``on`` after military service (ВОССТ, §3.3.1 case 2): a new open period with
    the same ЕНП and the СМО of the suspended period — the policy ФЕРЗЛ formed (``formed``), else the
    suspended one reopened. The СМО is told by its RECLIST (``getCorrections``) and sees the new period in
    its changes (``getChanges``).

    ``unchanged`` when it was resumed from ``on`` already; ``not_suspended`` when the insurance is not
    suspended; ``review`` for a dead, merged or annulled person."""
    with uow:
        stored = uow.persons.load(person_id, for_update=True)
        card = stored.card
        ours = card.open_period()
        if card.status is Status.INSURED and ours is not None and ours.dbeg == on:
            return "unchanged"
        if card.status in (Status.DEAD, Status.MERGED, Status.ANNULLED):
            return "review"
        if card.status is not Status.SUSPENDED or not card.insurance:
            return "not_suspended"
        last = max(card.insurance, key=lambda q: q.dbeg)
        enp = card.enp or last.enp
        if formed is not None:
            letter = formed.pcy_type if formed.pcy_type in LETTERS else "Ц"
            new = InsurancePeriod(
                smo_code=formed.smo or last.smo_code,
                ter_st=last.ter_st,
                enp=enp,
                vpolis=f008_of(letter),
                npolis=formed.num if letter in ("С", "В", "Е", "К") and formed.num else enp,
                dbeg=on,
                spolis=formed.ser,
                dend=formed.dend,
            )
        else:
            new = dataclasses.replace(last, dbeg=on, dstop=None, stop_reason=None, dend=last.dend)
        periods = [q.stopped(max(q.dbeg, on), StopReason.OTHER) if q is ours else q for q in card.insurance]
        after = card.with_periods([*periods, new]).replace(status=Status.INSURED, enp=enp)
        meta = VersionMeta(
            operation, source, source, on, actor=ACTOR if source == "ferzl" else source, reason=reason[:500]
        )
        saved = uow.persons.save(stored, after, meta)
        # RECLIST: the insurer learns that the fund restored its insured person's policy
        uow.notices.add_correction(
            NewCorrection(
                new.smo_code, person_id, saved.version_id, operation, 1, None, f"с {on}: {reason}"[:500]
            )
        )
        return "applied"


def end_insurance(uow: UnitOfWork, person_id: int, on: date, reason: str) -> str:
    """ОПОМС: the entitlement ended, the policy is invalid from ``on``."""
    with uow:
        stored = uow.persons.load(person_id, for_update=True)
        card = stored.card
        ours = card.open_period()
        if ours is None:
            return "unchanged"
        periods = [q.stopped(max(q.dbeg, on), StopReason.OTHER) if q is ours else q for q in card.insurance]
        after = card.with_periods(periods).replace(status=Status.NOT_INSURED)
        notices = (StopNotice(ours.smo_code, card.enp or ours.enp, StopReason.OTHER, on),)
        uow.persons.save(
            stored,
            after,
            VersionMeta("ФЕРЗЛ:ОПОМС", "ferzl", "ferzl", on, actor=ACTOR, reason=reason[:500]),
            notices,
        )
        return "applied"


def apply_federal_person(
    uow: UnitOfWork, card: PersonCard, fed: FederalPerson, *, reason: str, actor: str = ACTOR
) -> tuple[str, list[str]]:
    """Make the card hold the federal names, sex, birth date, СНИЛС and main document, pins respected."""
    assert card.person_id is not None
    with uow:
        values = correctable_values(card, fed)
        if not values:
            return "unchanged", []
        result = manual.apply_federal(
            uow, card.person_id, values, actor=actor, reason=reason, respect_pins=True, source_kind="ferzl"
        )
        touched = list(result.changed) + [f"{name} (закреплено)" for name in result.skipped_pinned]
        if result.changed:
            return "applied", touched
        return ("kept_pinned" if result.skipped_pinned else "unchanged"), touched


def correctable_values(card: PersonCard, fed: FederalPerson) -> dict[str, Any]:
    """The federal values of the fields ``manual.apply_federal`` sets, where they differ from the card."""
    d = card.data
    out: dict[str, Any] = {}
    for name, ours in (("fam", d.fam), ("im", d.im), ("ot", d.ot), ("w", d.w), ("dr", d.dr), ("ss", d.ss)):
        theirs = fed.card_value(name)
        if theirs is not None and (ours or None) != theirs:
            out[name] = theirs
    doc, fdoc = card.main_document(), fed.card_value("document")
    if isinstance(fdoc, Document) and (doc is None or doc.key != fdoc.key):
        out["document"] = fdoc
    return out
