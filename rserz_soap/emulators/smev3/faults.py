"""Fault switches of the СМЭВ 3 emulator (``PUT /smev3/_control/faults``), shared through its database.

* ``latency_ms`` — every answer waits that long;
* ``error_rate`` — that share of requests gets ``SMEVFailure`` (a server fault: try again later);
* ``outage_until`` — until then every SOAP request gets HTTP 503 with a plain-text body;
* ``duplicate_rate`` — that share of acknowledged messages is delivered once more (the client must
  recognise it by its MessageID);
* ``strict_signatures`` — off: a request whose signature does not hold is served anyway (logged), for
  an integrator who wants to see the rest of the exchange first;
* ``redelivery_seconds`` — a delivered message not acknowledged for that long is delivered again
  (default ``RSERZ_SMEV_REDELIVERY``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Engine

from rserz_soap.emulators import faults
from rserz_soap.emulators.smev3.store import mx_fault

__all__ = ["FaultSwitch", "Faults"]


@dataclass(frozen=True)
class Faults(faults.Switches):
    RATES = ("error_rate", "duplicate_rate")
    NOT_NEGATIVE = ("latency_ms", "redelivery_seconds")

    latency_ms: int = 0
    error_rate: float = 0.0
    outage_until: dt.datetime | None = None
    duplicate_rate: float = 0.0
    strict_signatures: bool = True
    redelivery_seconds: float | None = None


class FaultSwitch(faults.FaultSwitch[Faults]):
    def __init__(self, engine: Engine) -> None:
        super().__init__(engine, mx_fault, Faults)
