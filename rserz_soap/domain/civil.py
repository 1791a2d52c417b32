"""What civil registration (ЕГР ЗАГС) and the pension fund (СФР) tell the register, as plain values.

The XML of ЕГР ЗАГС (``FATALZPRequest``, ``ROGDZPRequest``) and of СФР (``SnilsBy…Response``) ends at
the СМЭВ adapter (``rserz_soap/smev/``); the use cases see these records. A death record carries what
the act record says about the deceased — name, birth date, sex, the identity document if the registry
office had one, the death date — and whether the act record is in force or was cancelled. A birth
record names the child and the mother (by her own name, birth date and document): a newborn has no
ЕНП until a policy is chosen, so the register keeps it apart until then (``usecases/zags.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class ActStatus(StrEnum):
    """The act record's status (``СтатусЗаписи/@КодСтатус``) as the hub acts on it."""

    IN_FORCE = "in_force"  # a new act record, or one corrected: apply
    CANCELLED = "cancelled"  # the act record was annulled: undo what it did


@dataclass(frozen=True)
class CivilDocument:
    """An identity document named in an act record, in the register's coding (F011 ``DOCTYPE``)."""

    doctype: int
    docser: str | None
    docnum: str


@dataclass(frozen=True)
class CivilPerson:
    """The person an act record is about, as the registry office wrote it."""

    fam: str
    im: str
    ot: str | None
    dr: date
    w: int | None  # 1 male, 2 female; None when the act record does not say
    document: CivilDocument | None = None
    snils: str | None = None


@dataclass(frozen=True)
class DeathRecord:
    """One death act record (``СведРегСмерт``) of a ``FATALZPRequest``."""

    message_id: str  # the СМЭВ message that brought it
    record_id: str  # ``ИдСвед``: the ЗАГС's id of the delivery, echoed in the receipt
    act_number: str  # ``НомерЗапис``
    act_date: date  # ``ДатаЗапис``
    office: str  # ``ОрганЗАГС/@НаимЗАГС``
    status: ActStatus
    person: CivilPerson
    ddeath: date

    @property
    def reference(self) -> str:
        return f"а/з о смерти № {self.act_number} от {self.act_date.isoformat()} ({self.office})"


@dataclass(frozen=True)
class BirthRecord:
    """One birth act record (``СведРегРожд``) of a ``ROGDZPRequest``."""

    message_id: str
    record_id: str
    act_number: str
    act_date: date
    office: str
    status: ActStatus
    child: CivilPerson  # its ``dr`` is the date of birth; no document yet (the certificate is the act's)
    mother: CivilPerson | None
    birth_place: str | None = None

    @property
    def reference(self) -> str:
        return f"а/з о рождении № {self.act_number} от {self.act_date.isoformat()} ({self.office})"


class SnilsVerdict(StrEnum):
    """What СФР says of a person's СНИЛС (domain.md §9)."""

    FOUND = "found"  # one person found: here is the СНИЛС / the given one matches
    DIFFERS = "differs"  # the person is found with another СНИЛС than the one asked about
    NOT_FOUND = "not_found"
    AMBIGUOUS = "ambiguous"  # several persons fit the data (twins): nothing can be applied


@dataclass(frozen=True)
class SnilsAnswer:
    verdict: SnilsVerdict
    snils: tuple[str, ...] = ()  # the СНИЛС СФР holds (several for twins)
