"""The synthetic demo region: a deterministic, realistic population of insured persons (pure, no I/O).

Why it exists: a register is only demonstrable — and its identification, duplicate search, snapshots and
ФЛК only testable at scale — with a population that behaves like a real one: Russian names with their
grammar, an age pyramid, documents that fit the F011 masks *and* the holder's age, insurance histories
that respect each СМО's F002 validity, deaths, foreigners with residence permits, and a small share of the
near-duplicates that plague every real register.

Determinism. Person ``i`` depends only on ``(seed, i)``: persons are generated in chunks of
:data:`CHUNK_SIZE`, each from its own ``random.Random`` seeded with ``(seed, chunk)``, and a planted
duplicate copies a person of its own chunk. So chunks can be generated in parallel processes, any slice
``start:start+count`` equals the same slice of the whole, and the ФЕРЗЛ emulator can regenerate exactly the
population the hub was seeded with. "Today" is the reference's ``as_of`` date, never the clock.

Uniqueness without coordination (how identifiers never collide, even across processes):

* **ЕНП** — region + facet(birth date, sex) + 5-digit serial. The serial of person ``i`` is
  ``i // ENP_GROUP``: the ``ENP_GROUP`` consecutive persons of one group share a serial and are forced to
  have pairwise different facets (a colliding birth date is moved by a day while the group is generated);
  persons of different groups have different serials. Hence (facet, serial) — the ЕНП — is unique for
  ``i < 100_000 * ENP_GROUP`` (:data:`MAX_PERSONS`, 5,000,000). A duplicate copies a person of an
  *earlier* group, so it always gets a serial of its own.
* **СНИЛС** — body ``SNILS_MIN + (i·P + offset(seed)) mod span`` with ``P`` coprime to the span of valid
  bodies: injective in ``i``, spread over the whole range so numbers look random.
* **document numbers, ВС numbers, old-style policy numbers** — the same kind of affine permutation of
  ``i`` (number spaces of 10⁶, 9·10⁸, 10¹⁰), so the main document (series, number) is unique for up to
  a million persons (beyond that only persons whose passports share a series year could meet).
"""

from __future__ import annotations

import random
from bisect import bisect
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Final, NamedTuple

from rserz_soap.demo import names as nm
from rserz_soap.domain.categories import EAEU_COUNTRIES
from rserz_soap.domain.documents import example_for_mask, mask_matches
from rserz_soap.domain.identifiers import SNILS_MAX_SERIAL, SNILS_MIN_SERIAL, make_enp, make_snils

if TYPE_CHECKING:
    from rserz_soap.domain.person import PersonCard
    from rserz_soap.files.nsi import NsiRecord

__all__ = [
    "CHUNK_SIZE",
    "ENP_GROUP",
    "MAX_PERSONS",
    "Address",
    "Attachment",
    "Document",
    "DocumentMask",
    "Generator",
    "InsurancePeriod",
    "MoInfo",
    "RegionReference",
    "SmoInfo",
    "SyntheticPerson",
    "generate",
    "region_reference",
]

CHUNK_SIZE: Final = 2000
ENP_GROUP: Final = 50
MAX_PERSONS: Final = 100_000 * ENP_GROUP
assert CHUNK_SIZE % ENP_GROUP == 0

# Document types of the bundled F011 (and of the category table in domain/categories.py).
DOC_BIRTH_CERTIFICATE: Final = 3
DOC_FOREIGN_PASSPORT: Final = 9
DOC_RESIDENCE_PERMIT: Final = 11  # вид на жительство: permanent residence
DOC_PASSPORT_RF: Final = 14
DOC_TEMPORARY_RESIDENCE: Final = 23  # разрешение на временное проживание

# KATEG (domain/categories.py: 1–5 working, 6–10 the same groups not working).
KATEG_CITIZEN: Final = (6, 1)  # (non-working, working)
KATEG_FOREIGN_PERMANENT: Final = (7, 2)
KATEG_FOREIGN_TEMPORARY: Final = (8, 3)
KATEG_EAEU_WORKER: Final = KATEG_FOREIGN_TEMPORARY[True]  # working, staying on the contract, no permit

FOREIGN_SHARE: Final = 0.02
DEATH_SHARE: Final = 0.013  # of the register: the dead stay in it with their closed history
MOVED_OUT_SHARE: Final = 0.006  # insurance stopped on moving to another region (status not_insured)
ATTACHED_SHARE: Final = 0.86

# Dates that shape histories.
_ORD = date.toordinal
RF_PASSPORT_START: Final = _ORD(date(1997, 10, 1))  # RF passports replaced Soviet ones 1997–2004
RF_PASSPORT_EXCHANGE_END: Final = _ORD(date(2004, 6, 30))
SINGLE_POLICY_START: Final = _ORD(date(2011, 1, 1))  # 326-ФЗ: single-format policy, ВС
ELECTRONIC_POLICY_START: Final = _ORD(date(2014, 1, 1))
DIGITAL_POLICY_START: Final = _ORD(date(2022, 12, 1))  # F008 type 5: policy as a digital code only
_OLD_POLICY_FIRST: Final = _ORD(date(2003, 1, 1))
EPGU_START: Final = _ORD(date(2019, 1, 1))  # applications through the state services portal

# ВС validity: 30 working days (Mon–Fri, as the in-memory ФЛК reference counts them) → calendar days by
# the weekday of the issue date (Monday = 0).
_VS_DAYS: Final = (42, 42, 42, 42, 42, 41, 40)

# fmt: off
# Age pyramid: (age from, age to, weight %, share of men) — shaped like Russia's in the 2020s.
_PYRAMID: Final = (
    (0, 5, 5.3, 0.513), (5, 10, 6.3, 0.513), (10, 15, 6.1, 0.512), (15, 20, 5.5, 0.512),
    (20, 25, 4.9, 0.510), (25, 30, 5.0, 0.505), (30, 35, 7.2, 0.500), (35, 40, 8.0, 0.490),
    (40, 45, 7.4, 0.485), (45, 50, 6.8, 0.480), (50, 55, 6.0, 0.470), (55, 60, 6.6, 0.450),
    (60, 65, 6.9, 0.420), (65, 70, 6.1, 0.390), (70, 75, 4.6, 0.360), (75, 80, 2.3, 0.320),
    (80, 85, 2.3, 0.270), (85, 90, 1.3, 0.220), (90, 95, 0.45, 0.200), (95, 101, 0.12, 0.180),
)
# Relative risk of being recorded as dead, per band of the pyramid (scaled to DEATH_SHARE).
_DEATH_RISK: Final = (0.3, 0.05, 0.05, 0.1, 0.2, 0.2, 0.3, 0.4, 0.6, 0.9, 1.4, 2.0, 3.0, 4.5, 7, 10, 15,
                      22, 30, 40)
