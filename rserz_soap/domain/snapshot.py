"""Who was insured on a date (domain.md §10): one row of a snapshot."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class InsuredRow:
    person_id: int
    enp: str
    fam: str
    im: str
    ot: str | None
    dr: date
    w: int
    smo_code: str
    vpolis: int
    spolis: str | None
    npolis: str
    dbeg: date
    dend: date | None
    mo_codes: tuple[str, ...]


#: The fields of a published row as its exports read them, in this order (the attachment-list CSV's own
#: column order): every value text — dates as ГГГГ-ММ-ДД, numbers in decimal, an absent value as "" —
#: and ``mo_codes`` the attached МО separated by spaces. An export of a million rows reads them so, straight
#: from PostgreSQL's COPY, with no date or row object built per person.
EXPORT_FIELDS = (
    "enp", "fam", "im", "ot", "dr", "w", "smo_code", "vpolis", "spolis", "npolis", "dbeg", "dend", "mo_codes",
)  # fmt: skip

ExportRow = tuple[str, ...]
