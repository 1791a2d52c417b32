"""The federal register as the console asks it: one lookup by a key, and a card compared field by field.

Kept to two small functions over a port of their own (``PersonLookup``: ФОМС's getPersonData and
findPersonsByPersCriteria, §3.1.2 and §3.1.4, as ``federal/mpi_client.py`` offers them), so a new API
version changes nothing here as long as those keep their meaning. The client is built on
first use (it needs the hub's keys) and its failures become a sentence on the page, never an error page.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from rserz_soap.db.uow import UnitOfWork
from rserz_soap.domain.federal import FederalPerson
from rserz_soap.usecases import identify, manual, reconcile
from rserz_soap.usecases.federal_port import FederalError, FederalUnavailable

log = logging.getLogger(__name__)


class PersonLookup(Protocol):
    """What the console asks ФЕРЗЛ: a card by a key (§3.1.2), persons by name (§3.1.4)."""

    def person(
        self,
        *,
        oip: str | None = None,
        enp: str | None = None,
        policy: tuple[str | None, str] | None = None,
        document: tuple[int, str | None, str] | None = None,
        snils: tuple[str, date | None] | None = None,
        on: date | None = None,
    ) -> FederalPerson | None: ...

    def find_persons(
        self, fam: str, im: str | None, ot: str | None, dr: date | None, *, page: int = 1, size: int = 20
    ) -> tuple[int, list[tuple[str, str | None, str]]]: ...


@dataclass(frozen=True)
class FederalAnswer:
    person: FederalPerson | None
    error: str | None = None


@dataclass(frozen=True)
class FieldComparison:
    field: str
    regional: str | None
    federal: str | None
    category: str  # equal, differs, accepted_deviation


def key_for(group: str, values: dict[str, Any]) -> dict[str, Any]:
    """The port's search key for a key group of the search form (``identify.Key.group``)."""
    dr = values.get("dr")
    if group == "ENP":
        return {"enp": values["enp"]}
    if group == "POLIS":
        return {"policy": (None, values["npolis"])}
    if group == "DOC":
        return {"document": (int(values["doctype"]), values.get("docser"), values["docnum"])}
    if group == "SS":
        return {"snils": (values["ss"], dr)}
    return {"fio": (values["fam"], values.get("im"), values.get("ot"), dr)}


def lookup(federal: Callable[[], PersonLookup], key: dict[str, Any], on: date | None = None) -> FederalAnswer:
    """The federal card a key finds, or why there is none. By name ФЕРЗЛ answers a list (§3.1.4): one
    person is then read by their ОИП; several are reported as such."""
    try:
        client = federal()
        if "fio" in key:
            fam, im, ot, dr = key["fio"]
            count, found = client.find_persons(fam, im, ot, dr, size=2)
            if count != 1 or not found:
                return FederalAnswer(None, None if count == 0 else f"ФЕРЗЛ: найдено {count}, уточните ключ")
            return FederalAnswer(client.person(oip=found[0][2], on=on))
        return FederalAnswer(client.person(on=on, **key))
    except FederalUnavailable as exc:
        return FederalAnswer(None, f"ФЕРЗЛ недоступен: {exc}")
    except FederalError as exc:
        return FederalAnswer(None, f"ФЕРЗЛ отказал: {exc.code} {exc.text}")
    except (RuntimeError, OSError, ValueError) as exc:
        log.warning("ФЕРЗЛ lookup from the console failed: %s", exc)
        return FederalAnswer(None, f"ФЕРЗЛ не настроен: {exc}")


NAMES = ("fam", "im", "ot", "dr")


def _names(fam: str | None, im: str | None, ot: str | None, dr: date | None) -> dict[str, str | None]:
    def norm(v: str | None) -> str | None:
        return v.strip().upper().replace("Ё", "Е") or None if v else None

    return {"fam": norm(fam), "im": norm(im), "ot": norm(ot), "dr": dr.isoformat() if dr else None}


def compare(uow: UnitOfWork, person_id: int, enp: str, federal: FederalPerson) -> list[FieldComparison]:
    """Every compared field of the regional and the federal card, the way reconciliation compares them
    (same normalisation, pinned fields as accepted deviations); the federal values are remembered, so the
    buffer flags a change that contradicts them and the manual change can offer them."""
    rows = reconcile.regional_rows(uow, enps=[enp], limit=1)
    card = identify.person_data(uow, enp)
    if not rows or card is None:
        return []
    # reconciliation compares what the витрина carries; a card from getPersonData also has the name and
    # the birth date, so the console compares those too
    ours = {**_names(card.data.fam, card.data.im, card.data.ot, card.data.dr), **rows[0].values}
    theirs = {**_names(federal.fam, federal.im, federal.ot, federal.dr), **reconcile.federal_values(federal)}
    pins = set(manual.pinned_fields(uow, person_id))
    out = []
    for name in (*NAMES, *reconcile.FIELDS):
        if ours[name] == theirs[name]:
            category = "equal"
        else:
            category = "accepted_deviation" if name in pins else "differs"
        out.append(FieldComparison(name, ours[name], theirs[name], category))
    manual.remember_federal(
        uow,
        person_id,
        {n: federal.card_value(n) for n in (*NAMES, *reconcile.CORRECTABLE)},
        source="console",
    )
    return out
