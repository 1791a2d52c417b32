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
