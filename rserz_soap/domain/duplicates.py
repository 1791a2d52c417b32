"""Duplicate persons: how likely two cards describe one human, by the key combinations of the federal rules.

Why keys and not one overall similarity: the federal duplicate-search rules (and the operators who review
the candidates) reason in *key combinations* — "same name, birth date and birth place", "same identity
document" … — so a score that says which combinations matched, and why, can be checked by a person and
compared with what ФЕРЗЛ reports. Each key has a weight: the probability-like strength of that key alone.
Keys are combined as independent evidence (``1 − Π(1 − wᵢ)``), so a second matching key raises the score
without ever passing 1, and the strongest key alone sets a floor.

Why typos are tolerated: duplicates exist *because* someone keyed a person in differently — a surname with
two letters swapped, a passport number with two digits swapped, Ё written as Е. Exact keys would miss the
very records the search is for. A part that matches only with a typo still counts, with its key's weight
reduced by the part's factor in :data:`TYPO_FACTORS`, so a typo match always ranks below an exact one.

Why a penalty for a different sex: twins and siblings share a birth date or an address; a different sex is
the cheapest strong evidence that two otherwise alike cards are two people.

Everything that is policy — the keys, their weights, the typo factors, the penalty, the words dropped from
places and addresses — is data in this module, not logic; the functions only apply it. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from enum import IntEnum
from typing import Final

from rserz_soap.domain.person import Address, Document, PersonCard, PersonData

__all__ = [
    "KEYS",
    "PENALTIES",
    "TYPO_FACTORS",
    "DuplicateKey",
    "DuplicateScore",
    "KeyMatch",
    "Level",
    "PartMatch",
    "compare_parts",
    "edit_distance",
    "normalize_name",
    "score",
    "swapped_variants",
]


class Level(IntEnum):
    """How well one part (name, birth date, document …) of two cards agrees."""

    NONE = 0  # differs, or one side does not have it
    TYPO = 1  # agrees up to a typical keying error
    EXACT = 2  # agrees after normalisation


@dataclass(frozen=True)
class DuplicateKey:
    """A key combination of the federal rules: every part must agree for the key to match."""

    name: str
    parts: tuple[str, ...]
    weight: float
    description: str


#: The key combinations (their order does not matter: every matching key is combined). Weights: a СНИЛС
#: with the name and birth date is near proof; a document is unique per human but is sometimes keyed onto
#: the wrong person; name + birth date + place is strong but namesakes exist; the two
#: address keys are weak on purpose (family members share an address, twins share a birth date) and only
#: just pass the default candidate threshold of the service layer (0.5) when they match exactly.
KEYS: Final[tuple[DuplicateKey, ...]] = (
    DuplicateKey("name_birth_place", ("name", "dr", "mr"), 0.85, "ФИО + дата рождения + место рождения"),
    DuplicateKey("document", ("document",), 0.90, "документ, удостоверяющий личность (тип, серия, номер)"),
    DuplicateKey("name_birth_snils", ("name", "dr", "snils"), 0.98, "ФИО + дата рождения + СНИЛС"),
    DuplicateKey("birth_address", ("dr", "address"), 0.55, "дата рождения + адрес регистрации"),
    DuplicateKey("name_address", ("name", "address"), 0.60, "ФИО + адрес регистрации"),
    DuplicateKey("snils", ("snils",), 0.80, "СНИЛС"),
)

#: A part that agrees only up to a typo multiplies the weight of every key it takes part in by this factor.
TYPO_FACTORS: Final[Mapping[str, float]] = {
    "name": 0.85,  # one edit per name part, at most two in the whole name; or a patronymic on one side only
    "dr": 0.80,  # one digit changed or two adjacent digits swapped in ДДММГГГГ, or day and month swapped
    "mr": 0.90,  # one place named with more detail than the other ("Северск" / "г. Северск Томской обл.")
    "document": 0.75,  # two adjacent digits of the series or number swapped
}

#: Evidence against: the total is multiplied by the factor of each penalty that applies.
PENALTIES: Final[Mapping[str, float]] = {
    "sex_differs": 0.5,
}

#: A name part shorter than this must agree exactly: one edit in "Ян" is another name, not a typo.
MIN_TYPO_LENGTH: Final = 4
#: At most this many edits over the whole name (фамилия, имя, отчество together) still count as a typo.
MAX_NAME_EDITS: Final = 2

#: Words that say what kind of place follows; written or left out at will, so they never decide a match.
PLACE_NOISE: Final[frozenset[str]] = frozenset(
    {
        "г",
        "гор",
        "город",
        "с",
        "село",
        "п",
        "пос",
        "поселок",
        "пгт",
        "рп",
        "д",
        "дер",
        "деревня",
        "ст",
        "ст-ца",
        "станица",
        "х",
        "хутор",
        "р-н",
        "р",
        "н",
        "район",
        "обл",
        "область",
        "край",
        "респ",
        "республика",
        "ао",
        "автономный",
        "округ",
        "а",
        "о",
        "ссср",
        "рсфср",
    }
)
#: Words that say what kind of address part follows.
ADDRESS_NOISE: Final[frozenset[str]] = PLACE_NOISE | frozenset(
    {
        "ул",
        "улица",
        "пр",
        "пр-т",
        "пр-кт",
        "просп",
        "проспект",
        "пер",
        "переулок",
        "ш",
        "шоссе",
        "б-р",
        "бульвар",
        "пл",
        "площадь",
        "наб",
        "набережная",
        "мкр",
        "микрорайон",
        "дом",
        "кв",
        "квартира",
        "корп",
        "к",
        "стр",
        "строение",
    }
)

_NAME_SEPARATORS = re.compile(r"[\s\-‐‑‒–—'’`´.]+")
_WORDS = re.compile(r"[0-9a-zа-я]+(?:-[0-9a-zа-я]+)*")


@dataclass(frozen=True)
class PartMatch:
    level: Level
    reason: str = ""


@dataclass(frozen=True)
class KeyMatch:
    """A key that matched: its weight after typo factors, and the agreements that made it match."""

    key: str
    description: str
    weight: float
    reasons: tuple[str, ...]

    @property
    def exact(self) -> bool:
        return all(not r.startswith("~") for r in self.reasons)


@dataclass(frozen=True)
class DuplicateScore:
    """``total`` in 0..1; ``keys`` the matched keys, strongest first; ``penalties`` evidence against."""

    total: float
    keys: tuple[KeyMatch, ...]
    penalties: tuple[str, ...] = ()

    @property
    def matched(self) -> frozenset[str]:
        return frozenset(k.key for k in self.keys)

    def key(self, name: str) -> KeyMatch | None:
        return next((k for k in self.keys if k.key == name), None)


def score(a: PersonCard, b: PersonCard) -> DuplicateScore:
    """How likely ``a`` and ``b`` are one human (symmetric), with the keys that say so."""
    parts = compare_parts(a, b)
    matches: list[KeyMatch] = []
    for key in KEYS:
        found = [parts[p] for p in key.parts]
        if any(m.level is Level.NONE for m in found):
            continue
        weight = key.weight
        for part, m in zip(key.parts, found, strict=True):
            if m.level is Level.TYPO:
                weight *= TYPO_FACTORS[part]
        matches.append(KeyMatch(key.name, key.description, round(weight, 6), tuple(m.reason for m in found)))
    miss = 1.0
    for km in matches:
        miss *= 1.0 - km.weight
    total = 1.0 - miss if matches else 0.0
    penalties: list[str] = []
    if a.data.w != b.data.w:
        penalties.append("sex_differs")
        total *= PENALTIES["sex_differs"]
    matches.sort(key=lambda m: (-m.weight, m.key))
    return DuplicateScore(round(min(max(total, 0.0), 1.0), 6), tuple(matches), tuple(penalties))


def compare_parts(a: PersonCard, b: PersonCard) -> dict[str, PartMatch]:
    """Every part the keys are made of, compared once. Reasons of typo matches start with ``~``."""
    return {part: compare(a, b) for part, compare in _PARTS.items()}


# --- parts ---------------------------------------------------------------------------------------------


def normalize_name(value: str | None) -> str:
    """Case, Ё/Е, hyphens, apostrophes and dots are how a name was typed, not which name it is."""
    if not value:
        return ""
    return _NAME_SEPARATORS.sub(" ", value.lower().replace("ё", "е")).strip()


def _names(a: PersonCard, b: PersonCard) -> PartMatch:
    return _compare_names(a.data, b.data)


def _compare_names(a: PersonData, b: PersonData) -> PartMatch:
    edits = 0
    notes: list[str] = []
    for label, x, y in (("фамилия", a.fam, b.fam), ("имя", a.im, b.im), ("отчество", a.ot, b.ot)):
        nx, ny = normalize_name(x), normalize_name(y)
        if nx == ny:
            continue
        if label == "отчество" and (not nx or not ny):
            edits += 1
            notes.append("отчество только в одной записи")
            continue
        if min(len(nx), len(ny)) < MIN_TYPO_LENGTH or edit_distance(nx, ny, limit=1) > 1:
            return PartMatch(Level.NONE)
        edits += 1
        notes.append(f"{label} {x!s} / {y!s}")
    if edits == 0:
        return PartMatch(Level.EXACT, "ФИО совпадают")
    if edits > MAX_NAME_EDITS:
        return PartMatch(Level.NONE)
    return PartMatch(Level.TYPO, "~ФИО с опечаткой: " + "; ".join(notes))


def _birth_dates(a: PersonCard, b: PersonCard) -> PartMatch:
    x, y = a.data.dr, b.data.dr
    if x == y:
        return PartMatch(Level.EXACT, "дата рождения совпадает")
    if _date_typo(x, y):
        return PartMatch(Level.TYPO, f"~дата рождения с опечаткой: {x:%d.%m.%Y} / {y:%d.%m.%Y}")
    return PartMatch(Level.NONE)


def _date_typo(x: date, y: date) -> bool:
    if (x.year, x.month, x.day) == (y.year, y.day, y.month):
        return True
    return edit_distance(f"{x:%d%m%Y}", f"{y:%d%m%Y}", limit=1) <= 1


def _birth_places(a: PersonCard, b: PersonCard) -> PartMatch:
    x, y = _words(a.data.mr, PLACE_NOISE), _words(b.data.mr, PLACE_NOISE)
    if not x or not y:
        return PartMatch(Level.NONE)
    if x == y:
        return PartMatch(Level.EXACT, "место рождения совпадает")
    if set(x) <= set(y) or set(y) <= set(x) or edit_distance(" ".join(x), " ".join(y), limit=1) <= 1:
        return PartMatch(Level.TYPO, f"~место рождения: {a.data.mr} / {b.data.mr}")
    return PartMatch(Level.NONE)


def _documents(a: PersonCard, b: PersonCard) -> PartMatch:
    best = PartMatch(Level.NONE)
    for da in sorted(a.documents, key=_doc_order):
        for db in sorted(b.documents, key=_doc_order):
            level = _document_level(da, db)
            if level > best.level:
                t, s, n = da.key
                if level is Level.EXACT:
                    best = PartMatch(level, f"документ {t} {s} {n} совпадает")
                else:
                    other = f"{db.key[1]} {db.key[2]}"
                    best = PartMatch(level, f"~документ {t}: {s} {n} / {other} (переставлены цифры)")
    return best


def _doc_order(d: Document) -> tuple[int, str, str]:
    return d.key


def _document_level(x: Document, y: Document) -> Level:
    (tx, sx, nx), (ty, sy, ny) = x.key, y.key
    if tx != ty or not nx or not ny:
        return Level.NONE
    if (sx, nx) == (sy, ny):
        return Level.EXACT
    if (sx == sy and ny in swapped_variants(nx)) or (nx == ny and sy in swapped_variants(sx)):
        return Level.TYPO
    return Level.NONE


def _snils(a: PersonCard, b: PersonCard) -> PartMatch:
    x, y = _digits(a.data.ss), _digits(b.data.ss)
    if len(x) == 11 and x == y:
        return PartMatch(Level.EXACT, f"СНИЛС {x} совпадает")
    return PartMatch(Level.NONE)


def _registration_addresses(a: PersonCard, b: PersonCard) -> PartMatch:
    x, y = _registration(a.addresses), _registration(b.addresses)
    if x is None or y is None:
        return PartMatch(Level.NONE)
    same_flat = _words(x.flat, ADDRESS_NOISE) == _words(y.flat, ADDRESS_NOISE)
    if x.fias_guid and y.fias_guid and x.fias_guid.lower() == y.fias_guid.lower() and same_flat:
        return PartMatch(Level.EXACT, "адрес регистрации совпадает (ФИАС)")
    kx, ky = _address_key(x), _address_key(y)
    if kx is not None and kx == ky:
        return PartMatch(Level.EXACT, "адрес регистрации совпадает")
    return PartMatch(Level.NONE)


def _registration(addresses: Iterable[Address]) -> Address | None:
    found = sorted((a for a in addresses if a.kind == "G"), key=lambda a: (a.okato or "", a.fias_guid or ""))
    return found[0] if found else None


def _address_key(a: Address) -> tuple[tuple[str, ...], ...] | None:
    """Settlement, street, house and flat as words; None when too little is known to compare."""
    settlement, street, house = (_words(v, ADDRESS_NOISE) for v in (a.settlement, a.street, a.house))
    if not (settlement and street and house):
        return None
    return settlement, street, house, _words(a.flat, ADDRESS_NOISE)


_PARTS: Final[Mapping[str, Callable[[PersonCard, PersonCard], PartMatch]]] = {
    "name": _names,
    "dr": _birth_dates,
    "mr": _birth_places,
    "document": _documents,
    "snils": _snils,
    "address": _registration_addresses,
}


# --- text helpers ----------------------------------------------------------------------------------------


def edit_distance(a: str, b: str, *, limit: int | None = None) -> int:
    """Damerau-Levenshtein distance (optimal string alignment: an adjacent swap is one edit).

    ``limit`` lets the caller stop early: any answer above it is returned as ``limit + 1``. Names are
    compared with a limit of 1, so most pairs are settled by the length check alone.
    """
    if a == b:
        return 0
    cap = max(len(a), len(b)) if limit is None else limit
    if abs(len(a) - len(b)) > cap:
        return cap + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if min(cur) > cap:
            return cap + 1
        prev2, prev = prev, cur
    return min(prev[-1], cap + 1)


def swapped_variants(value: str) -> list[str]:
    """``value`` with each pair of adjacent different digits swapped: the typo a document search forgives."""
    out: list[str] = []
    for i in range(len(value) - 1):
        x, y = value[i], value[i + 1]
        if x != y and x.isdigit() and y.isdigit():
            out.append(value[:i] + y + x + value[i + 2 :])
    return out


def _words(value: str | None, noise: frozenset[str]) -> tuple[str, ...]:
    if not value:
        return ()
    text = value.lower().replace("ё", "е")
    return tuple(w for w in _WORDS.findall(text) if w not in noise)


def _digits(value: str | None) -> str:
    return "".join(c for c in value if c.isdigit()) if value else ""