_FOREIGN_PYRAMID: Final = (
    (0, 7, 5.0, 0.52), (7, 18, 7.0, 0.52), (18, 30, 30.0, 0.62), (30, 45, 35.0, 0.60), (45, 60, 18.0, 0.55),
    (60, 80, 5.0, 0.45),
)
# fmt: on
_DAYS_PER_YEAR: Final = 365.2425

_ROMAN_SERIES: Final = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII")
_BIRTH_CERT_LETTERS: Final = ("ЗВ", "УС", "ЛР", "ТХ", "ЯС", "КЛ", "ПР", "БР")

# Affine permutations (multiplier coprime to the modulus → injective on 0..modulus-1).
_SNILS_SPAN: Final = SNILS_MAX_SERIAL - SNILS_MIN_SERIAL + 1  # 998,998,001 = 8861 · 112741
_SNILS_MUL: Final = 387_420_489  # 3^18
_DOC_MUL: Final = 738_197  # odd, not a multiple of 5: coprime to 10^6
_BC_MUL: Final = 524_287
_VS_MUL: Final = 40_353_607  # 7^9: coprime to 9·10^8
_OLD_MUL: Final = 1_977_326_743  # 7^11: coprime to 10^10
_DOCTOR_SNILS_BASE: Final = 950_000_000


# =========================================================================== reference data


@dataclass(frozen=True, slots=True)
class SmoInfo:
    """An insurer of the region (F002) with its whole validity: histories must respect both ends."""

    code: str
    name: str
    ogrn: str | None
    date_beg: date
    date_end: date | None


@dataclass(frozen=True, slots=True)
class MoInfo:
    """A medical organisation (F003); ``kind`` says which area types it attaches (adult/child/both/none)."""

    code: str
    name: str
    kind: str
    settlement: str | None
    date_beg: date
    date_end: date | None


@dataclass(frozen=True, slots=True)
class DocumentMask:
    """F011 series and number masks of one document type (empty string = free text)."""

    doctype: int
    name: str
    series: str
    number: str


@dataclass(frozen=True)
class RegionReference:
    """Everything the generator needs to know about the region; built from НСИ by :func:`region_reference`."""

    region_code: str
    okato: str
    region_name: str
    as_of: date
    smo: tuple[SmoInfo, ...]
    mo: tuple[MoInfo, ...]
    document_masks: Mapping[int, DocumentMask] = field(default_factory=dict)


def _mo_kind(name: str) -> str:
    """Which area types an МО serves, read from its name (F003 has no such field)."""
    low = name.lower()
    if "дгп" in low or ("детск" in low and "поликлиник" in low):
        return "child"
    if "црб" in low or "районная больница" in low:
        return "both"
    if "гп" in low.replace("«", " ").split() or "поликлиника" in low:
        return "adult"
    if "медицинский центр" in low or "семейн" in low:
        return "adult"
    return "none"


def _mo_settlement(address: str) -> str | None:
    for part in address.split(","):
        part = part.strip()
        if part.startswith(("г. ", "пгт ", "с. ", "д. ", "п. ")):
            return part
    return None


def region_reference(
    *,
    region_code: str,
    okato: str,
    on: date,
    f002: Sequence[NsiRecord],
    f003: Sequence[NsiRecord],
    f011: Sequence[NsiRecord],
    f010: Sequence[NsiRecord] = (),
) -> RegionReference:
    """Build the reference from НСИ records (pure; the loaders in demo/load.py fetch the records).

    ``f002`` should hold every СМО that was valid at some time (histories go back to 2003), ``f003`` and
    ``f011`` the entries valid on ``on``. Only СМО and МО of the region's territory (``tf_okato``) are kept.
    """
    smo = sorted(
        (
            SmoInfo(
                code=r.code,
                name=r.data.get("nam_smok") or r.data.get("nam_smop") or r.code,
                ogrn=r.data.get("Ogrn") or r.data.get("OGRN") or None,
                date_beg=r.date_beg,
                date_end=r.date_end,
            )
            for r in f002
            if r.data.get("tf_okato", okato) == okato
        ),
        key=lambda s: s.code,
    )
    mo = sorted(
        (
            MoInfo(
                code=r.code,
                name=r.data.get("nam_mok") or r.data.get("nam_mop") or r.code,
                kind=_mo_kind(r.data.get("nam_mok") or r.data.get("nam_mop") or ""),
                settlement=_mo_settlement(r.data.get("jurAddress.addr_j", "")),
                date_beg=r.date_beg,
                date_end=r.date_end,
            )
            for r in f003
            if r.valid_on(on) and r.data.get("tf_okato", okato) == okato
        ),
        key=lambda m: m.code,
    )
    masks = {
        int(r.code): DocumentMask(
            int(r.code), r.data.get("DocName", ""), r.data.get("DocSer", ""), r.data.get("DocNum", "")
        )
        for r in f011
        if r.valid_on(on) and r.code.isdigit()
    }
    region_name = nm.REGION_FALLBACK_NAME
    for r in f010:
        if r.code == region_code:
            region_name = r.data.get("SUBNAME", region_name).split(" (")[0]
    if not smo:
        raise ValueError("the reference has no СМО of the region (F002)")
    if not any(m.kind != "none" for m in mo):
        raise ValueError("the reference has no МО of the region that attaches patients (F003)")
    return RegionReference(region_code, okato, region_name, on, tuple(smo), tuple(mo), masks)


# =========================================================================== the population


class Document(NamedTuple):
    """An identity document; field order = ``identity_document`` columns (valid_from is the issue date)."""

    doctype: int
    docser: str | None
    docnum: str
    docdate: date
    docexp: date | None
    name_vp: str | None
    is_main: bool


class Address(NamedTuple):
    """``G`` registration or ``P`` actual address; field order = ``address`` columns."""

    kind: str
    okato: str
    region: str
    district: str | None
    settlement: str
    street: str
    house: str
    flat: str | None
    fias_guid: str | None
    valid_from: date


class InsurancePeriod(NamedTuple):
    """One period in one СМО; field order = ``insurance_period`` columns."""

    smo_code: str
    ogrnsmo: str | None
    ter_st: str
    enp: str
    vpolis: int
    spolis: str | None
    npolis: str
    dbeg: date
    dend: date | None
    dstop: date | None
    stop_reason: int | None
    rsmo: int | None
    rpolis: int | None
    method: int | None


class Attachment(NamedTuple):
    """Attachment to an МО; field order = ``attachment`` columns."""

    mo_code: str
    area_type: int
    section: str | None
    doctor_snils: str | None
    date_in: date
    date_out: date | None
    method: int


