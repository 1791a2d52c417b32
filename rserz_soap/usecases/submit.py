"""A participant's batch of operations (``submitOperations``, an OPLIST file): received, decided, answered.

Idempotent by REQUEST_ID inside the use case (``once``): the claim of the id, the batch's entries, their
decisions and the stored answer commit in one transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from rserz_soap.db.uow import UnitOfWork
from rserz_soap.domain.buffer import BatchProtocol, Submitter
from rserz_soap.domain.countries import CountryCodes
from rserz_soap.domain.records import OperationRecord
from rserz_soap.usecases.intake import Intake, process, receive
from rserz_soap.usecases.once import RequestKey, once

OPERATION = "submitOperations"


def submit_operations(
    uow: UnitOfWork,
    intake: Intake,
    submitter: Submitter,
    records: Sequence[OperationRecord],
    request_id: uuid.UUID,
    *,
    fingerprint: str,
    file_name: str | None = None,
) -> BatchProtocol:
    """Receive, decide and answer a batch once per (participant, REQUEST_ID)."""
    key = RequestKey(submitter.participant_id, request_id, OPERATION, fingerprint)

    def work(repeat: bool) -> BatchProtocol:
        batch = uow.buffer.batch(submitter.participant_id, request_id=request_id) if repeat else None
        if batch is None:
            batch = receive(
                uow, submitter, records, request_id=request_id, batch_ref=file_name or str(request_id)
            )
        lines = process(uow, intake, batch.entry_ids)
        return BatchProtocol(str(batch.batch_id), str(request_id), file_name, batch.received_at, tuple(lines))

    with uow:
        return once(uow, key, BatchProtocol, work)


def country_codes(uow: UnitOfWork, intake: Intake) -> CountryCodes:
    """How ОКСМ codes on the wire (alpha-3, ``Б/Г``) map to the numeric ones the register keeps (O001)."""
    with uow:
        return uow.countries(intake.nsi)


def protocol(
    uow: UnitOfWork,
    submitter: Submitter,
    *,
    request_id: uuid.UUID | None = None,
    batch_id: uuid.UUID | None = None,
) -> BatchProtocol | None:
    """The current protocol of a batch the participant sent, by its REQUEST_ID or by the hub's BATCH_ID
    (None if it sent no such batch: another participant's id finds nothing)."""
    with uow:
        batch = uow.buffer.batch(submitter.participant_id, request_id=request_id, batch_id=batch_id)
        if batch is None:
            return None
        lines = uow.buffer.results(batch.entry_ids)
    rid = str(batch.request_id) if batch.request_id else None
    file_name = batch.batch_ref if batch.batch_ref and batch.batch_ref != rid else None
    return BatchProtocol(str(batch.batch_id), rid, file_name, batch.received_at, tuple(lines))
