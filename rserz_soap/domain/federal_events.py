"""ФЕРЗЛ's events that change a person (ФОМС's description v5.07 §5) and what the register does with each.

``getChangesEvent`` and ``getInsuranceStatusChanges`` (§3.2.11–12, §3.2.3–4) deliver ``enpChangedEvent``
items (``enp?``, ``oip``, ``event``, ``dt``) — no values: the register reads the person's current federal
card (``getPersonData`` by ОИП) and applies what the event says through its use cases. An event the table
does not know is kept for review, never dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

__all__ = ["ACTIONS", "EVENTS", "EventKind", "action_of"]

BIRTH_OR_FIRST = "first_registration"  # 1П: create the person (a birth from ЗАГС) or take the policy
DEATH = "death"  # ФСМ: vital.record_death
DEATH_CANCELLED = "death_cancelled"  # ОФСМ: vital.cancel_death
DATA = "data"  # names, documents, СНИЛС from the federal card (pins respected)
WORKING = "working"  # РАБ: socially working
NOT_WORKING = "not_working"  # НЕРАБ
POLICY = "policy"  # a new or changed policy: the federal policy becomes the register's
SUSPENSION = "suspension"  # ПРИОСТ, СДАЧУТР: insurance suspended, ЕНП kept
RESUMPTION = "resumption"  # ВОССТ
END = "end"  # ОПОМС: entitlement ended
REVIEW = "review"  # known, but for an operator (merges, splits, attachments decided elsewhere)
NOTED = "noted"  # known, changes nothing in the register (НИЛ, НР, consent, verification)

ACTIONS: Final = (
    BIRTH_OR_FIRST, DEATH, DEATH_CANCELLED, DATA, WORKING, NOT_WORKING, POLICY, SUSPENSION, RESUMPTION, END,
    REVIEW, NOTED,
)  # fmt: skip


@dataclass(frozen=True)
class EventKind:
    code: str
    meaning: str
    action: str


EVENTS: Final[Mapping[str, EventKind]] = {
    e.code: e
    for e in (
        EventKind("НЗР", "initial load of the regional ЕРЗ", NOTED),
        EventKind("1П", "first registration: first choice of СМО or ЗАГС birth data", BIRTH_OR_FIRST),
        EventKind("ЗСМО", "new policy with another СМО", POLICY),
        EventKind("ЗПБЗСМО", "new policy, same СМО, changed base data", POLICY),
        EventKind("ДИРОПРСМО", "directive assignment of an СМО", POLICY),
        EventKind("ПРОДЛЕН", "policy extended after its term", POLICY),
        EventKind(
            "СДАЧУТР", "surrender/loss; suspension on entering (equivalent) military service", SUSPENSION
        ),
        EventKind("ПРИОСТ", "suspension for conscript service", SUSPENSION),
        EventKind("ВОССТ", "restoration (after conscription or on application)", RESUMPTION),
        EventKind("ЗДАДРС", "ДУДЛ, СНИЛС, address or contact changed, insurance unchanged", DATA),
        EventKind("ФСМ", "death recorded", DEATH),
        EventKind("ОФСМ", "death record cancelled", DEATH_CANCELLED),
        EventKind("ИСПРОШ", "error correction", DATA),
        EventKind("ОПОМС", "end of ОМС entitlement, policy invalid", END),
        EventKind("СДУБЛ", "persons merged", REVIEW),
        EventKind("РОШДУБЛ", "person split", REVIEW),
        EventKind("ИЗЕРН", "data changed from ЕРН", DATA),
        EventKind("ПРИКРМО", "attachment to an МО", REVIEW),
        EventKind("ПРИКРМР", "attachment to a medical worker", REVIEW),
        EventKind("ДИРПРКМО", "directive attachment (МО closed)", REVIEW),
        EventKind("СОЗДНИЛМО", "НИЛ created by an МО operator", NOTED),
        EventKind("СОЗДНИЛРОЖД", "НИЛ from a medical birth certificate", NOTED),
        EventKind("СОЗДНИЛСМЕРТ", "НИЛ from a perinatal death certificate", NOTED),
        EventKind("РЕДНИЛМО", "НИЛ edited by an МО", NOTED),
        EventKind("РЕШНИЛ", "decision on a НИЛ's identification", NOTED),
        EventKind("РЕДВЕРНИЛ", "НИЛ edited: new СЭМД version", NOTED),
        EventKind("РЕДСМЕРТНИЛ", "НИЛ edited: perinatal death after live birth", NOTED),
        EventKind("СОЗДНРРОЖД", "НР from a birth certificate", NOTED),
        EventKind("СОЗДНРСМЕРТ", "НР from a perinatal death certificate", NOTED),
        EventKind("РЕДВЕРНР", "НР edited: new СЭМД version", NOTED),
        EventKind("РЕДСМЕРТНР", "НР edited: perinatal death", NOTED),
        EventKind("ВЕРИФ", "verification in master systems", NOTED),
        EventKind("СОГЛАС", "ЕПГУ consent to process insurance data", NOTED),
        EventKind("НЕРАБ", "socially non-working (ФНС)", NOT_WORKING),
        EventKind("РАБ", "socially working (ФНС)", WORKING),
        EventKind("МЕДСМ", "medical death certificate (СЭМД)", NOTED),
    )
}


def action_of(code: str) -> str | None:
    """What the register does with an event code; None for a code §5 does not list (kept for review)."""
    kind = EVENTS.get(code)
    return kind.action if kind is not None else None
