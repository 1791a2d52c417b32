"""The buffer's use cases bound to one test database, so scenarios read as "the СМО submits, the operator
accepts" rather than as plumbing. Every method is one use case called with a fresh unit of work."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import make_url

from rserz_soap.config import Settings
from rserz_soap.db.engine import normalize_url
from rserz_soap.db.uow import Database, UnitOfWork
from rserz_soap.domain.buffer import RecordResult, Submitter
from rserz_soap.domain.federal import FederalAnswer
from rserz_soap.domain.records import OperationRecord
from rserz_soap.usecases import intake, outbox, review
from rserz_soap.usecases.intake import Intake
from rserz_soap.usecases.wiring import build_intake


@contextlib.contextmanager
def rolled_back(engine: Engine) -> Iterator[Connection]:
    """A connection of ``engine`` inside a transaction that is rolled back when the block ends: what a
    test plants there is gone after it."""
    with engine.connect() as conn:
        trans = conn.begin()
        try:
            yield conn
        finally:
            trans.rollback()


@contextlib.contextmanager
def cloned_database(db_engine: Engine, database_url: str, template_database: str, tag: str) -> Iterator[str]:
    """The URL of a database of its own (``<suite's>_<tag>_<random>``) cloned from the НСИ template;
    dropped when the block ends (dispose its engines first)."""
    base = make_url(normalize_url(database_url))
    name = f"{base.database}_{tag}_{uuid.uuid4().hex[:6]}"
    with db_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template_database}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        drop_database(db_engine, name)


def drop_database(db_engine: Engine, name: str | None) -> None:
    """Drop database ``name`` of ``db_engine``'s server if it is there, whoever is connected to it."""
    with db_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def uow(conn: Connection) -> UnitOfWork:
    """A unit of work inside the test's own (rolled-back) transaction."""
    return UnitOfWork.joining(conn)


@dataclass
class Register:
    db: Database
    intake: Intake

    @classmethod
    def of(cls, engine: Engine, settings: Settings, **changes: Any) -> Register:
        db = Database(engine)
        return cls(db, replace(build_intake(db.unit_of_work(), settings), **changes))

    @property
    def engine(self) -> Engine:
        return self.db.engine

    def uow(self) -> UnitOfWork:
        return self.db.unit_of_work()

    def receive(
        self,
        who: Submitter,
        records: Sequence[OperationRecord],
        *,
        request_id: uuid.UUID | None = None,
        batch_ref: str | None = None,
    ) -> list[int]:
        return list(
            intake.receive(self.uow(), who, records, request_id=request_id, batch_ref=batch_ref).entry_ids
        )

    def process(self, entry_ids: Iterable[int], **kw: Any) -> list[RecordResult]:
        return intake.process(self.uow(), self.intake, entry_ids, **kw)

    def submit(self, who: Submitter, records: Sequence[OperationRecord], **kw: Any) -> list[RecordResult]:
        return self.process(self.receive(who, records, **kw))

    def process_pending(self, limit: int = 10_000) -> int:
        return intake.process_pending(self.uow(), self.intake, limit)

    def results(self, entry_ids: Sequence[int]) -> list[RecordResult]:
        with self.uow() as u:
            return u.buffer.results(entry_ids)

    def accept(self, entry_id: int, *, actor: str, reason: str) -> RecordResult:
        return review.accept(self.uow(), self.intake, entry_id, actor=actor, reason=reason)

    def reject(self, entry_id: int, *, actor: str, reason: str) -> RecordResult:
        return review.reject(self.uow(), entry_id, actor=actor, reason=reason)

    def pending_pushes(self, limit: int = 1000) -> list[int]:
        return outbox.pending_pushes(self.uow(), limit)

    def prepare_push(self, entry_id: int) -> outbox.Push | None:
        return outbox.prepare_push(self.uow(), self.intake, entry_id)

    def federal_answered(self, entry_id: int, answer: FederalAnswer) -> RecordResult:
        return outbox.federal_answered(self.uow(), self.intake, entry_id, answer)

    def federal_unreachable(self, entry_id: int, error: str) -> None:
        outbox.federal_unreachable(self.uow(), entry_id, error)

    def push_pending(self, federal: outbox.ApplicationsPort, **kw: Any) -> outbox.PushReport:
        return outbox.push_pending(self.uow(), self.intake, federal, **kw)
