"""A realistic mix of СМО operations on existing and new persons (benchmarks and demo traffic).

Built from cards, so it exercises the real checks: the records are what an СМО would send for these
people today, plus a small share of deliberately wrong ones that ФЛК must refuse.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from rserz_soap.domain.flk.reference import add_working_days
from rserz_soap.domain.person import Address, PersonCard
from rserz_soap.domain.records import InsuranceInput, OperationRecord, PolicyInput, Visit

MIX: tuple[tuple[str, float], ...] = (
    ("П040", 0.35),  # new address / contacts
    ("П032", 0.20),  # moved: another СМО
    ("П010", 0.20),  # first registration of a new person
    ("П062", 0.10),  # duplicate policy (a new ВС)
    ("П022", 0.05),  # death
    ("П025", 0.05),  # military service
    ("BAD", 0.05),  # a record ФЛК must refuse (birth date in the future)
)


@dataclass(frozen=True)
class PlannedOperation:
    record: OperationRecord
    smo_code: str  # the submitting СМО
    expect_refusal: bool = False


def plan(
    existing: Sequence[PersonCard],
    new_people: Sequence[PersonCard],
    smo_codes: Sequence[str],
    n: int,
    *,
    today: date,
    seed: int = 1,
    region_okato: str = "45000",
) -> list[PlannedOperation]:
    """``n`` operations; each existing person is used at most once (no two records race for one person)."""
    rnd = random.Random(seed)  # noqa: S311 - reproducible demo traffic, not secrets
    kinds = [k for k, _w in MIX]
    weights = [w for _k, w in MIX]
    pool = [c for c in existing if c.open_period() is not None]
    rnd.shuffle(pool)
    fresh = list(new_people)
    # ВС numbers below 100,000,000 (a leading zero): the synthetic region issues none there, so a new ВС
    # never names someone else's; consecutive from a random base, so none repeats within the plan
    base = rnd.randrange(0, 90_000_000 - 2 * n)
    vs_numbers = iter(range(base, base + 2 * n))
    out: list[PlannedOperation] = []
    day = today - timedelta(days=5)
    while len(out) < n:
        kind = rnd.choices(kinds, weights)[0]
        if kind == "П010":
            if not fresh:
                continue
            card = fresh.pop()
            smo = rnd.choice(smo_codes)
            out.append(
                PlannedOperation(
                    _record(
                        len(out) + 1, "П010", card, smo, day, region_okato, policy=_vs(day, next(vs_numbers))
                    ),
                    smo,
                )
            )
            continue
        if not pool:
            break
        card = pool.pop()
        period = card.open_period()
        assert period is not None
        owner = period.smo_code
        if kind == "П040":
            flat = str(rnd.randint(1, 300))
            addresses = [dataclasses.replace(a, flat=flat) for a in card.addresses if a.kind == "G"]
            rec = _record(
                len(out) + 1,
                "П040",
                card,
                owner,
                day,
                region_okato,
                address_g=addresses[0] if addresses else None,
            )
            out.append(PlannedOperation(rec, owner))
        elif kind == "П032":
            other = rnd.choice([c for c in smo_codes if c != owner])
            rec = _record(len(out) + 1, "П032", card, other, day, region_okato, rsmo=3)
            out.append(PlannedOperation(rec, other))
        elif kind == "П062":
            out.append(
                PlannedOperation(
                    _record(
                        len(out) + 1,
                        "П062",
                        card,
                        owner,
                        day,
                        region_okato,
                        policy=_vs(day, next(vs_numbers)),
                    ),
                    owner,
                )
            )
        elif kind == "П022":
            rec = _record(
                len(out) + 1, "П022", card, owner, day, region_okato, ddeath=day - timedelta(days=3)
            )
            out.append(PlannedOperation(rec, owner))
        elif kind == "П025":
            out.append(PlannedOperation(_record(len(out) + 1, "П025", card, owner, day, region_okato), owner))
        else:
            bad = dataclasses.replace(card.data, dr=today + timedelta(days=400))
            rec = _record(len(out) + 1, "П040", card.replace(data=bad), owner, day, region_okato)
            out.append(PlannedOperation(rec, owner, expect_refusal=True))
    return out


def _vs(day: date, number: int) -> PolicyInput:
    return PolicyInput(vpolis=2, npolis=f"{number:09d}", dbeg=day, dend=add_working_days(day, 30))


def _record(
    n_rec: int,
    op: str,
    card: PersonCard,
    smo: str,
    day: date,
    okato: str,
    *,
    policy: PolicyInput | None = None,
    rsmo: int | None = None,
    address_g: Address | None = None,
    ddeath: date | None = None,
) -> OperationRecord:
    g = address_g or next((a for a in card.addresses if a.kind == "G"), None)
    return OperationRecord(
        n_rec=n_rec,
        op=op,
        person=card.data,
        visit=Visit(
            dvizit=day,
            method=1,
            rsmo=rsmo if rsmo is not None else (1 if op == "П010" else None),
            rpolis=1 if policy is not None else None,
        ),
        insurance=InsuranceInput(ter_st=okato, smo_code=smo, enp=card.enp, policy=policy),
        documents=tuple(sorted(card.documents, key=lambda d: (not d.is_main, d.doctype))),
        address_g=g,
        ddeath=ddeath,
    )
