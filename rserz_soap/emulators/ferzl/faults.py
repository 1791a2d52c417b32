"""Fault switches of the ФЕРЗЛ emulator: the misbehaviour of a real federal service, on demand.

The switches live in the emulator's database (``fed_fault``, one row) so that every emulator process
sees the same ones; a process re-reads them at most every half second. Tests and stand operators set
them through ``PUT /ferzl/_control/faults``:

* ``latency_ms`` — every answer waits that long;
* ``error_rate`` — that share of requests gets a SOAP Fault ``MPI-500`` (HTTP 500);
* ``timeout_rate`` with ``hang_seconds`` — that share waits ``hang_seconds`` before answering, so a
  client with a shorter operation timeout gives up;
* ``outage_until`` — until then every SOAP request gets HTTP 503 with a plain-text body, no SOAP at all;
* ``duplicate_rate`` — getInsuranceStatusChanges repeats that share of its changes and
  getReconciliationResult that share of its persons (the client must de-duplicate).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Engine

from rserz_soap.emulators import faults
from rserz_soap.emulators.ferzl.store import fed_fault

__all__ = ["FaultSwitch", "Faults"]


@dataclass(frozen=True)
class Faults(faults.Switches):
    """The switches; the defaults mean a well-behaved service."""

    RATES = ("error_rate", "timeout_rate", "duplicate_rate")
    NOT_NEGATIVE = ("latency_ms", "hang_seconds")

    latency_ms: int = 0
    error_rate: float = 0.0
    timeout_rate: float = 0.0
    hang_seconds: float = 60.0
    outage_until: dt.datetime | None = None
    duplicate_rate: float = 0.0


class FaultSwitch(faults.FaultSwitch[Faults]):
    """The switches of one ФЕРЗЛ process, ``fed_fault`` read with a short cache."""

    def __init__(self, engine: Engine, *, cache_seconds: float = faults.CACHE_SECONDS) -> None:
        super().__init__(engine, fed_fault, Faults, cache_seconds=cache_seconds)
