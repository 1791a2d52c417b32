"""What the ФЛК checks need to know from outside the record: НСИ on a date and who owns an identifier.

The checks are pure functions, so everything they would otherwise look up is behind the
:class:`Reference` protocol. The database layer implements it over ``nsi_record`` and the person tables;
:class:`InMemoryReference` implements it over parsed НСИ records and plain dicts — the implementation of
file-only tools (check an OPLIST file on a laptop) and of the tests, so it is production code, not a mock.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Protocol

from rserz_soap.domain.person import PersonCard
from rserz_soap.domain.records import OperationRecord

__all__ = [
    "DirectoryRecord",
    "DocTypeRef",
    "InMemoryReference",
    "MoRef",
    "Reference",
    "SmoRef",
    "add_working_days",
]


@dataclass(frozen=True)
class SmoRef:
    """An F002 entry as valid on the asked date; ``date_end`` is the end of its contract, if known."""

    code: str
    name: str
    date_beg: date
    date_end: date | None
    ogrn: str | None = None
    okato: str | None = None  # tf_okato: the territory the СМО works in


@dataclass(frozen=True)
class MoRef:
    """An F003 entry as valid on the asked date."""

    code: str
    name: str
    date_beg: date
    date_end: date | None


@dataclass(frozen=True)
class DocTypeRef:
    """An F011 entry as valid on the asked date; an empty mask means free text."""

    doctype: int
    name: str
    ser_mask: str
    num_mask: str
    date_beg: date
    date_end: date | None


class Reference(Protocol):
    """Everything a rule may ask outside the record. ``on`` is always a date: НСИ entries change."""

    @property
    def region_okato(self) -> str:
        """OKATO of the region this hub serves (``TER_ST`` of its records)."""
        ...

    def smo(self, code: str, on: date) -> SmoRef | None: ...

    def mo(self, code: str, on: date) -> MoRef | None: ...

    def document_type(self, doctype: int, on: date) -> DocTypeRef | None: ...

    def country(self, oksm: str, on: date) -> bool: ...

    def policy_type(self, vpolis: int, on: date) -> bool: ...

    def operation(self, tip_op: str, on: date) -> bool:
        """R001: the operation code exists on ``on``."""
        ...

    def sex(self, w: int, on: date) -> bool:
        """V005: the sex code exists on ``on``."""
        ...

    def snils_owners(self, ss: str) -> set[int]:
        """Persons whose current СНИЛС is ``ss`` (11 bare digits)."""
        ...

    def document_owners(self, key: tuple[int, str, str]) -> set[int]:
        """Persons holding the current document with this :attr:`Document.key`."""
        ...

    def enp_owner(self, enp: str) -> int | None:
        """The person an ЕНП (main or alias) resolves to."""
        ...

    def working_days_after(self, start: date, n: int) -> date:
        """The ``n``-th working day after ``start`` (``start`` itself is not counted)."""
        ...

    def prefetch(self, records: Sequence[OperationRecord]) -> None:
        """Look up every identifier owner the records' checks will ask about at once (may do nothing)."""
        ...


class DirectoryRecord(Protocol):
    """One dated НСИ entry; :class:`rserz_soap.files.nsi.NsiRecord` has this shape."""

    @property
    def directory(self) -> str: ...

    @property
    def code(self) -> str: ...

    @property
    def date_beg(self) -> date: ...

    @property
    def date_end(self) -> date | None: ...

    @property
    def data(self) -> dict[str, str]: ...


def add_working_days(start: date, n: int) -> date:
    """Mon–Fri calendar without public holidays: the in-memory reference's notion of working days.

    Saturates at ``date.max`` so that a policy dated 9999 is reported by its own rule, not a crash.
    """
    day = start
    counted = 0
    while counted < n:
        if day == date.max:
            return day
        day += timedelta(days=1)
        if day.weekday() < 5:
            counted += 1
    return day


