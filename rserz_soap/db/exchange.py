"""The exchange journal: one row per inbound request and per outbound call (ФЕРЗЛ, СМЭВ).

Bodies hold personal data (152-ФЗ): they are stored only for participants whose ``log_bodies`` is on.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import Connection, insert, select

from rserz_soap.db.tables import exchange_journal, participant


@dataclass(frozen=True)
class ExchangeRecord:
    correlation_id: uuid.UUID
    direction: str  # "in" | "out"
    service: str
    operation: str
    outcome: str  # ok | fault | error
    participant_id: int | None = None
    peer: str | None = None
    request_id: uuid.UUID | None = None
    signature_result: str | None = None
    error_code: str | None = None
    duration_ms: int | None = None
    request_body: str | None = None
    response_body: str | None = None


def log_bodies_for(conn: Connection, participant_id: int | None) -> bool:
    if participant_id is None:
        return False
    return bool(
        conn.execute(select(participant.c.log_bodies).where(participant.c.id == participant_id)).scalar()
    )


def record(conn: Connection, rec: ExchangeRecord, *, log_bodies: bool | None = None) -> None:
    """Journal one exchange; bodies are dropped unless body logging is enabled for the participant.

    ``log_bodies`` is the participant's setting when the caller already knows it (the SOAP gate caches
    participants), saving a query per request.
    """
    keep = log_bodies_for(conn, rec.participant_id) if log_bodies is None else log_bodies
    conn.execute(
        insert(exchange_journal).values(
            correlation_id=rec.correlation_id,
            direction=rec.direction,
            participant_id=rec.participant_id,
            peer=rec.peer,
            service=rec.service,
            operation=rec.operation,
            request_id=rec.request_id,
            signature_result=rec.signature_result,
            outcome=rec.outcome,
            error_code=rec.error_code,
            duration_ms=rec.duration_ms,
            request_body=rec.request_body if keep else None,
            response_body=rec.response_body if keep else None,
        )
    )
