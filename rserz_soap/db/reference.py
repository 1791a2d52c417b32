"""ФЛК's lookups answered by the database: НСИ on a date (cached) and owners of identifiers."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from datetime import date

from sqlalchemy import Connection, func, select

from rserz_soap.db import nsi, persons
from rserz_soap.db.search import Search
from rserz_soap.db.tables import nsi_version
from rserz_soap.domain.countries import CountryCodes
from rserz_soap.domain.flk.reference import DirectoryRecord, InMemoryReference
from rserz_soap.domain.records import OperationRecord


class NsiCache:
    """Per-process НСИ in memory (:class:`DirectoryHistory` per directory), reloaded after a new import.

    Directories are small and change monthly at most, while ФЛК asks thousands of questions a second.
    Whether a newer version was imported is checked at most every ``ttl`` seconds.
    """

    def __init__(self, ttl: float = 30.0) -> None:
        self._ttl = ttl
        self._lock = threading.Lock()
        self._directories: dict[str, nsi.DirectoryHistory] = {}
        self._version: int | None = None
        self._checked = 0.0
        self._countries: CountryCodes | None = None

    def record_on(self, conn: Connection, directory: str, code: str, on: date) -> DirectoryRecord | None:
        self._refresh(conn)
        history = self._directories.get(directory)
        if history is None:
            history = nsi.DirectoryHistory(conn, directory)
            with self._lock:
                self._directories[directory] = history
        return history.on(code, on)

    def countries(self, conn: Connection) -> CountryCodes:
        """O001's alpha-3 → numeric index, rebuilt after a new НСИ import (checked every ``ttl`` seconds)."""
        self._refresh(conn)
        if self._countries is None:
            built = CountryCodes.from_records(nsi.records_of(conn, "O001"))
            with self._lock:
                self._countries = built
        return self._countries

    def _refresh(self, conn: Connection) -> None:
        now = time.monotonic()
        if self._version is not None and now - self._checked < self._ttl:
            return
        latest = conn.execute(select(func.max(nsi_version.c.id))).scalar_one()
        with self._lock:
            self._checked = now
            if latest != self._version:
                self._directories.clear()
                self._countries = None
                self._version = latest


class DbReference(InMemoryReference):
    """The in-memory reference's НСИ logic over the database's versions, and live uniqueness lookups.

    ``prefetch`` asks for every identifier of a record in one query; the owner methods then answer from
    that memo and query only for what was not prefetched. Working days are Monday to Friday (no regional
    holiday calendar is loaded yet).
    """

    def __init__(self, conn: Connection, region_okato: str, cache: NsiCache) -> None:
        super().__init__((), region_okato=region_okato)
        self._conn = conn
        self._cache = cache
        self._search = Search(conn)
        self._enp: dict[str, int | None] = {}
        self._snils: dict[str, set[int]] = {}
        self._docs: dict[tuple[int, str, str], set[int]] = {}

    def prefetch(self, records: Sequence[OperationRecord]) -> None:
        enps = sorted({r.insurance.enp for r in records if r.insurance.enp})
        snils = sorted({r.person.ss for r in records if r.person.ss})
        docs = sorted(
            {d.key for r in records for d in (*r.documents, *([r.old_document] if r.old_document else []))}
        )
        found = self._search.owners(enps=enps, snils=snils, documents=docs)
        self._enp.update({e: found.enp.get(e) for e in enps})
        self._snils.update({s: found.snils.get(s, set()) for s in snils})
        self._docs.update({k: found.documents.get(k, set()) for k in docs})

    def _on(self, directory: str, code: str, on: date) -> DirectoryRecord | None:
        return self._cache.record_on(self._conn, directory, code, on)

    def snils_owners(self, ss: str) -> set[int]:
        if ss not in self._snils:
            self._snils[ss] = set(self._search.by_snils(ss))
        return set(self._snils[ss])

    def document_owners(self, key: tuple[int, str, str]) -> set[int]:
        if key not in self._docs:
            self._docs[key] = set(self._search.by_document(key[0], key[1], key[2]))
        return set(self._docs[key])

    def enp_owner(self, enp: str) -> int | None:
        if enp not in self._enp:
            self._enp[enp] = persons.find_by_enp(self._conn, enp)
        return self._enp[enp]
