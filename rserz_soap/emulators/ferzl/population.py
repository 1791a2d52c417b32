"""The federal register's copy of the region, with divergences planted on purpose and known exactly.

The emulator is seeded from the same synthetic population as the hub (``demo.region.generate`` with the
same reference, size and seed), then a configurable share of persons is made to differ in one of the
ways that reconciliation must find: a different document, a different spelling of the surname, another
СМО, a death known only federally, a person the federal register lacks, and persons only the federal
register has. Every planted difference is listed, so tests compare reconciliation with the truth.
Deterministic: the same (reference, n, seed, share) gives the same federal copy and the same list.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from rserz_soap.demo.region import RegionReference, SyntheticPerson, generate
from rserz_soap.domain.identifiers import make_snils
from rserz_soap.domain.person import PersonCard, Status, StopReason

#: how the planted share is split between the kinds (weights; the order is the draw order)
KIND_WEIGHTS: tuple[tuple[str, float], ...] = (
    ("document", 0.25),
    ("snils", 0.25),
    ("smo", 0.2),
    ("death_only_federal", 0.1),
    ("missing_federally", 0.2),
)


class Divergence(StrEnum):
    DOCUMENT = "document"  # the federal main document has another number
    SNILS = "snils"  # the federal register holds another СНИЛС (names are not in the витрины, §3.2.6)
    SMO = "smo"  # the federal register has the person insured by another СМО
    DEATH_ONLY_FEDERAL = "death_only_federal"  # the federal register knows of a death the region does not
    MISSING_FEDERALLY = "missing_federally"  # the region has the person, the federal register does not
    MISSING_REGIONALLY = "missing_regionally"  # the federal register has a person the region does not


@dataclass(frozen=True)
class Planted:
    """One divergence: the region's person ``index`` (or a federal-only person) and what differs."""

    index: int
    enp: str
    kind: Divergence
    field: str | None
    regional: str | None
    federal: str | None

    @property
    def report_key(self) -> tuple[str, str, str]:
        """What a reconciliation must report for it: (ЕНП, category, field) in the hub's vocabulary."""
        category, field = REPORTED_AS[self.kind]
        return (self.enp, category, field)


#: how the hub's reconciliation reports each kind: (category, field); '*' is a whole missing person
REPORTED_AS: dict[Divergence, tuple[str, str]] = {
    Divergence.DOCUMENT: ("differs", "document"),
    Divergence.SNILS: ("differs", "ss"),
    Divergence.SMO: ("differs", "smo"),
    Divergence.DEATH_ONLY_FEDERAL: ("differs", "ddeath"),
    Divergence.MISSING_FEDERALLY: ("missing_federally", "*"),
    Divergence.MISSING_REGIONALLY: ("missing_regionally", "*"),
}


@dataclass(frozen=True)
class FederalPerson:
    index: int
    card: PersonCard


def federal_population(
    reference: RegionReference, n: int, seed: int, *, share: float = 0.01, federal_only: int | None = None
) -> tuple[list[FederalPerson], list[Planted]]:
    """The federal copy of the region's ``n`` persons and the list of planted divergences.

    ``federal_only`` persons (default: a tenth of the planted count) exist only federally: they are the
    population's next indices after ``n``, which the region never loaded.
    """
    people, planted = federal_slice(reference, n, seed, 0, n, share=share)
    extra, marks = federal_only_persons(
        reference, n, seed, federal_only_count(len(planted), share, federal_only)
    )
    return people + extra, planted + marks


