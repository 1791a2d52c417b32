from __future__ import annotations

import uuid

from sqlalchemy import Connection

from rserz_soap.db import idempotency
from rserz_soap.db.participants import upsert_participant


def test_a_request_id_is_new_once_then_repeats_or_conflicts(db_conn: Connection) -> None:
    pid = upsert_participant(db_conn, "smo", "45001", "СМО")
    rid = uuid.uuid4()
    assert idempotency.claim(db_conn, pid, rid, "submitOperations", "a" * 64).claim is idempotency.Claim.NEW
    idempotency.remember(db_conn, pid, rid, "<response/>")
    again = idempotency.claim(db_conn, pid, rid, "submitOperations", "a" * 64)
    assert (again.claim, again.stored_response) == (idempotency.Claim.REPEAT, "<response/>")
    other_body = idempotency.claim(db_conn, pid, rid, "submitOperations", "b" * 64)
    assert other_body.claim is idempotency.Claim.CONFLICT
    other_op = idempotency.claim(db_conn, pid, rid, "attachPerson", "a" * 64)
    assert other_op.claim is idempotency.Claim.CONFLICT


def test_request_ids_are_per_participant(db_conn: Connection) -> None:
    a = upsert_participant(db_conn, "smo", "45001", "СМО 1")
    b = upsert_participant(db_conn, "smo", "45002", "СМО 2")
    rid = uuid.uuid4()
    assert idempotency.claim(db_conn, a, rid, "submitOperations", "a" * 64).claim is idempotency.Claim.NEW
    assert idempotency.claim(db_conn, b, rid, "submitOperations", "c" * 64).claim is idempotency.Claim.NEW
