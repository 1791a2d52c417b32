"""ФЛК's lookups answered by the database: НСИ on a date (cached) and owners of identifiers."""

from __future__ import annotations

import threading
import time
from datetime import date

from sqlalchemy import Connection, func, select

from rserz_soap.db import nsi, persons, search
from rserz_soap.db.tables import nsi_version
from rserz_soap.domain.flk.reference import DirectoryRecord, InMemoryReference


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

    def record_on(self, conn: Connection, directory: str, code: str, on: date) -> DirectoryRecord | None:
        self._refresh(conn)
        history = self._directories.get(directory)
        if history is None:
            history = nsi.DirectoryHistory(conn, directory)
            with self._lock:
                self._directories[directory] = history
        return history.on(code, on)

    def _refresh(self, conn: Connection) -> None:
        now = time.monotonic()
        if self._version is not None and now - self._checked < self._ttl:
            return
        latest = conn.execute(select(func.max(nsi_version.c.id))).scalar_one()
        with self._lock:
            self._checked = now
            if latest != self._version:
                self._directories.clear()
                self._version = latest


class DbReference(InMemoryReference):
    """The in-memory reference's НСИ logic over the database's versions, and live uniqueness lookups.

    Working days are Monday to Friday (no regional holiday calendar is loaded yet).
    """

    def __init__(self, conn: Connection, region_okato: str, cache: NsiCache) -> None:
        super().__init__((), region_okato=region_okato)
        self._conn = conn
        self._cache = cache

    def _on(self, directory: str, code: str, on: date) -> DirectoryRecord | None:
        return self._cache.record_on(self._conn, directory, code, on)

    def snils_owners(self, ss: str) -> set[int]:
        return set(search.by_snils(self._conn, ss))

    def document_owners(self, key: tuple[int, str, str]) -> set[int]:
        return set(search.by_document(self._conn, key[0], key[1], key[2]))

    def enp_owner(self, enp: str) -> int | None:
        return persons.find_by_enp(self._conn, enp)
