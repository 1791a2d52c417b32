"""The federal register as the console asks it: one lookup by a key, and a card compared field by field.

Kept to two small functions over the port (``usecases/federal_port.py``), so a reworked client or a new
API version changes nothing here as long as ``get_person_data`` keeps its meaning. The client is built on
first use (it needs the hub's keys) and its failures become a sentence on the page, never an error page.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from rserz_soap.db.uow import UnitOfWork
from rserz_soap.domain.federal import FederalPerson
from rserz_soap.usecases import manual, reconcile
from rserz_soap.usecases.federal_port import FederalError, FederalRegister, FederalUnavailable

log = logging.getLogger(__name__)


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
        return {"policy": {"policyNum": values["npolis"]}}
    if group == "DOC":
        return {
            "document": {
                "docType": values["doctype"],
                "docSer": values.get("docser"),
                "docNum": values["docnum"],
            }
        }
    if group == "SS":
        return {"snils": {"snils": values["ss"], "birthDate": dr}}
    return {"fio": {"fam": values["fam"], "im": values.get("im"), "ot": values.get("ot"), "birthDate": dr}}


def lookup(
    federal: Callable[[], FederalRegister], key: dict[str, Any], on: date | None = None
) -> FederalAnswer:
    """The federal card a key finds, or why there is none."""
    try:
        return FederalAnswer(federal().get_person_data(on=on, **key))
    except FederalUnavailable as exc:
        return FederalAnswer(None, f"ФЕРЗЛ недоступен: {exc}")
    except FederalError as exc:
        return FederalAnswer(None, f"ФЕРЗЛ отказал: {exc.code} {exc.text}")
    except (RuntimeError, OSError, ValueError) as exc:
        log.warning("ФЕРЗЛ lookup from the console failed: %s", exc)
        return FederalAnswer(None, f"ФЕРЗЛ не настроен: {exc}")


def compare(uow: UnitOfWork, person_id: int, enp: str, federal: FederalPerson) -> list[FieldComparison]:
    """Every compared field of the regional and the federal card, the way reconciliation compares them
    (same normalisation, pinned fields as accepted deviations); the federal values are remembered, so the
    buffer flags a change that contradicts them and the manual change can offer them."""
    rows = reconcile.regional_rows(uow, enps=[enp], limit=1)
    if not rows:
        return []
    ours = rows[0].values
    theirs = reconcile.federal_values(federal)
    pins = set(manual.pinned_fields(uow, person_id))
    out = []
    for name in reconcile.FIELDS:
        if ours[name] == theirs[name]:
            category = "equal"
        else:
            category = "accepted_deviation" if name in pins else "differs"
        out.append(FieldComparison(name, ours[name], theirs[name], category))
    manual.remember_federal(
        uow, person_id, {n: federal.card_value(n) for n in reconcile.CORRECTABLE}, source="console"
    )
    return out
