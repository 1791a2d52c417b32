"""Military service: insurance suspended in ФЕРЗЛ and in the register (326-ФЗ art. 10; ФОМС's description
v5.07 §3.5 ``suspendOmsPolicy``).

The военкомат lists reach the territorial fund (the routine import of those lists calls
:func:`suspend_for_service`); ФЕРЗЛ suspends the policies it accepts (status НВС, event ПРИОСТ) and the
register suspends the same persons: the open period stops on the service's start, the ЕНП is kept, the
insurer gets its STOPLIST entry. The end of the service comes back as ФЕРЗЛ's ВОССТ event.

Once per list: the caller names the list (``list_id``), every attempt sends the same externalRequestId, so
ФЕРЗЛ answers a repeat with the operation it started the first time; a person suspended already is left
as they are. A person the register does not hold, or ФЕРЗЛ refuses, is reported, never guessed.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from rserz_soap.db.uow import UnitOfWork
from rserz_soap.domain.federal import MilitaryService
from rserz_soap.usecases import federal_events
from rserz_soap.usecases.federal_port import FederalUnavailable

LIST_NAMESPACE = uuid.UUID("6d0c1d3e-8f8a-4b8e-9a55-6c5f0b1e7a31")


class SuspensionPort(Protocol):
    def suspend(self, request_id: str, persons: Sequence[MilitaryService]) -> str: ...

    def suspended(self, token: str) -> dict[str, tuple[str | None, tuple[tuple[str, str], ...]]] | None: ...


@dataclass
class SuspensionReport:
    suspended: list[str] = field(default_factory=list)  # localPersonIndex of persons suspended now
    already: list[str] = field(default_factory=list)  # suspended before (a repeated list)
    refused: dict[str, str] = field(default_factory=dict)  # by ФЕРЗЛ: index → its error
    unknown: list[str] = field(default_factory=list)  # accepted by ФЕРЗЛ, not in the register: for review


def suspend_for_service(
    uow: UnitOfWork,
    federal: SuspensionPort,
    list_id: str,
    persons: Sequence[MilitaryService],
    *,
    poll_seconds: float = 0.2,
    max_polls: int = 3000,
    sleep: Callable[[float], None] = time.sleep,
) -> SuspensionReport:
    """Suspend the insurance of a военкомат list's persons in ФЕРЗЛ, then in the register."""
    request_id = str(uuid.uuid5(LIST_NAMESPACE, list_id))
    token = federal.suspend(request_id, persons)
    results = None
    for _ in range(max_polls):
        results = federal.suspended(token)
        if results is not None:
            break
        sleep(poll_seconds)
    if results is None:
        raise FederalUnavailable(f"ФЕРЗЛ suspendOmsPolicy of list {list_id}: not done")
    report = SuspensionReport()
    for p in persons:
        _oip, errors = results.get(p.index, (None, (("?", "no result for this person"),)))
        if errors:
            report.refused[p.index] = "; ".join(f"{c} {m}" for c, m in errors)
            continue
        with uow:
            ids = uow.search.by_document(p.document.doctype, p.document.docser, p.document.docnum)
            if len(ids) != 1 and p.snils:
                ids = uow.search.by_snils(p.snils, p.dr)
            if len(ids) != 1:
                report.unknown.append(p.index)
                continue
            outcome = federal_events.suspend(
                uow,
                ids[0],
                p.start,
                "ВОЕНКОМАТ",
                f"список военкомата {list_id}: служба с {p.start}",
                "military",
            )
        (report.suspended if outcome == "applied" else report.already).append(p.index)
    return report
