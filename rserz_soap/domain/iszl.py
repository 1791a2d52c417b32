"""What the regional information-support system (ИСЗЛ) is told: events of the register's published feed,
each classified by the operation that made it.

The ИСЗЛ subscribes to kinds (``RSERZ_ISZL_EVENTS``); an event is one published change (its feed position
is its id, so the ИСЗЛ de-duplicates a redelivery by it), sent in feed order — so in order per person.
No public format of these notifications exists (each region's ИСЗЛ defines its own); ours is the small
contract in ``rserz_soap/iszl/contract/`` and is documented as a guess in docs/iszl.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Final

NEW_INSURED: Final = "NEW_INSURED"  # a person entered the register: a first choice of СМО, a birth
SMO_CHANGED: Final = "SMO_CHANGED"  # a change of insurer or of the policy's term
DEATH: Final = "DEATH"
DEATH_CANCELLED: Final = "DEATH_CANCELLED"
SUSPENDED: Final = "SUSPENDED"  # insurance suspended (military service, a surrendered policy)
ENDED: Final = "ENDED"  # insurance ended (left the system of ОМС, merged away)
ATTACHMENT: Final = "ATTACHMENT"  # attached to or detached from an МО
CHANGED: Final = "CHANGED"  # any other change of the person's data

KINDS: Final = (NEW_INSURED, SMO_CHANGED, DEATH, DEATH_CANCELLED, SUSPENDED, ENDED, ATTACHMENT, CHANGED)

#: the operation of a register version (R001 codes, the hub's own, ФЕРЗЛ's events as "ФЕРЗЛ:<code>")
_BY_OPERATION: Final = {
    "П010": NEW_INSURED,
    "ФЕРЗЛ:1П": NEW_INSURED,
    **{f"П03{n}": SMO_CHANGED for n in range(1, 7)},
    "П060": SMO_CHANGED,
    "П063": SMO_CHANGED,
    **{f"ФЕРЗЛ:{c}": SMO_CHANGED for c in ("ЗСМО", "ЗПБЗСМО", "ДИРОПРСМО", "ПРОДЛЕН", "ВОССТ")},
    "DEATH": DEATH,
    "П021": DEATH,
    "DEATH_CANCELLED": DEATH_CANCELLED,
    "П025": SUSPENDED,
    "ФЕРЗЛ:ПРИОСТ": SUSPENDED,
    "ФЕРЗЛ:СДАЧУТР": SUSPENDED,
    "MILITARY": SUSPENDED,
    "П022": ENDED,
    "П023": ENDED,
    "П024": ENDED,
    "ФЕРЗЛ:ОПОМС": ENDED,
    "MERGE": ENDED,
    "ATTACH": ATTACHMENT,
    "DETACH": ATTACHMENT,
    "ATTACH_DOUBLE": ATTACHMENT,
}


def classify(operation: str) -> str:
    """The event kind of a version made by ``operation`` (``CHANGED`` for anything else)."""
    return _BY_OPERATION.get(operation, CHANGED)


def parse_kinds(setting: str) -> frozenset[str]:
    """The subscribed kinds of a comma-separated setting; an unknown kind is an error, not a silent no-op."""
    kinds = frozenset(k.strip().upper() for k in setting.split(",") if k.strip())
    unknown = kinds - set(KINDS)
    if unknown:
        raise ValueError(f"unknown ИСЗЛ event kinds {sorted(unknown)}: known are {', '.join(KINDS)}")
    return kinds


@dataclass(frozen=True)
class Event:
    """One notification: ``id`` is the change's position in the published feed."""

    id: int
    kind: str
    enp: str
    operation: str
    valid_from: date
    recorded_at: datetime
    smo_code: str | None
    mo_codes: tuple[str, ...]