@dataclass(frozen=True, slots=True)
class SyntheticPerson:
    """One generated insured person; ``duplicate_of`` is the index of the person a planted duplicate copies.

    ``distortion`` says how the duplicate differs: ``name_typo``, ``doc_digits`` (two digits of the
    document number swapped), ``birth_digit`` (a digit of the birth day changed) or ``no_patronymic``.
    """

    index: int
    enp: str
    fam: str
    im: str
    ot: str | None
    sex: int
    birth_date: date
    birth_place: str
    birth_oksm: str
    c_oksm: str
    kateg: int
    snils: str | None
    phone: str | None
    email: str | None
    status: str
    death_date: date | None
    documents: tuple[Document, ...]
    addresses: tuple[Address, ...]
    periods: tuple[InsurancePeriod, ...]
    attachments: tuple[Attachment, ...]
    valid_from: date
    duplicate_of: int | None = None
    distortion: str | None = None

    def open_period(self) -> InsurancePeriod | None:
        open_ = [p for p in self.periods if p.dstop is None]
        return open_[-1] if open_ else None

    def to_card(self) -> PersonCard:
        """The person as the registry's domain model sees it (for the emulator and for ФЛК tests)."""
        from rserz_soap.domain import person as dom

        data = dom.PersonData(
            fam=self.fam,
            im=self.im,
            ot=self.ot,
            w=self.sex,
            dr=self.birth_date,
            mr=self.birth_place,
            birth_oksm=self.birth_oksm,
            c_oksm=self.c_oksm,
            kateg=self.kateg,
            ss=self.snils,
            phone=self.phone,
            email=self.email,
        )
        return dom.PersonCard(
            data=data,
            status=dom.Status(self.status),
            ddeath=self.death_date,
            documents=frozenset(dom.Document(*d) for d in self.documents),
            addresses=frozenset(dom.Address(*a[:9]) for a in self.addresses),
            insurance=frozenset(dom.InsurancePeriod(**p._asdict()) for p in self.periods),
            attachments=frozenset(dom.Attachment(**a._asdict()) for a in self.attachments),
            enp=self.enp,
        )


def generate(
    reference: RegionReference,
    n: int,
    seed: int,
    *,
    start: int = 0,
    count: int | None = None,
    duplicate_share: float = 0.005,
) -> Iterator[SyntheticPerson]:
    """Persons ``start … start+count-1`` of the population of ``n`` persons of ``seed`` (all by default).

    Each person depends only on (seed, index), so ``generate(…, start=a, count=b)`` yields exactly the
    persons that ``generate(…)`` yields at those positions.
    """
    stop = n if count is None else start + count
    if not 0 <= start <= stop <= n:
        raise ValueError(f"slice {start}:{stop} is outside the population of {n}")
    if n > MAX_PERSONS:
        raise ValueError(f"at most {MAX_PERSONS} persons: the ЕНП serial scheme has no room for more")
    yield from Generator(reference, seed, duplicate_share).persons(start, stop)


# =========================================================================== the generator


class _Dates(dict[int, date]):
    """Date objects by ordinal, made once: persons share most of their dates."""

    def __missing__(self, ordinal: int) -> date:
        d = self[ordinal] = date.fromordinal(ordinal)
        return d


def _cumulative(weights: Sequence[float]) -> tuple[list[float], float]:
    cum: list[float] = []
    total = 0.0
    for w in weights:
        total += w
        cum.append(total)
    return cum, total


def _birthday(birth: date, years: int) -> int:
    """Ordinal of the ``years``-th birthday (29 February → 1 March in common years)."""
    y = birth.year + years
    try:
        return date(y, birth.month, birth.day).toordinal()
    except ValueError:
        return date(y, 3, 1).toordinal()


def _typo(word: str, rnd: random.Random) -> str:
    """A plausible keying error keeping the first letter: swap, similar vowel, dropped or doubled letter."""
    similar = {"о": "а", "а": "о", "е": "и", "и": "е", "ё": "е", "я": "а", "ы": "и", "у": "ю", "ю": "у"}
    r = rnd.random
    for _ in range(8):
        if len(word) < 3:
            break
        pos = 1 + int(r() * (len(word) - 1))
        kind = r()
        if kind < 0.3 and pos < len(word) - 1:
            out = word[:pos] + word[pos + 1] + word[pos] + word[pos + 2 :]
        elif kind < 0.6:
            vowels = [k for k in range(1, len(word)) if word[k] in similar]
            if not vowels:
                continue
            k = vowels[int(r() * len(vowels))]
            out = word[:k] + similar[word[k]] + word[k + 1 :]
        elif kind < 0.8 and len(word) > 4:
            out = word[:pos] + word[pos + 1 :]
        else:
            out = word[:pos] + word[pos] + word[pos:]
        if out != word:
            return out
    return word + "а" if not word.endswith("а") else word[:-1]


@dataclass(frozen=True, slots=True)
class Showcase:
    """A well-known demo person: the same name, sex and birth date in every demo region, whatever the seed,
    so that the README's and examples/' first call identifies someone. Always insured, a citizen with a
    СНИЛС, attached to an МО; the rest (ЕНП, documents, addresses, insurer) is generated as for anyone."""

    fam: str
    im: str
    ot: str
    sex: int
    birth_date: date


#: Persons 0, 1, 2 of every population (never copied by a planted duplicate). Surnames not in names.py,
#: so no generated person shares their name and birth date.
SHOWCASE = (
    Showcase("Примерова", "Анна", "Сергеевна", 2, date(1985, 4, 12)),
    Showcase("Образцов", "Пётр", "Ильич", 1, date(1979, 11, 3)),
    Showcase("Пробная", "Мария", "Олеговна", 2, date(2016, 6, 1)),
)


