"""Insured-person categories (``KATEG``) and the identity documents each category may hold.

The category table is the one СМО and ТФОМС software exchange (RusBITech rt.srz, concept OID
1.2.643.2.40.3.3.0.6.6, see docs/domain-sources.md): five groups of people the 326-ФЗ art. 10 insures, each
once as working (1–5) and once as not working (6–10), then the stateless temporarily resident (11 working,
12 not) added later, and 0 for "unknown". A non-working citizen is 6 — children and pensioners, most of a
region — so a reading that interleaves the pairs refuses most of the population.

Which documents a group may present, and which of them give a foreigner the right to live in Russia, is
the project's reading of F011 (policy rather than law): it is data here, the ФЛК rules (129, 213, 214)
only look it up. Category 0 has no group: the checks that depend on the group skip it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

__all__ = [
    "CATEGORIES",
    "EAEU_COUNTRIES",
    "GROUPS",
    "Category",
    "CategoryGroup",
    "Citizenship",
    "category",
    "category_group",
    "is_working",
]


class Citizenship(StrEnum):
    """What ``C_OKSM`` a group requires."""

    RF = "RF"  # 643
    FOREIGN = "foreign"  # a country other than 643
    STATELESS = "stateless"  # no C_OKSM (``Б/Г`` on the wire)
    FOREIGN_OR_STATELESS = "foreign_or_stateless"


#: Member states of the Eurasian Economic Union other than Russia (O001 codes). Their working citizens are
#: insured while they stay temporarily, on their labour contract, without a residence permit (Treaty on the
#: EAEU, art. 96–98), so the residence-document check exempts them.
EAEU_COUNTRIES: Final = frozenset({"051", "112", "398", "417"})


@dataclass(frozen=True)
class CategoryGroup:
    """Categories that share the rules on citizenship and documents.

    ``residence_types``: the documents that give the right to live in Russia; one of them must be in the
    record unless the person's citizenship is in ``residence_exempt`` (empty ``residence_types`` means no
    such document is needed: citizens).
    """

    name: str
    title: str
    citizenship: Citizenship
    doc_types: frozenset[int]
    residence_types: frozenset[int] = frozenset()
    residence_exempt: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Category:
    """One KATEG code: its title, its group (None for 0, unknown) and whether the person works."""

    code: int
    title: str
    group: CategoryGroup | None
    working: bool | None


# F011 codes: 9 foreign passport, 10 refugee application certificate, 11 residence permit, 12 refugee
# certificate, 20 complaint against losing refugee status (regional), 21 foreigner's document, 22 stateless
# person's document, 23 temporary residence permit, 24 foreign birth certificate, 25 temporary asylum,
# 26 ЕЭК employee's certificate, 27 copy of the complaint about losing refugee status, 28 other document
# equal to the asylum certificate.
_REFUGEE_DOCS: Final = frozenset({10, 12, 20, 25, 27, 28})

GROUPS: Final[Mapping[str, CategoryGroup]] = {
    "citizen": CategoryGroup("citizen", "гражданин РФ", Citizenship.RF, frozenset({3, 13, 14, 24})),
    "foreign_permanent": CategoryGroup(
        "foreign_permanent",
        "иностранный гражданин, постоянно проживающий в РФ",
        Citizenship.FOREIGN,
        frozenset({9, 11, 21, 24}),
        frozenset({11}),
    ),
    "foreign_temporary": CategoryGroup(
        "foreign_temporary",
        "иностранный гражданин, временно проживающий в РФ",
        Citizenship.FOREIGN,
        frozenset({9, 21, 23, 24, 26}),
        frozenset({23, 26}),
        EAEU_COUNTRIES,
    ),
    "stateless_permanent": CategoryGroup(
        "stateless_permanent",
        "лицо без гражданства, постоянно проживающее в РФ",
        Citizenship.STATELESS,
        frozenset({11, 22, 24}),
        frozenset({11}),
    ),
    "refugee": CategoryGroup(
        "refugee",
        "лицо, имеющее право на медицинскую помощь по закону «О беженцах»",
        Citizenship.FOREIGN_OR_STATELESS,
        _REFUGEE_DOCS | {9, 21, 22},
        _REFUGEE_DOCS,
    ),
    "stateless_temporary": CategoryGroup(
        "stateless_temporary",
        "лицо без гражданства, временно проживающее в РФ",
        Citizenship.STATELESS,
        frozenset({22, 23, 24}),
        frozenset({23}),
    ),
}

#: (working code, non-working code) of each group, in the table's order.
_PAIRS: Final = (
    ("citizen", 1, 6),
    ("foreign_permanent", 2, 7),
    ("foreign_temporary", 3, 8),
    ("stateless_permanent", 4, 9),
    ("refugee", 5, 10),
    ("stateless_temporary", 11, 12),
)


def _table() -> dict[int, Category]:
    table = {0: Category(0, "категория не известна", None, None)}
    for name, working, idle in _PAIRS:
        group = GROUPS[name]
        table[working] = Category(working, f"работающий: {group.title}", group, True)
        table[idle] = Category(idle, f"неработающий: {group.title}", group, False)
    return dict(sorted(table.items()))


#: KATEG → its category (codes 0–12).
CATEGORIES: Final[Mapping[int, Category]] = _table()


def category(kateg: int) -> Category | None:
    """The category of a KATEG code, or None for a code outside the table."""
    return CATEGORIES.get(kateg)


def category_group(kateg: int) -> CategoryGroup | None:
    """The group whose citizenship and document rules apply; None for 0 (unknown) and unknown codes."""
    found = CATEGORIES.get(kateg)
    return found.group if found is not None else None


def is_working(kateg: int) -> bool | None:
    """Whether the category says the person works (the answers' ``WORKING``); None when it cannot tell."""
    found = CATEGORIES.get(kateg)
    return found.working if found is not None else None
