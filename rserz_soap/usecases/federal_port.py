"""What the register needs from the federal register (ФЕРЗЛ): the port its use cases are written against.

The adapter is ``rserz_soap.federal.client.FederalClient`` (zeep, WS-Security, circuit breaker); tests and
the use cases see only this protocol and its two failures.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Protocol

from rserz_soap.domain.federal import BatchResult, BatchStatus, FederalChange, FederalPerson


class FederalUnavailable(Exception):
    """The federal register cannot answer now (network, timeout, outage, open circuit): try again later."""


class FederalError(Exception):
    """The federal register refused the request, or speaks another API version: trying again will not help."""

    def __init__(self, code: str, text: str) -> None:
        super().__init__(f"{code}: {text}")
        self.code = code
        self.text = text


class FederalRegister(Protocol):
    def start_reconciliation(
        self,
        region: str,
        *,
        enps: Sequence[str] | None = None,
        after_enp: str | None = None,
        limit: int = ...,
        request_id: str | None = None,
    ) -> str: ...

    def reconciliation_status(self, batch_id: str) -> BatchStatus: ...

    def reconciliation_result(self, batch_id: str) -> BatchResult: ...

    def insurance_status_changes(
        self, region: str, dbeg: date, dend: date, *, after: int | None = None, page_size: int = ...
    ) -> tuple[list[FederalChange], bool]: ...

    def get_person_data(self, *, on: date | None = None, **key: object) -> FederalPerson | None: ...