class InMemoryReference:
    """A :class:`Reference` over НСИ records held in memory and identifier owners given as dicts.

    Working days are Monday to Friday without public holidays: a file-only tool has no production
    calendar, so near the New Year and May holidays it may accept a ВС end a few days later than the
    database-backed reference (which reads the region's calendar) would.
    """

    def __init__(
        self,
        records: Iterable[DirectoryRecord],
        *,
        region_okato: str,
        people: Iterable[PersonCard] = (),
        snils: Mapping[str, Iterable[int]] | None = None,
        documents: Mapping[tuple[int, str, str], Iterable[int]] | None = None,
        enps: Mapping[str, int] | None = None,
    ) -> None:
        self._region_okato = region_okato
        self._records: dict[tuple[str, str], list[DirectoryRecord]] = defaultdict(list)
        for record in records:
            self._records[(record.directory, record.code)].append(record)
        self._snils: dict[str, set[int]] = defaultdict(set)
        self._documents: dict[tuple[int, str, str], set[int]] = defaultdict(set)
        self._enps: dict[str, int] = dict(enps or {})
        for ss, owners in (snils or {}).items():
            self._snils[ss].update(owners)
        for key, owners in (documents or {}).items():
            self._documents[key].update(owners)
        for card in people:
            self.add_person(card)

    def add_person(self, card: PersonCard) -> None:
        """Index a registered person's СНИЛС, documents and ЕНП (main and aliases) for uniqueness rules."""
        if card.person_id is None:
            raise ValueError("only a registered person (with person_id) owns identifiers")
        pid = card.person_id
        if card.data.ss:
            self._snils[card.data.ss.replace("-", "").replace(" ", "")].add(pid)
        for document in card.documents:
            self._documents[document.key].add(pid)
        for enp in (card.enp, *card.aliases):
            if enp:
                self._enps[enp] = pid

    @property
    def region_okato(self) -> str:
        return self._region_okato

    def _on(self, directory: str, code: str, on: date) -> DirectoryRecord | None:
        """The entry of ``directory`` valid on ``on``: the one hook a subclass overrides to read НСИ
        from elsewhere (the database-backed reference does), keeping the mapping to *Ref values here."""
        for record in self._records.get((directory, code), ()):
            if record.date_beg <= on and (record.date_end is None or on <= record.date_end):
                return record
        return None

    def smo(self, code: str, on: date) -> SmoRef | None:
        r = self._on("F002", code, on)
        if r is None:
            return None
        name = r.data.get("nam_smok") or r.data.get("nam_smop") or code
        return SmoRef(
            code, name, r.date_beg, r.date_end, r.data.get("Ogrn") or None, r.data.get("tf_okato") or None
        )

    def mo(self, code: str, on: date) -> MoRef | None:
        r = self._on("F003", code, on)
        if r is None:
            return None
        return MoRef(code, r.data.get("nam_mok") or r.data.get("nam_mop") or code, r.date_beg, r.date_end)

    def document_type(self, doctype: int, on: date) -> DocTypeRef | None:
        r = self._on("F011", str(doctype), on)
        if r is None:
            return None
        data = r.data
        return DocTypeRef(
            doctype,
            data.get("DocName", ""),
            data.get("DocSer", ""),
            data.get("DocNum", ""),
            r.date_beg,
            r.date_end,
        )

    def country(self, oksm: str, on: date) -> bool:
        return self._on("O001", oksm, on) is not None

    def policy_type(self, vpolis: int, on: date) -> bool:
        return self._on("F008", str(vpolis), on) is not None

    def operation(self, tip_op: str, on: date) -> bool:
        return self._on("R001", tip_op, on) is not None

    def sex(self, w: int, on: date) -> bool:
        return self._on("V005", str(w), on) is not None

    def snils_owners(self, ss: str) -> set[int]:
        return set(self._snils.get(ss, ()))

    def document_owners(self, key: tuple[int, str, str]) -> set[int]:
        return set(self._documents.get(key, ()))

    def enp_owner(self, enp: str) -> int | None:
        return self._enps.get(enp)

    def working_days_after(self, start: date, n: int) -> date:
        return add_working_days(start, n)

    def prefetch(self, records: Sequence[OperationRecord]) -> None:
        """Everything is in memory already."""
