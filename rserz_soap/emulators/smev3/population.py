"""The СМЭВ 3 emulator's population and what its ЗАГС plants: deaths, ambiguous deaths, cancellations, births.

The population is the demo region (``demo.region.generate`` with the hub's reference, size and seed), so a
death the emulator's ЗАГС reports names a person the hub holds. СФР knows a СНИЛС for everyone — also for
the persons whose СНИЛС the region never recorded — and a small share of persons have a *twin* at СФР:
another person with the same name and birth date (``SnilsByDataRequest`` then finds two).

What ЗАГС tells is planted on demand (the control API, the demo ticker) and recorded as ground truth in
``mx_planted``:

* ``death`` — a death act record with the person's name, birth date and passport: the hub must apply it;
* ``ambiguous`` — the surname misspelt and no document: the hub must hold it for an operator;
* ``cancelled`` — a death, then the act record annulled (``КодСтатус`` 03): the person ends alive;
* ``birth`` — a child of a woman of the region: the hub registers a newborn.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Engine, func, insert, select, update

from rserz_soap.demo import names as nm
from rserz_soap.demo.region import RegionReference, generate
from rserz_soap.domain.civil import CivilDocument, CivilPerson
from rserz_soap.domain.identifiers import make_snils
from rserz_soap.emulators.smev3.store import mx_person, mx_planted
from rserz_soap.smev import zags

__all__ = ["Plant", "births", "deaths", "seed_population"]

TWIN_SHARE: Final = 0.01
_SFR_SERIAL: Final = 900_000_000  # СНИЛС СФР knows for persons the region holds without one
_TWIN_SERIAL: Final = 950_000_000
OFFICE: Final = "Отдел ЗАГС (эмулятор)"


def seed_population(engine: Engine, reference: RegionReference, n: int, seed: int) -> int:
    """Load the population once (idempotent); returns how many persons СФР knows."""
    with engine.begin() as conn:
        conn.exec_driver_sql("LOCK TABLE mx_person IN ACCESS EXCLUSIVE MODE")
        existing = conn.execute(select(func.count()).select_from(mx_person)).scalar_one()
        if existing:
            return int(existing)
        batch: list[dict[str, Any]] = []
        total = 0
        for p in generate(reference, n, seed):
            doc = next((d for d in p.documents if d.is_main), None)
            row = {
                "idx": p.index,
                "enp": p.enp,
                "fam": p.fam,
                "im": p.im,
                "ot": p.ot,
                "w": p.sex,
                "dr": p.birth_date,
                "snils": p.snils or make_snils(_SFR_SERIAL + p.index),
                "doctype": doc.doctype if doc else None,
                "docser": doc.docser if doc else None,
                "docnum": doc.docnum if doc else None,
                "alive": p.status == "insured" and p.death_date is None and p.duplicate_of is None,
                "twin": False,
            }
            batch.append(row)
            if random.Random(f"smev-twin:{seed}:{p.index}").random() < TWIN_SHARE:  # noqa: S311 - test data
                batch.append(
                    row
                    | {
                        "snils": make_snils(_TWIN_SERIAL + p.index),
                        "docnum": None,
                        "docser": None,
                        "doctype": None,
                        "alive": False,
                        "twin": True,
                    }
                )
            if len(batch) >= 5000:
                conn.execute(insert(mx_person), batch)
                total += len(batch)
                batch = []
        if batch:
            conn.execute(insert(mx_person), batch)
            total += len(batch)
    return total


@dataclass(frozen=True)
class Plant:
    """A message to queue: its MessageID, the business content, and the ground-truth row."""

    message_id: str
    content: Any
    truth: dict[str, Any] | None


def _civil(row: Any, *, document: bool = True) -> CivilPerson:
    doc = None
    if document and row.doctype is not None and row.docnum:
        doc = CivilDocument(int(row.doctype), row.docser, row.docnum)
    return CivilPerson(row.fam, row.im, row.ot, row.dr, int(row.w), doc)


def _misspelt(fam: str, rnd: random.Random) -> str:
    """The surname with one letter changed (a clerk's typo): no exact key finds the person any more."""
    vowels = "аеиоуыэюя"
    positions = [i for i, ch in enumerate(fam) if ch.lower() in vowels and i > 0] or [len(fam) - 1]
    i = rnd.choice(positions)
    replacement = next(v for v in "оаеиу" if v != fam[i].lower())
    return fam[:i] + (replacement.upper() if fam[i].isupper() else replacement) + fam[i + 1 :]


def _act_number(kind: str, serial: int) -> str:
    return f"{1 if kind == 'death' else 2}{dt.date.today():%Y%m%d}{serial:08d}"


def deaths(
    engine: Engine,
    new_id: Callable[[], str],
    count: int,
    *,
    ambiguous: int = 0,
    cancelled: int = 0,
    rng_seed: int | None = None,
) -> list[Plant]:
    """Plant ``count`` deaths of living persons (``ambiguous`` of them misspelt, ``cancelled`` later
    annulled); returns the messages to queue, deaths first, then the cancellations."""
    if ambiguous + cancelled > count:
        raise ValueError("ambiguous and cancelled deaths are part of the count")
    rnd = random.Random(rng_seed)  # noqa: S311 - test data
    today = dt.date.today()
    plants: list[Plant] = []
    cancels: list[Plant] = []
    with engine.begin() as conn:
        ids = list(
            conn.execute(select(mx_person.c.id).where(mx_person.c.alive).order_by(mx_person.c.id)).scalars()
        )
        if len(ids) < count:
            raise ValueError(f"only {len(ids)} living persons left to die")
        chosen = rnd.sample(ids, count)
        conn.execute(update(mx_person).where(mx_person.c.id.in_(chosen)).values(alive=False))
        rows = {r.id: r for r in conn.execute(select(mx_person).where(mx_person.c.id.in_(chosen)))}
        serial = int(conn.execute(select(func.coalesce(func.max(mx_planted.c.id), 0))).scalar_one())
        for k, pid in enumerate(chosen):
            row = rows[pid]
            kind = "ambiguous" if k < ambiguous else "cancelled" if k < ambiguous + cancelled else "death"
            serial += 1
            act = _act_number("death", serial)
            act_date = today - dt.timedelta(days=rnd.randint(0, 3))
            ddeath = act_date - dt.timedelta(days=rnd.randint(0, 4))
            person = _civil(row)
            if kind == "ambiguous":
                person = CivilPerson(_misspelt(row.fam, rnd), row.im, row.ot, row.dr, int(row.w), None)
            mid = new_id()
            content = zags.death_request(mid, act, act_date, OFFICE, _upper(person), ddeath)
            truth = {
                "kind": kind,
                "enp": row.enp,
                "act_number": act,
                "act_date": act_date,
                "ddeath": ddeath,
                "message_id": mid,
            }
            if kind == "cancelled":
                cid = new_id()
                annulled = zags.death_request(
                    cid, act, act_date, OFFICE, _upper(person), ddeath, status_code="03"
                )
                cancels.append(Plant(cid, annulled, None))
                truth["cancel_message_id"] = cid
            conn.execute(insert(mx_planted).values(**truth))
            plants.append(Plant(mid, content, truth))
    return plants + cancels


_CHILD_NAMES: Final = {
    1: tuple(n for n, *_ in nm.MALE_NAMES[:30]),
    2: tuple(n for n, *_ in nm.FEMALE_NAMES[:30]),
}
_FATHERS: Final = tuple(n for n, *_ in nm.MALE_NAMES[:30])


def _child_surname(mother: str, sex: int) -> str:
    """The mother's surname in the child's sex (the demo's fathers share it)."""
    if sex == 2:
        return mother
    if mother.endswith("ская") or mother.endswith("цкая"):
        return mother[:-2] + "ий"
    if mother.endswith(("ова", "ева", "ёва", "ина", "ына")):
        return mother[:-1]
    return mother


def births(
    engine: Engine, new_id: Callable[[], str], count: int, *, rng_seed: int | None = None
) -> list[Plant]:
    """Plant ``count`` births to women of the region aged 18–45."""
    rnd = random.Random(rng_seed)  # noqa: S311 - test data
    today = dt.date.today()
    plants: list[Plant] = []
    with engine.begin() as conn:
        young, old = today.replace(year=today.year - 18), today.replace(year=today.year - 45)
        mothers = list(
            conn.execute(
                select(mx_person).where(
                    mx_person.c.alive, mx_person.c.w == 2, mx_person.c.dr.between(old, young)
                )
            )
        )
        if not mothers:
            raise ValueError("no woman of the region aged 18–45")
        serial = int(conn.execute(select(func.coalesce(func.max(mx_planted.c.id), 0))).scalar_one())
        for _ in range(count):
            mother = rnd.choice(mothers)
            sex = rnd.choice((1, 2))
            serial += 1
            act = _act_number("birth", serial)
            born = today - dt.timedelta(days=rnd.randint(1, 30))
            child = CivilPerson(
                _child_surname(mother.fam, sex),
                rnd.choice(_CHILD_NAMES[sex]),
                nm.patronymic(rnd.choice(_FATHERS), sex),
                born,
                sex,
            )
            act_date = min(today, born + dt.timedelta(days=rnd.randint(1, 10)))
            mid = new_id()
            content = zags.birth_request(
                mid, act, act_date, OFFICE, _upper(child), _upper(_civil(mother)), birth_place="г. Курган"
            )
            truth = {
                "kind": "birth",
                "enp": mother.enp,
                "act_number": act,
                "act_date": act_date,
                "message_id": mid,
                "child": {
                    "fam": child.fam.upper(),
                    "im": child.im.upper(),
                    "ot": (child.ot or "").upper() or None,
                    "dr": born.isoformat(),
                    "w": sex,
                },
            }
            conn.execute(insert(mx_planted).values(**truth))
            plants.append(Plant(mid, content, truth))
    return plants


def _upper(p: CivilPerson) -> CivilPerson:
    return CivilPerson(
        p.fam.upper(), p.im.upper(), p.ot.upper() if p.ot else None, p.dr, p.w, p.document, p.snils
    )


def planted(engine: Engine) -> Iterator[dict[str, Any]]:
    with engine.connect() as conn:
        for r in conn.execute(select(mx_planted).order_by(mx_planted.c.id)):
            yield {
                "kind": r.kind,
                "enp": r.enp,
                "act_number": r.act_number,
                "act_date": r.act_date.isoformat(),
                "ddeath": r.ddeath.isoformat() if r.ddeath else None,
                "message_id": r.message_id,
                "cancel_message_id": r.cancel_message_id,
                "child": r.child,
            }
