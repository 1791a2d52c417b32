"""Idempotent writes: a client's REQUEST_ID is answered once; a repeat gets the stored answer.

The key is claimed in the same transaction that applies the request, so "applied" and "remembered"
commit together: a crash between them is impossible, and a concurrent repeat waits on the row lock and
then sees the stored response.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass

from sqlalchemy import Connection, select, update
from sqlalchemy.dialects.postgresql import insert

from rserz_soap.db.tables import idempotency_key


class Claim(enum.Enum):
    NEW = "new"  # first time: process it, then store the response
    REPEAT = "repeat"  # same id, same body: answer with the stored response
    CONFLICT = "conflict"  # same id, different body: refuse


@dataclass(frozen=True)
class ClaimResult:
    claim: Claim
    stored_response: str | None = None


def claim(
    conn: Connection, participant_id: int, request_id: uuid.UUID, operation: str, request_sha256: str
) -> ClaimResult:
    """Claim ``request_id`` for this participant inside the caller's transaction."""
    inserted = conn.execute(
        insert(idempotency_key)
        .values(
            participant_id=participant_id,
            request_id=request_id,
            operation=operation,
            request_sha256=request_sha256,
        )
        .on_conflict_do_nothing(
            index_elements=[idempotency_key.c.participant_id, idempotency_key.c.request_id]
        )
        .returning(idempotency_key.c.request_id)
    ).first()
    if inserted is not None:
        return ClaimResult(Claim.NEW)
    row = conn.execute(
        select(idempotency_key.c.operation, idempotency_key.c.request_sha256, idempotency_key.c.response_body)
        .where(idempotency_key.c.participant_id == participant_id, idempotency_key.c.request_id == request_id)
        .with_for_update()
    ).one()
    if row.request_sha256 != request_sha256 or row.operation != operation:
        return ClaimResult(Claim.CONFLICT)
    return ClaimResult(Claim.REPEAT, row.response_body)


def remember(conn: Connection, participant_id: int, request_id: uuid.UUID, response_body: str) -> None:
    conn.execute(
        update(idempotency_key)
        .where(idempotency_key.c.participant_id == participant_id, idempotency_key.c.request_id == request_id)
        .values(response_body=response_body)
    )


class IdempotencyKeys:
    """REQUEST_IDs inside one unit of work: claimed, and answered, in the transaction of the work."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def claim(
        self, participant_id: int, request_id: uuid.UUID, operation: str, request_sha256: str
    ) -> ClaimResult:
        return claim(self._conn, participant_id, request_id, operation, request_sha256)

    def remember(self, participant_id: int, request_id: uuid.UUID, response_body: str) -> None:
        remember(self._conn, participant_id, request_id, response_body)

    def stored(self, participant_id: int, request_id: uuid.UUID) -> tuple[str, str, str | None] | None:
        """(operation, fingerprint, stored answer) of a claimed id, without claiming it; None if unclaimed."""
        k = idempotency_key.c
        row = self._conn.execute(
            select(k.operation, k.request_sha256, k.response_body).where(
                k.participant_id == participant_id, k.request_id == request_id
            )
        ).first()
        return (row.operation, row.request_sha256, row.response_body) if row is not None else None
