"""Writes answered once per (participant, REQUEST_ID), in the transaction of the work itself.

The claim of the id, the work and the stored answer commit together, so "applied" and "answered" cannot
part: a crash leaves neither, a concurrent repeat waits on the claim's row until the first transaction
ends and then reads its answer, and a repeat after the fact gets the first answer, decoded.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from rserz_soap.db.idempotency import Claim
from rserz_soap.db.uow import UnitOfWork
from rserz_soap.domain.codec import decode, encode

T = TypeVar("T")


class IdempotencyConflict(Exception):
    """The REQUEST_ID was used before for a different request (or another operation)."""


@dataclass(frozen=True)
class RequestKey:
    """Who asked for what: the participant, its REQUEST_ID, the operation and the request's fingerprint.

    The fingerprint identifies the content (the SOAP adapter: a digest of the canonical operation
    element; a file intake: of the file): the same id with another fingerprint is a conflict.
    """

    participant_id: int
    request_id: uuid.UUID
    operation: str
    fingerprint: str


def once(uow: UnitOfWork, key: RequestKey, answer: type[T], work: Callable[[bool], T]) -> T:
    """``work(repeat)``'s result, computed at most once per key; call it inside an open ``with uow:``.

    ``repeat`` is True when the key was claimed before but no answer was stored (an earlier version
    stored answers as XML): the work must then find what the first call left instead of doing it again.
    """
    claim = uow.idempotency.claim(key.participant_id, key.request_id, key.operation, key.fingerprint)
    if claim.claim is Claim.CONFLICT:
        raise IdempotencyConflict(str(key.request_id))
    stored = claim.stored_response
    if claim.claim is Claim.REPEAT and stored and stored.startswith("{"):
        return decode(answer, json.loads(stored))
    # new, or claimed by an earlier version that stored its answer as XML: the work is idempotent itself
    result = work(claim.claim is Claim.REPEAT)
    uow.idempotency.remember(
        key.participant_id, key.request_id, json.dumps(encode(result), ensure_ascii=False)
    )
    return result
