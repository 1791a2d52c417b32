"""The region's attachment codes and the federal register's: one table, so the two are mapped in one place.

The contract's ``AREA_TYPE`` is the region's numbering of primary-care areas (xsd/common.xsd); ФЕРЗЛ's
``registerAttach`` speaks ``areaType`` 1 therapeutic, 2 obstetric-gynaecological, 3 dental, 4 СМП,
5 ФАП and ``attachMethod`` 1 territorial, 2 personal application, 3 electronic application, 4 order of the
health authority (ФОМС's description of the services, v5.07, §5 — docs/domain-sources.md). Paediatric and
general-practice areas are therapeutic areas to ФЕРЗЛ: the federal table has no code of their own. The
federal 4 (СМП) and 5 (ФАП) have no regional area type yet, so nothing maps to them.

Pure data plus two lookups; the federal client asks them when it sends an attachment.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

__all__ = [
    "AREA_TYPES",
    "ATTACH_METHODS",
    "AttachmentCode",
    "federal_area_type",
    "federal_attach_method",
]


@dataclass(frozen=True)
class AttachmentCode:
    """One regional code: what it means and the federal code it is sent as."""

    code: int
    title: str
    federal: int


#: Regional AREA_TYPE → federal areaType.
AREA_TYPES: Final[Mapping[int, AttachmentCode]] = {
    1: AttachmentCode(1, "терапевтический", 1),
    2: AttachmentCode(2, "педиатрический", 1),
    3: AttachmentCode(3, "врача общей практики (семейного врача)", 1),
    4: AttachmentCode(4, "акушерско-гинекологический", 2),
    5: AttachmentCode(5, "стоматологический", 3),
}

#: Regional attachment METHOD → federal attachMethod. The region's 1 and 2 are the contract's; 3 and 4 are
#: the federal ones, taken over with the same numbers so an МО can state them.
ATTACH_METHODS: Final[Mapping[int, AttachmentCode]] = {
    1: AttachmentCode(1, "по месту жительства (территориальный принцип)", 1),
    2: AttachmentCode(2, "по личному заявлению застрахованного лица", 2),
    3: AttachmentCode(3, "по заявлению, поданному в электронной форме (ЕПГУ)", 3),
    4: AttachmentCode(4, "по распоряжению органа управления здравоохранением", 4),
}


def federal_area_type(area_type: int) -> int | None:
    """The federal ``areaType`` of a regional ``AREA_TYPE``; None when the federal table has none."""
    found = AREA_TYPES.get(area_type)
    return found.federal if found is not None else None


def federal_attach_method(method: int) -> int | None:
    """The federal ``attachMethod`` of a regional attachment ``METHOD``; None when unknown."""
    found = ATTACH_METHODS.get(method)
    return found.federal if found is not None else None