def federal_slice(
    reference: RegionReference, n: int, seed: int, start: int, stop: int, *, share: float = 0.01
) -> tuple[list[FederalPerson], list[Planted]]:
    """The federal copy of the region's persons ``start … stop-1`` (of ``n``) and their planted divergences.

    Every person's fate depends only on (seed, index), so slices computed apart (in worker processes)
    and concatenated in order equal the whole, without the persons that exist only federally.
    """
    people: list[FederalPerson] = []
    planted: list[Planted] = []
    for p in generate(reference, n, seed, start=start, count=stop - start):
        rnd = random.Random(f"ferzl:{seed}:{p.index}")  # noqa: S311 - reproducible test data, not secrets
        if rnd.random() >= share:
            people.append(FederalPerson(p.index, p.to_card()))
            continue
        kind = Divergence(rnd.choices([k for k, _ in KIND_WEIGHTS], [w for _, w in KIND_WEIGHTS])[0])
        diverged = _diverge(p, kind, rnd, reference)
        if diverged is None:  # the kind does not apply to this person: keep them equal
            people.append(FederalPerson(p.index, p.to_card()))
            continue
        card, mark = diverged
        planted.append(mark)
        if card is not None:
            people.append(FederalPerson(p.index, card))
    return people, planted


def federal_only_count(planted: int, share: float, federal_only: int | None = None) -> int:
    """How many persons exist only federally: ``federal_only``, or a tenth of the ``planted`` count."""
    if federal_only is not None:
        return federal_only
    return max(1, planted // 10) if share > 0 else 0


def federal_only_persons(
    reference: RegionReference, n: int, seed: int, count: int
) -> tuple[list[FederalPerson], list[Planted]]:
    """The ``count`` persons only the federal register has (indices ``n …``) and their planted marks."""
    people: list[FederalPerson] = []
    planted: list[Planted] = []
    for p in _beyond(reference, n, seed, count):
        people.append(FederalPerson(p.index, p.to_card()))
        planted.append(Planted(p.index, p.enp, Divergence.MISSING_REGIONALLY, None, None, p.enp))
    return people, planted


def _beyond(reference: RegionReference, n: int, seed: int, count: int) -> Iterator[SyntheticPerson]:
    if count <= 0:
        return iter(())
    return generate(reference, n + count, seed, start=n, duplicate_share=0.0)


def _diverge(
    p: SyntheticPerson, kind: Divergence, rnd: random.Random, reference: RegionReference
) -> tuple[PersonCard | None, Planted] | None:
    card = p.to_card()
    if kind is Divergence.MISSING_FEDERALLY:
        return None, Planted(p.index, p.enp, kind, None, p.enp, None)
    if kind is Divergence.DOCUMENT:
        doc = card.main_document()
        if doc is None or len(doc.docnum) < 2:
            return None
        number = doc.docnum[:-2] + doc.docnum[-1] + doc.docnum[-2]
        if number == doc.docnum:
            number = doc.docnum[:-1] + str((int(doc.docnum[-1]) + 1) % 10)
        new = dataclasses.replace(doc, docnum=number)
        card = card.replace(documents=frozenset(new if d == doc else d for d in card.documents))
        return card, Planted(p.index, p.enp, kind, "document", doc.docnum, number)
    if kind is Divergence.SNILS:
        ours = card.data.ss
        if not ours:
            return None
        other = make_snils(500_000_000 + rnd.randrange(400_000_000))
        if other == ours:
            return None
        card = card.replace(data=dataclasses.replace(card.data, ss=other))
        return card, Planted(p.index, p.enp, kind, "ss", ours, other)
    if kind is Divergence.SMO:
        period = card.open_period()
        others = [
            s.code
            for s in reference.smo
            if period is not None and s.code != period.smo_code and s.date_end is None
        ]
        if period is None or not others:
            return None
        other = rnd.choice(others)
        moved = dataclasses.replace(period, smo_code=other)
        card = card.with_periods([moved if q == period else q for q in card.insurance])
        return card, Planted(p.index, p.enp, kind, "smo", period.smo_code, other)
    # a death the ЗАГС reported to the federal register only
    if card.status is not Status.INSURED or card.ddeath is not None:
        return None
    period = card.open_period()
    day = reference.as_of - timedelta(days=rnd.randint(10, 300))
    if period is None or period.dbeg >= day:
        return None
    stopped = period.stopped(day, StopReason.DEATH)
    card = card.replace(status=Status.DEAD, ddeath=day).with_periods(
        [stopped if q == period else q for q in card.insurance]
    )
    return card, Planted(p.index, p.enp, Divergence.DEATH_ONLY_FEDERAL, "ddeath", None, day.isoformat())