class Generator:
    """Precomputed tables for one (reference, seed); :meth:`chunk` makes the persons of one chunk.

    Public because the loader's worker processes keep one per process; everything else goes through
    :func:`generate`.
    """

    def __init__(self, reference: RegionReference, seed: int, duplicate_share: float = 0.005) -> None:
        self.ref = reference
        self.seed = seed
        self.today = reference.as_of.toordinal()
        # A duplicate copies a person of an earlier ЕНП group of its chunk, so the first group has none.
        self.p_duplicate = duplicate_share * CHUNK_SIZE / (CHUNK_SIZE - ENP_GROUP)
        mix = random.Random(f"rserz-demo-offsets:{seed}")  # noqa: S311 — demo data, not secrets
        self.snils_off = int(mix.random() * _SNILS_SPAN)
        self.doc_off = int(mix.random() * 1_000_000)
        self.bc_off = int(mix.random() * 1_000_000)
        self.vs_off = int(mix.random() * 900_000_000)
        self.old_off = int(mix.random() * 10_000_000_000)
        self.region = reference.region_code
        self.okato = reference.okato
        self.passport_region = reference.okato[:2]

        self.pyramid_cum, self.pyramid_total = _cumulative([b[2] for b in _PYRAMID])
        self.fpyramid_cum, self.fpyramid_total = _cumulative([b[2] for b in _FOREIGN_PYRAMID])
        expected = sum(b[2] * r for b, r in zip(_PYRAMID, _DEATH_RISK, strict=True)) / self.pyramid_total
        self.death_p = tuple(min(1.0, r * DEATH_SHARE / expected) for r in _DEATH_RISK)

        self.dates = _Dates()
        self._date = self.dates.__getitem__  # a C-level call on the hot path: ~10 dates per person
        # Names: cumulative weights per (sex, era).
        self.names: dict[tuple[int, int], tuple[list[str], list[float], float]] = {}
        for sex, table in ((1, nm.MALE_NAMES), (2, nm.FEMALE_NAMES)):
            for era in range(3):
                pairs = [(name, weights[era]) for name, *weights in table if weights[era] > 0]
                cum, total = _cumulative([w for _, w in pairs])
                self.names[(sex, era)] = ([name for name, _ in pairs], cum, total)
        self.patronymics = {
            (name, sex): nm.patronymic(name, sex) for name, *_ in nm.MALE_NAMES for sex in (1, 2)
        }
        self.surnames = (list(nm.SURNAMES), [nm.feminine_surname(s) for s in nm.SURNAMES])
        self.foreign_cum, self.foreign_total = _cumulative([g.weight for g in nm.FOREIGN_GROUPS])
        self.foreign_patr: dict[tuple[str, int], str] = {}
        self.translit: dict[str, str] = {}

        # Places.
        self.settle_cum, self.settle_total = _cumulative([s.weight for s in nm.SETTLEMENTS])
        self.settle_mr = tuple(
            s.name if s.district is None else f"{s.name}, {s.district}" for s in nm.SETTLEMENTS
        )
        self.settle_okato = tuple(self.okato[:2] + s.okato_tail for s in nm.SETTLEMENTS)
        self.birth_places_by_year: dict[int, list[tuple[str, str]]] = {}

        # СМО: validity as ordinals, market-share weights (older insurers hold more people).
        self.smo = reference.smo
        self.smo_beg = tuple(s.date_beg.toordinal() for s in self.smo)
        self.smo_end = tuple(s.date_end.toordinal() if s.date_end else None for s in self.smo)
        self.smo_weight = tuple(max(1.0, 30.0 - 5 * k) for k in range(len(self.smo)))
        # Validity changes only at these days, so candidate tables are cached per segment between them.
        self.smo_bounds = sorted({*self.smo_beg, *(e + 1 for e in self.smo_end if e is not None)})
        self.smo_tables: dict[tuple[int, int], tuple[list[int], list[float], float]] = {}

        # МО for attachment by (settlement, area type).
        self.mo = reference.mo
        self.mo_beg = tuple(m.date_beg.toordinal() for m in self.mo)
        self.mo_by_place: dict[tuple[str, int], tuple[int, ...]] = {}
        district_of = {s.name: s.district for s in nm.SETTLEMENTS}
        for s in nm.SETTLEMENTS:
            for area, kinds in ((1, ("adult", "both")), (2, ("child", "both"))):
                if s.district is None:
                    local = [k for k, m in enumerate(self.mo) if m.kind in kinds and m.settlement == s.name]
                else:
                    local = [
                        k
                        for k, m in enumerate(self.mo)
                        if m.kind in kinds
                        and m.settlement is not None
                        and district_of.get(m.settlement) == s.district
                    ]
                if not local:
                    local = [k for k, m in enumerate(self.mo) if m.kind in kinds]
                self.mo_by_place[(s.name, area)] = tuple(local)

        masks = reference.document_masks
        self.masks = masks
        # The fast formats below are used only when the reference's masks accept them.
        self.passport_fast = self._accepts(DOC_PASSPORT_RF, f"{self.passport_region} 05", "123456")
        self.bc_fast = self._accepts(DOC_BIRTH_CERTIFICATE, "IV-ЗВ", "123456")
        # Old-style policies need an insurer valid before the single-format policy began.
        self.old_first = max(_OLD_POLICY_FIRST, min(self.smo_beg))

    # ------------------------------------------------------------------ helpers

    def _accepts(self, doctype: int, series: str, number: str) -> bool:
        m = self.masks.get(doctype)
        if m is None:
            return True
        return (not m.series or mask_matches(m.series, series)) and mask_matches(m.number, number)

    def _pick_smo(self, rnd: random.Random, on: int, exclude: int = -1) -> int:
        """An insurer valid on ``on`` (not ``exclude`` if another one is), weighted by market share."""
        seg = bisect(self.smo_bounds, on)
        key = (seg, exclude)
        table = self.smo_tables.get(key)
        if table is None:
            valid = [
                k
                for k, (beg, end) in enumerate(zip(self.smo_beg, self.smo_end, strict=True))
                if beg <= on and (end is None or on <= end)
            ]
            cands = [k for k in valid if k != exclude] or valid
            if not cands:  # no insurer valid yet: the earliest one (callers move ``on`` to its start)
                cands = [min(range(len(self.smo)), key=lambda k: self.smo_beg[k])]
            cum, total = _cumulative([self.smo_weight[k] for k in cands])
            table = self.smo_tables[key] = (cands, cum, total)
        cands, cum, total = table
        return cands[bisect(cum, rnd.random() * total)]

    def _birth_places(self, year: int) -> list[tuple[str, str]]:
        places = self.birth_places_by_year.get(year)
        if places is None:
            places = [(p, oksm) for p, y0, y1, oksm in nm.OTHER_BIRTH_PLACES if y0 <= year <= y1]
            self.birth_places_by_year[year] = places
        return places

    def _name(self, rnd: random.Random, sex: int, year: int) -> str:
        era = 0 if year < nm.ERA_BOUNDS[0] else 1 if year < nm.ERA_BOUNDS[1] else 2
        names, cum, total = self.names[(sex, era)]
        return names[bisect(cum, rnd.random() * total)]

    def _translit(self, word: str) -> str:
        t = self.translit.get(word)
        if t is None:
            t = self.translit[word] = nm.translit(word)
        return t

    def _snils(self, i: int) -> str:
        return make_snils(SNILS_MIN_SERIAL + (i * _SNILS_MUL + self.snils_off) % _SNILS_SPAN)

    # ------------------------------------------------------------------ chunks

    def persons(self, start: int, stop: int) -> Iterator[SyntheticPerson]:
        """Persons ``start … stop-1``: whole chunks are generated, then the slice is cut out of them."""
        for chunk_no in range(start // CHUNK_SIZE, (stop + CHUNK_SIZE - 1) // CHUNK_SIZE):
            base = chunk_no * CHUNK_SIZE
            people = self.chunk(chunk_no, min(stop - base, CHUNK_SIZE))
            yield from people[max(start - base, 0) :]

    def chunk(self, chunk_no: int, length: int = CHUNK_SIZE) -> list[SyntheticPerson]:
        """The first ``length`` persons of chunk ``chunk_no`` (a prefix of the full chunk)."""
        rng = random.Random(f"rserz-demo:{self.seed}:{chunk_no}")  # noqa: S311 — demo data, not secrets
        rnd = rng.random
        base = chunk_no * CHUNK_SIZE
        out: list[SyntheticPerson] = []
        facets: set[tuple[int, int]] = set()
        for k in range(length):
            i = base + k
            if k % ENP_GROUP == 0:
                facets = set()
            person: SyntheticPerson | None = None
            if k >= ENP_GROUP and rnd() < self.p_duplicate:
                j = int(rnd() * (k - k % ENP_GROUP))
                orig = out[j]
                if orig.duplicate_of is not None:
                    orig = out[orig.duplicate_of - base]
                if orig.index >= len(SHOWCASE):
                    person = self._duplicate(rng, i, orig, facets)
            if person is None:
                person = self._fresh(rng, i, facets, SHOWCASE[i] if i < len(SHOWCASE) else None)
            out.append(person)
        return out

    # ------------------------------------------------------------------ a fresh person

    def _fresh(
        self, rng: random.Random, i: int, facets: set[tuple[int, int]], fixed: Showcase | None = None
    ) -> SyntheticPerson:
        rnd = rng.random
        today = self.today
        day_of = self._date
        foreign = rnd() < FOREIGN_SHARE and fixed is None

        # --- age, sex, birth date (unique facet within the ЕНП group)
        if foreign:
            band = _FOREIGN_PYRAMID[bisect(self.fpyramid_cum, rnd() * self.fpyramid_total)]
            death_p = 0.0
        else:
            b = bisect(self.pyramid_cum, rnd() * self.pyramid_total)
            band = _PYRAMID[b]
            death_p = self.death_p[b]
        lo, hi, _w, male_share = band
        age_days = max(7, int((lo + (hi - lo) * rnd()) * _DAYS_PER_YEAR))
        sex = 1 if rnd() < male_share else 2
        birth = today - age_days
        if fixed is not None:
            sex, birth, death_p = fixed.sex, fixed.birth_date.toordinal(), 0.0
        while (birth, sex) in facets:
            birth -= 1
        facets.add((birth, sex))
        bdate = day_of(birth)
        year = bdate.year

        # --- death or moving out: the horizon of the person's history
        horizon = today
        status = "insured"
        ddeath: int | None = None
        if rnd() < death_p:
            ddeath = max(today - 1 - int(rnd() * 1095), birth + 1)
            horizon = ddeath
            status = "dead"
        elif not foreign and rnd() < MOVED_OUT_SHARE and fixed is None:
            moved = today - 1 - int(rnd() * 730)
            if moved > birth + 400:
                horizon = moved
                status = "not_insured"
        age_y = (horizon - birth) / _DAYS_PER_YEAR

        # --- names, birth place, citizenship
        if foreign:
            group = nm.FOREIGN_GROUPS[bisect(self.foreign_cum, rnd() * self.foreign_total)]
            country, _cname, cities = group.countries[int(rnd() * len(group.countries))]
            im = (group.male if sex == 1 else group.female)[
                int(rnd() * len(group.male if sex == 1 else group.female))
            ]
            fam_m = group.surnames[int(rnd() * len(group.surnames))]
            fam = fam_m if sex == 1 else nm.feminine_surname(fam_m)
            ot: str | None = None
            if rnd() < group.patronymic_share:
                father = group.male[int(rnd() * len(group.male))]
                key = (father, sex)
                ot = self.foreign_patr.get(key)
                if ot is None:
                    ot = self.foreign_patr[key] = nm.patronymic(father, sex)
            mr = cities[int(rnd() * len(cities))]
            birth_oksm = c_oksm = country
        else:
            im = self._name(rng, sex, year)
            idx = int(len(self.surnames[0]) * rnd() ** 1.7)
            fam = self.surnames[0 if sex == 1 else 1][idx]
            ot = self.patronymics[(self._name(rng, 1, year - 28), sex)]
            c_oksm = "643"
            r = rnd()
            if r < 0.74:
                s_idx = bisect(self.settle_cum, rnd() * self.settle_total)
                mr, birth_oksm = self.settle_mr[s_idx], "643"
            else:
                places = self._birth_places(year)
                mr, birth_oksm = places[int(rnd() * len(places))]
            if fixed is not None:
                fam, im, ot = fixed.fam, fixed.im, fixed.ot

        # --- category and documents
        working = (18 <= age_y < (60 if sex == 1 else 55) and rnd() < 0.78) or (
            age_y >= 55 and age_y < 70 and rnd() < 0.15
        )
        docs: list[Document] = []
        permit_end: int | None = None
        permit_beg: int | None = None
        if not foreign:
            kateg = KATEG_CITIZEN[working]
            if age_y < 14:
                docs.append(self._birth_certificate(rng, i, birth, horizon, mr))
            else:
                docs.append(self._passport(rng, i, bdate, horizon))
        else:
            passport = self._foreign_passport(rng, birth, horizon)
            docs.append(passport)
            if country in EAEU_COUNTRIES and age_y >= 18 and rnd() < 0.35:
                kateg = KATEG_EAEU_WORKER
                permit_beg = max(birth + 6575, today - 30 - int(rnd() * 700))
                permit_end = today + 30 + int(rnd() * 700)
            else:
                permanent = rnd() < 0.45
                doctype = DOC_RESIDENCE_PERMIT if permanent else DOC_TEMPORARY_RESIDENCE
                years = 5 if permanent else 3
                span = int(years * 365.25)
                earliest = min(max(birth + 20, today - span + 30), today - 1)
                permit_beg = earliest + int(rnd() * max(1, today - 20 - earliest))
                permit_end = _birthday(day_of(permit_beg), years) - 1
                docs.append(self._residence_document(rng, doctype, permit_beg, permit_end))
                kateg = (KATEG_FOREIGN_PERMANENT if permanent else KATEG_FOREIGN_TEMPORARY)[working]

        # --- СНИЛС
        if foreign:
            has_snils = rnd() < (0.9 if working else 0.4)
        elif age_y < 1:
            has_snils = rnd() < 0.6
        else:
            has_snils = rnd() < 0.965 or fixed is not None
        snils = self._snils(i) if has_snils else None

        enp = make_enp(self.region, bdate, sex, i // ENP_GROUP)

        # --- addresses
        s_idx = bisect(self.settle_cum, rnd() * self.settle_total)
        settlement = nm.SETTLEMENTS[s_idx]
        if permit_beg is not None:
            reg_from = min(permit_beg + int(rnd() * 20), horizon)
        elif age_y < 18 and rnd() < 0.7:
            reg_from = min(birth + 10 + int(rnd() * 50), horizon)
        else:
            earliest = max(birth, horizon - 9131)
            reg_from = earliest + int(rnd() * (horizon - earliest))
        addresses = [self._address(rng, "G", s_idx, settlement, day_of(reg_from))]
        if rnd() < 0.15:
            p_from = reg_from + int(rnd() * (horizon - reg_from + 1))
            addresses.append(self._address(rng, "P", s_idx, settlement, day_of(p_from)))

        # --- insurance history
        if permit_beg is not None:
            start = min(permit_beg + 3 + int(rnd() * 30), horizon)
            old_style = False
        elif birth >= SINGLE_POLICY_START:
            start = min(birth + 3 + int(rnd() * 60), horizon)
            old_style = False
        else:
            old_style = self.old_first < SINGLE_POLICY_START and birth < self.old_first - 3650
            old_style = old_style and rnd() < 0.18
            if old_style:
                start = self.old_first + int(rnd() * (SINGLE_POLICY_START - self.old_first - 1))
            else:
                start = SINGLE_POLICY_START + int((horizon - SINGLE_POLICY_START) * rnd() ** 2.2)
        periods = self._history(rng, i, enp, birth, start, horizon, old_style, permit_end, ddeath, status)

        # --- attachments
        attachments: list[Attachment] = []
        if rnd() < ATTACHED_SHARE or fixed is not None:
            attachments = self._attachments(
                rng, birth, bdate, settlement.name, start, horizon, horizon if status != "insured" else None
            )

        # --- contacts
        phone = email = None
        if status == "insured" and age_y >= 16:
            if rnd() < 0.55:
                phone = f"79{int(rnd() * 1_000_000_000):09d}"
            if age_y < 65 and rnd() < 0.12:
                email = f"{self._translit(fam)}.{self._translit(im)}{year % 100:02d}@mail.example"

        earliest_fact = min(
            start,
            reg_from,
            *(d.docdate.toordinal() for d in docs),
            *(a.date_in.toordinal() for a in attachments),
        )
        return SyntheticPerson(
            index=i,
            enp=enp,
            fam=fam,
            im=im,
            ot=ot,
            sex=sex,
            birth_date=bdate,
            birth_place=mr,
            birth_oksm=birth_oksm,
            c_oksm=c_oksm,
            kateg=kateg,
            snils=snils,
            phone=phone,
            email=email,
            status=status,
            death_date=day_of(ddeath) if ddeath is not None else None,
            documents=tuple(docs),
            addresses=tuple(addresses),
            periods=tuple(periods),
            attachments=tuple(attachments),
            valid_from=day_of(earliest_fact),
        )

    # ------------------------------------------------------------------ documents

    def _birth_certificate(self, rng: random.Random, i: int, birth: int, horizon: int, mr: str) -> Document:
        rnd = rng.random
        docdate = min(birth + 3 + int(rnd() * 30), horizon)
        if self.bc_fast:
            series = (
                f"{_ROMAN_SERIES[int(rnd() * len(_ROMAN_SERIES))]}-"
                f"{_BIRTH_CERT_LETTERS[int(rnd() * len(_BIRTH_CERT_LETTERS))]}"
            )
            number = f"{(i * _BC_MUL + self.bc_off) % 1_000_000:06d}"
        else:
            series, number = self._by_mask(rng, DOC_BIRTH_CERTIFICATE)
        office = nm.REGISTRY_OFFICES[int(rnd() * len(nm.REGISTRY_OFFICES))]
        return Document(DOC_BIRTH_CERTIFICATE, series, number, self._date(docdate), None, office, True)

    def _passport(self, rng: random.Random, i: int, bdate: date, horizon: int) -> Document:
        """An RF passport issued after the last of the 14th/20th/45th birthdays that the holder reached."""
        rnd = rng.random
        docdate = -1
        for years in (45, 20, 14):
            milestone = _birthday(bdate, years)
            if milestone <= horizon:
                issued = milestone + 3 + int(rnd() * 57)
                if issued <= horizon:
                    docdate = issued
                    break
        if docdate < 0:  # turned 14 days ago and already has the passport
            b14 = _birthday(bdate, 14)
            docdate = b14 + int(rnd() * (horizon - b14 + 1))
        if docdate < RF_PASSPORT_START:  # a Soviet passport exchanged for an RF one in 1997–2004
            window = min(RF_PASSPORT_EXCHANGE_END, horizon) - RF_PASSPORT_START
            docdate = RF_PASSPORT_START + int(rnd() * window)
        d = self._date(docdate)
        if self.passport_fast:
            series = f"{self.passport_region} {d.year % 100:02d}"
            number = f"{(i * _DOC_MUL + self.doc_off) % 1_000_000:06d}"
        else:
            series, number = self._by_mask(rng, DOC_PASSPORT_RF)
        authority = nm.PASSPORT_AUTHORITIES[int(rnd() * len(nm.PASSPORT_AUTHORITIES))]
        return Document(DOC_PASSPORT_RF, series, number, d, None, authority, True)

    def _foreign_passport(self, rng: random.Random, birth: int, horizon: int) -> Document:
        rnd = rng.random
        earliest = max(birth + 1, horizon - 3285)
        docdate = earliest + int(rnd() * max(1, horizon - 30 - earliest))
        series, number = self._by_mask(rng, DOC_FOREIGN_PASSPORT)
        issued = self._date(docdate)
        expires = self._date(_birthday(issued, 10))
        return Document(DOC_FOREIGN_PASSPORT, series or None, number, issued, expires, None, True)

    def _residence_document(self, rng: random.Random, doctype: int, beg: int, end: int) -> Document:
        series, number = self._by_mask(rng, doctype)
        mask = self.masks.get(doctype)
        if doctype == DOC_TEMPORARY_RESIDENCE and (mask is None or not mask.number):
            number = f"{int(rng.random() * 10_000_000):07d}"
        authority = nm.MIGRATION_AUTHORITIES[int(rng.random() * len(nm.MIGRATION_AUTHORITIES))]
        return Document(doctype, series or None, number, self._date(beg), self._date(end), authority, False)

    def _by_mask(self, rng: random.Random, doctype: int) -> tuple[str, str]:
        """(series, number) drawn from the F011 masks; a free-text series stays empty for residence papers."""
        m = self.masks.get(doctype)
        if m is None:
            return "", example_for_mask("", rng)
        if m.series:
            series = example_for_mask(m.series, rng)
        elif doctype == DOC_FOREIGN_PASSPORT:
            series = example_for_mask("", rng)[:2]
        else:
            series = ""
        number = example_for_mask(m.number, rng) if m.number else f"{int(rng.random() * 10_000_000):07d}"
        return series, number

    # ------------------------------------------------------------------ addresses

    def _address(self, rng: random.Random, kind: str, s_idx: int, s: nm.Settlement, since: date) -> Address:
        rnd = rng.random
        street = nm.STREETS[int(rnd() * len(nm.STREETS))] if s.urban or rnd() < 0.7 else nm.STREETS[0]
        house = str(1 + int(rnd() * rnd() * 120))
        flat = str(1 + int(rnd() * 180)) if s.urban and rnd() < 0.8 else None
        return Address(
            kind,
            self.settle_okato[s_idx],
            self.ref.region_name,
            s.district,
            s.name,
            street,
            house,
            flat,
            None,
            since,
        )

    # ------------------------------------------------------------------ insurance

    def _history(
        self,
        rng: random.Random,
        i: int,
        enp: str,
        birth: int,
        start: int,
        horizon: int,
        old_style: bool,
        permit_end: int | None,
        ddeath: int | None,
        status: str,
    ) -> list[InsurancePeriod]:
        """Stays in СМО from ``start`` to ``horizon``, expanded into periods (ВС, policy, continuations).

        A stay ends by a change of СМО (yearly or on moving; an old-style policy ends by a ВС of the new
        СМО, stop reason 4), or because the СМО's F002 validity ends (stop reason 6, the next stay has
        RSMO 4), or by death (1) or moving out of the region (3); the last stay of a living resident stays
        open.
        """
        rnd = rng.random
        smo_end = self.smo_end
        first_smo = self._pick_smo(rng, start)
        start = max(start, self.smo_beg[first_smo])
        changes: list[int] = []
        r = rnd()
        n_changes = 0 if r < 0.72 else 1 if r < 0.93 else 2 if r < 0.985 else 3
        if n_changes and horizon - start > 400:
            changes = sorted(start + 365 + int(rnd() * (horizon - start - 365)) for _ in range(n_changes))
        stays: list[tuple[int, int, int | None, int | None, str, int]] = []  # smo, beg, end, stop, kind, rsmo
        cur, beg, kind, rsmo = first_smo, start, "old" if old_style else "vs", 1
        ci = 0
        last_change = -(10**9)
        while True:
            end_k = smo_end[cur]
            nxt = changes[ci] if ci < len(changes) else None
            while nxt is not None and (nxt <= beg or nxt - last_change < 365):
                ci += 1
                nxt = changes[ci] if ci < len(changes) else None
            if end_k is not None and end_k < horizon and (nxt is None or end_k + 1 < nxt):
                stays.append((cur, beg, end_k, 6, kind, rsmo))
                beg, rsmo = end_k + 1, 4
                kind = "vs" if kind == "old" else "cont"
                cur = self._pick_smo(rng, beg, exclude=cur)
                continue
            if nxt is not None:
                moving = rnd() < 0.3
                stop = 4 if kind == "old" else 3 if moving else 2
                stays.append((cur, beg, nxt - 1, stop, kind, rsmo))
                beg, rsmo, last_change = nxt, 3 if moving else 2, nxt
                kind = "vs" if kind == "old" else "cont"
                cur = self._pick_smo(rng, beg, exclude=cur)
                ci += 1
                continue
            if ddeath is not None:
                stays.append((cur, beg, ddeath, 1, kind, rsmo))
            elif status == "not_insured":
                stays.append((cur, beg, horizon, 3, kind, rsmo))
            else:
                stays.append((cur, beg, None, None, kind, rsmo))
            break

        day_of = self._date
        ter = self.okato
        dend_all = day_of(permit_end) if permit_end is not None else None
        periods: list[InsurancePeriod] = []
        policy_type = 0
        n_vs = 0
        adult_from = birth + 5114  # ~14 years: a child is registered by a representative (method 2)
        for smo_k, beg, end, stop_reason, kind, rsmo in stays:
            smo = self.smo[smo_k]
            m = rnd()
            if beg < adult_from:
                method = 2
            else:
                method = 1 if m < 0.62 else 3 if m < 0.72 else 4 if beg >= EPGU_START else 1
            if kind == "old":
                periods.append(
                    InsurancePeriod(
                        smo.code,
                        smo.ogrn,
                        ter,
                        enp,
                        1,
                        smo.code,
                        f"{(i * _OLD_MUL + self.old_off) % 10_000_000_000:010d}",
                        day_of(beg),
                        None,
                        day_of(end) if end is not None else None,
                        stop_reason,
                        rsmo,
                        1,
                        method,
                    )
                )
                continue
            if kind == "cont" and policy_type:
                periods.append(
                    InsurancePeriod(
                        smo.code,
                        smo.ogrn,
                        ter,
                        enp,
                        policy_type,
                        None,
                        enp,
                        day_of(beg),
                        dend_all,
                        day_of(end) if end is not None else None,
                        stop_reason,
                        rsmo,
                        None,
                        method,
                    )
                )
                continue
            # A ВС, then the policy handed out 1–6 weeks later (unless the stay ends first).
            vs_end = beg + _VS_DAYS[(beg - 1) % 7]
            vs_dend = day_of(vs_end if permit_end is None else min(vs_end, permit_end))
            vs_no = f"{100_000_000 + ((i * 4 + n_vs) * _VS_MUL + self.vs_off) % 900_000_000:09d}"
            n_vs += 1
            handout = beg + 7 + int(rnd() * 33)
            # the ВС period: it ends with the person's stay (no policy was handed out) or on the day before
            # the handout of the policy that follows it
            ends_first = (end is not None and end < handout) or (end is None and handout > self.today)
            vs_stop = (day_of(end) if end is not None else None) if ends_first else day_of(handout - 1)
            periods.append(
                InsurancePeriod(
                    smo.code,
                    smo.ogrn,
                    ter,
                    enp,
                    2,
                    None,
                    vs_no,
                    day_of(beg),
                    vs_dend,
                    vs_stop,
                    stop_reason if ends_first else None,
                    rsmo,
                    1,
                    method,
                )
            )
            if ends_first:
                continue
            if handout >= DIGITAL_POLICY_START:
                policy_type = 5
            elif handout >= ELECTRONIC_POLICY_START and rnd() < 0.03:
                policy_type = 4
            else:
                policy_type = 3
            periods.append(
                InsurancePeriod(
                    smo.code,
                    smo.ogrn,
                    ter,
                    enp,
                    policy_type,
                    None,
                    enp,
                    day_of(handout),
                    dend_all,
                    day_of(end) if end is not None else None,
                    stop_reason,
                    rsmo,
                    1,
                    method,
                )
            )
        return periods

    # ------------------------------------------------------------------ attachments

    def _attachments(
        self,
        rng: random.Random,
        birth: int,
        bdate: date,
        place: str,
        insured_from: int,
        horizon: int,
        closed_on: int | None,
    ) -> list[Attachment]:
        rnd = rng.random
        day_of = self._date
        b18 = _birthday(bdate, 18)
        area = 2 if horizon < b18 else 1
        out: list[Attachment] = []
        if area == 1 and b18 > horizon - 3650 and rnd() < 0.6:
            kids = self.mo_by_place[(place, 2)]
            if kids:
                k = kids[int(rnd() * len(kids))]
                c_in = max(birth + 30, self.mo_beg[k], insured_from)
                if c_in < b18 - 1:
                    out.append(self._attachment(rng, k, 2, day_of(c_in), day_of(b18 - 1)))
        cands = self.mo_by_place[(place, area)]
        if not cands:  # a reference without such МО: nobody is attached
            return out
        k = cands[int(rnd() * len(cands))]
        lo = max(self.mo_beg[k], insured_from, b18 if area == 1 else birth + 14)
        hi = horizon - 1
        if hi < lo:
            return out
        date_in = hi - int((hi - lo) * rnd() ** 1.3)
        date_out = day_of(closed_on) if closed_on is not None else None
        out.append(self._attachment(rng, k, area, day_of(date_in), date_out))
        return out

    def _attachment(
        self, rng: random.Random, k: int, area: int, date_in: date, date_out: date | None
    ) -> Attachment:
        rnd = rng.random
        section = 1 + int(rnd() * 40)
        doctor = make_snils(_DOCTOR_SNILS_BASE + k * 100 + section) if rnd() < 0.65 else None
        method = 1 if rnd() < 0.75 else 2
        return Attachment(self.mo[k].code, area, str(section), doctor, date_in, date_out, method)

    # ------------------------------------------------------------------ planted duplicates

    def _duplicate(
        self, rng: random.Random, i: int, orig: SyntheticPerson, facets: set[tuple[int, int]]
    ) -> SyntheticPerson | None:
        """A second record of ``orig`` as another СМО might have registered it, with one distortion.

        Returns None (the caller makes a fresh person instead) when the copy cannot get a ЕНП of its own
        in this group or the distortion would contradict the documents.
        """
        rnd = rng.random
        fam, im, ot = orig.fam, orig.im, orig.ot
        bdate = orig.birth_date
        docs = list(orig.documents)
        r = rnd()
        distortion = "name_typo"
        if r < 0.1 and ot:
            distortion, ot = "no_patronymic", None
        elif 0.5 <= r < 0.75:
            main = docs[0]
            digits = main.docnum
            pairs = [k for k in range(len(digits) - 1) if digits[k] != digits[k + 1]]
            if pairs:
                k = pairs[int(rnd() * len(pairs))]
                docs[0] = main._replace(docnum=digits[:k] + digits[k + 1] + digits[k] + digits[k + 2 :])
                distortion = "doc_digits"
        elif r >= 0.75:
            # One digit of the day, made earlier only: every document stays after every birthday.
            day = bdate.day
            options = [d for d in range(10) if 1 <= day // 10 * 10 + d < day]
            if options:
                moved = bdate.replace(day=day // 10 * 10 + options[int(rnd() * len(options))])
                if docs[0].doctype != DOC_BIRTH_CERTIFICATE or _birthday(moved, 14) > self.today:
                    bdate = moved
                    distortion = "birth_digit"
        if distortion == "name_typo":
            if rnd() < 0.7:
                fam = _typo(fam, rng)
            else:
                im = _typo(im, rng)
        facet = (bdate.toordinal(), orig.sex)
        if facet in facets:
            return None
        facets.add(facet)
        enp = make_enp(self.region, bdate, orig.sex, i // ENP_GROUP)
        snils = self._snils(i) if rnd() < 0.3 else None

        # Registered anew by another СМО some time after the original's first registration.
        first = orig.periods[0].dbeg.toordinal() if orig.periods else SINGLE_POLICY_START
        lo = max(first + 30, SINGLE_POLICY_START, bdate.toordinal() + 3)
        hi = self.today - 1
        beg = lo + int(rnd() * max(1, hi - lo)) if hi > lo else hi
        cur = orig.open_period() or (orig.periods[-1] if orig.periods else None)
        exclude = next((k for k, s in enumerate(self.smo) if cur is not None and s.code == cur.smo_code), -1)
        smo_k = self._pick_smo(rng, beg, exclude=exclude)
        beg = max(beg, self.smo_beg[smo_k])
        permit_end = next((p.dend for p in reversed(orig.periods) if p.vpolis != 2), None)
        periods = self._history(
            rng,
            i,
            enp,
            bdate.toordinal(),
            beg,
            self.today,
            False,
            permit_end.toordinal() if permit_end is not None else None,
            None,
            "insured",
        )
        attachments: tuple[Attachment, ...] = ()
        active = [a for a in orig.attachments if a.date_out is None]
        if active and rnd() < 0.35:
            a = active[0]
            date_in = max(a.date_in.toordinal(), beg)
            if date_in < self.today:
                attachments = (a._replace(date_in=self._date(date_in)),)
        earliest = min(
            [beg, *(d.docdate.toordinal() for d in docs), *(a.valid_from.toordinal() for a in orig.addresses)]
        )
        return SyntheticPerson(
            index=i,
            enp=enp,
            fam=fam,
            im=im,
            ot=ot,
            sex=orig.sex,
            birth_date=bdate,
            birth_place=orig.birth_place,
            birth_oksm=orig.birth_oksm,
            c_oksm=orig.c_oksm,
            kateg=orig.kateg,
            snils=snils,
            phone=None,
            email=None,
            status="insured",
            death_date=None,
            documents=tuple(docs),
            addresses=orig.addresses,
            periods=tuple(periods),
            attachments=attachments,
            valid_from=self._date(earliest),
            duplicate_of=orig.index,
            distortion=distortion,
        )
