"""The one way to the register's database: a :class:`Database` hands out units of work.

A use case receives a :class:`UnitOfWork` and opens it with ``with uow:``; inside, its repositories
(``uow.persons``, ``uow.buffer``, …) work on one connection in one transaction, which commits when the
block ends and rolls back when it raises. Use cases never see an engine, a connection or SQL.

* **Nesting joins.** A use case called from inside another one's ``with uow:`` block joins that
  transaction instead of opening its own, so use cases compose (the federal sync applies a manual
  change in the same transaction as its page cursor) and each still reads as a whole.
* **Steps.** A use case that must commit as it goes (a long batch, an outbox sender) opens the same unit
  of work once per step; each ``with`` is a new transaction.
* **Savepoints.** ``uow.savepoint()`` lets a group of records fail without losing the transaction.
* **Reads.** :meth:`Database.reading` gives a unit of work in autocommit: each statement is a
  transaction of its own, so a single-statement read costs one round trip and no BEGIN/ROLLBACK — what
  the SOAP read operations use.
* **Exclusive work.** :meth:`UnitOfWork.exclusive` holds a PostgreSQL advisory lock on a connection of
  its own for as long as a multi-transaction job runs (one federal sender, one driver per reconciliation).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from types import TracebackType
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, text

from rserz_soap.db.accounts import Accounts
from rserz_soap.db.attachments import Attachments
from rserz_soap.db.buffer import BufferEntries
from rserz_soap.db.cursors import Cursors
from rserz_soap.db.disclosures import Disclosures
from rserz_soap.db.engine import make_engine
from rserz_soap.db.exchange import ExchangeJournal
from rserz_soap.db.federal import FederalEvents, FederalPushes, Reconciliations
from rserz_soap.db.feed import Feed
from rserz_soap.db.flk import ErrorDirectories
from rserz_soap.db.history import Histories
from rserz_soap.db.idempotency import IdempotencyKeys
from rserz_soap.db.merges import Merges
from rserz_soap.db.notices import Notices
from rserz_soap.db.nsi import Nsi
from rserz_soap.db.overview import Overview
from rserz_soap.db.packages import Packages
from rserz_soap.db.participants import Participants
from rserz_soap.db.persons import Persons
from rserz_soap.db.pins import Pins
from rserz_soap.db.reference import DbReference, NsiCache
from rserz_soap.db.search import Search
from rserz_soap.db.security_log import SecurityLog
from rserz_soap.db.smev import Newborns, SmevInbox, SmevRequests
from rserz_soap.db.snapshots import Snapshots
from rserz_soap.domain.countries import CountryCodes

T = TypeVar("T")


class Database:
    """The register's PostgreSQL for one process: an engine for work and one for reads in autocommit (a pool
    of its own from :meth:`connect`, the work pool switched to autocommit otherwise), and optionally a
    streaming replica that reads which tolerate its lag (identification) may use."""

    def __init__(
        self,
        engine: Engine,
        replica: Engine | None = None,
        *,
        readers: tuple[Engine, Engine | None] | None = None,
    ) -> None:
        """``readers``: pools made in autocommit for :meth:`reading` (primary, replica), which
        :meth:`connect` gives a long-lived process; without them reads borrow the work pool's connections
        and switch each to autocommit and back on every checkout (≈ 45 µs of CPU per read in the web
        worker, `bench/profile_soap.py --stages`) — fine for a command-line tool."""
        self.engine = engine
        self.replica = replica
        self._owned: list[Engine] = []
        if readers is not None:
            self._autocommit, self._replica_autocommit = readers
            self._owned = [e for e in readers if e is not None]
        else:
            self._autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
            self._replica_autocommit = (
                replica.execution_options(isolation_level="AUTOCOMMIT") if replica is not None else None
            )

    @classmethod
    def connect(cls, url: str, *, replica_url: str | None = None, **options: Any) -> Database:
        """The database of a long-lived process (the web app, the workers): a work pool and a read pool
        (autocommit from the start) on the primary, the same on the replica when there is one."""
        replica = make_engine(replica_url, **options) if replica_url else None
        readers = (
            make_engine(url, autocommit=True, **options),
            make_engine(replica_url, autocommit=True, **options) if replica_url else None,
        )
        return cls(make_engine(url, **options), replica, readers=readers)

    def unit_of_work(self, *, replica: bool = False) -> UnitOfWork:
        """A transaction on the primary; ``replica=True`` — a read-only one on the replica when there is one."""
        if replica and self.replica is not None:
            return UnitOfWork(self.replica)
        return UnitOfWork(self.engine)

    def reading(self, *, replica: bool = False) -> UnitOfWork:
        """A unit of work for reads: every statement commits on its own (nothing to roll back).

        ``replica=True`` is for reads that may lag the primary by the replica's delay (identification of
        persons, whose answers say "as the register knows it now"); a read that must see the caller's own
        write (a protocol, a history) stays on the primary.
        """
        if replica and self._replica_autocommit is not None:
            return UnitOfWork(self._replica_autocommit, autocommit=True)
        return UnitOfWork(self._autocommit, autocommit=True)

    def dispose(self) -> None:
        self.engine.dispose()
        if self.replica is not None:
            self.replica.dispose()
        for reader in self._owned:
            reader.dispose()


class UnitOfWork:
    """One transaction and the repositories bound to it (see the module docstring)."""

    def __init__(self, engine: Engine, *, autocommit: bool = False) -> None:
        self._engine = engine
        self._autocommit = autocommit
        self._conn: Connection | None = None
        self._outer: Connection | None = None
        self._depth = 0
        self._repos: dict[type[Any], Any] = {}

    @classmethod
    def joining(cls, conn: Connection) -> UnitOfWork:
        """A unit of work inside a transaction its caller holds and ends (tests that roll back, bulk tools):
        ``with`` neither commits nor rolls back."""
        uow = cls(conn.engine)
        uow._outer = conn
        return uow

    # -- the transaction -------------------------------------------------------------------------------

    def __enter__(self) -> UnitOfWork:
        if self._depth == 0:
            if self._outer is not None:
                self._conn = self._outer
            else:
                self._conn = self._engine.connect()
                if not self._autocommit:
                    self._conn.begin()
            self._repos = {}
        self._depth += 1
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._depth -= 1
        if self._depth > 0:
            return
        conn, self._conn = self._conn, None
        self._repos = {}
        assert conn is not None
        if self._outer is not None:
            return
        try:
            if not self._autocommit:
                if exc_type is None:
                    conn.commit()
                else:
                    conn.rollback()
        finally:
            conn.close()

    @contextlib.contextmanager
    def savepoint(self) -> Iterator[None]:
        """A part of the transaction that can fail alone: an exception rolls back to here and propagates."""
        with self.connection.begin_nested():
            yield

    @contextlib.contextmanager
    def exclusive(self, name: str, key: int = 0) -> Iterator[bool]:
        """Try to be the only holder of ``(name, key)`` across processes; yields whether it was granted.

        A session advisory lock on a connection of its own, so it outlives the transactions of the work
        it guards and is released when that work ends or its process dies.
        """
        with self._engine.connect() as conn:
            got = bool(
                conn.execute(
                    text("SELECT pg_try_advisory_lock(hashtext(:name), :key)"), {"name": name, "key": key}
                ).scalar_one()
            )
            conn.commit()
            try:
                yield got
            finally:
                if got:
                    conn.execute(
                        text("SELECT pg_advisory_unlock(hashtext(:name), :key)"), {"name": name, "key": key}
                    )
                    conn.commit()

    @property
    def connection(self) -> Connection:
        """For repositories only: the connection of the open transaction."""
        if self._conn is None:
            raise RuntimeError("the unit of work is not open: use `with uow:`")
        return self._conn

    def _repo(self, cls: type[T]) -> T:
        repo = self._repos.get(cls)
        if repo is None:
            repo = self._repos[cls] = cls(self.connection)  # type: ignore[call-arg]
        return repo

    # -- repositories ----------------------------------------------------------------------------------

    @property
    def persons(self) -> Persons:
        return self._repo(Persons)

    @property
    def search(self) -> Search:
        return self._repo(Search)

    @property
    def buffer(self) -> BufferEntries:
        return self._repo(BufferEntries)

    @property
    def outbox(self) -> FederalPushes:
        return self._repo(FederalPushes)

    @property
    def idempotency(self) -> IdempotencyKeys:
        return self._repo(IdempotencyKeys)

    @property
    def notices(self) -> Notices:
        return self._repo(Notices)

    @property
    def history(self) -> Histories:
        return self._repo(Histories)

    @property
    def snapshots(self) -> Snapshots:
        return self._repo(Snapshots)

    @property
    def pins(self) -> Pins:
        return self._repo(Pins)

    @property
    def merges(self) -> Merges:
        return self._repo(Merges)

    @property
    def attachments(self) -> Attachments:
        return self._repo(Attachments)

    @property
    def reconciliation(self) -> Reconciliations:
        return self._repo(Reconciliations)

    @property
    def federal_events(self) -> FederalEvents:
        return self._repo(FederalEvents)

    @property
    def feed(self) -> Feed:
        return self._repo(Feed)

    @property
    def nsi(self) -> Nsi:
        return self._repo(Nsi)

    @property
    def packages(self) -> Packages:
        """The OPLIST packages each СМО has handed in (legacy file intake)."""
        return self._repo(Packages)

    @property
    def cursors(self) -> Cursors:
        return self._repo(Cursors)

    @property
    def disclosures(self) -> Disclosures:
        return self._repo(Disclosures)

    @property
    def participants(self) -> Participants:
        return self._repo(Participants)

    @property
    def smev_inbox(self) -> SmevInbox:
        return self._repo(SmevInbox)

    @property
    def newborns(self) -> Newborns:
        return self._repo(Newborns)

    @property
    def smev_requests(self) -> SmevRequests:
        return self._repo(SmevRequests)

    @property
    def directory(self) -> ErrorDirectories:
        return self._repo(ErrorDirectories)

    @property
    def accounts(self) -> Accounts:
        """The console's users, roles and sessions."""
        return self._repo(Accounts)

    @property
    def security_log(self) -> SecurityLog:
        return self._repo(SecurityLog)

    @property
    def exchange(self) -> ExchangeJournal:
        """The exchange journal, as the console reads it."""
        return self._repo(ExchangeJournal)

    @property
    def overview(self) -> Overview:
        """The dashboard's figures."""
        return self._repo(Overview)

    def countries(self, cache: NsiCache) -> CountryCodes:
        """O001's alpha-3 → numeric ОКСМ index (cached per process, refreshed after an НСИ import)."""
        return cache.countries(self.connection)

    def reference(self, region_okato: str, cache: NsiCache) -> DbReference:
        """ФЛК's lookups (НСИ on a date, owners of identifiers) answered inside this transaction."""
        return DbReference(self.connection, region_okato, cache)
