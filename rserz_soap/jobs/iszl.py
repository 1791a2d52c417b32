"""Pushing the register's events to the ИСЗЛ (usecases/iszl.py) every few seconds.

An unreachable ИСЗЛ is one warning line per attempt and its reason kept beside the cursor (``rserz status``);
the events wait at the cursor and the next tick sends them — nothing is retried out of order.
"""

from __future__ import annotations

import logging
from typing import Any

from rserz_soap.config import load_settings
from rserz_soap.domain.iszl import parse_kinds
from rserz_soap.iszl.client import IszlClient
from rserz_soap.jobs.resources import database
from rserz_soap.usecases import iszl

log = logging.getLogger(__name__)


def deliver_events() -> dict[str, Any]:
    settings = load_settings()
    with database() as db:
        client = IszlClient.from_settings(settings)
        try:
            report = iszl.deliver(db.unit_of_work(), client, parse_kinds(settings.iszl_events))
        except iszl.IszlUnavailable as exc:
            log.warning("ИСЗЛ notifications wait: %s", exc)
            iszl.failed(db.unit_of_work(), str(exc))
            return {"waiting": str(exc)}
    if report.sent:
        log.info(
            "ИСЗЛ: %d events sent (%s), up to feed position %d", report.sent, report.by_kind, report.position
        )
    return {"sent": report.sent, "skipped": report.skipped, "position": report.position}
