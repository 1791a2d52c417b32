"""What the stands of the emulators share (``tests/federal``: ФЕРЗЛ, ``tests/smev``: СМЭВ 3): the hub's
database cloned from the НСИ template beside the emulator's own database, the emulator served over real
HTTP, the stand's control API, and the module-scoped fixture that makes a stand."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, TypeVar

import pytest
import requests
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from werkzeug.serving import make_server

from rserz_soap.config import Settings
from rserz_soap.db.engine import make_engine
from rserz_soap.db.uow import Database, UnitOfWork
from rserz_soap.emulators.store import ensure_database
from rserz_soap.runtime.services import ServiceUrls
from tests.harness import cloned_database, drop_database

T = TypeVar("T")


@dataclass(frozen=True)
class Suite:
    """What a stand is made over: the suite's fixtures (``stand_fixture`` passes them by name) and a var/."""

    db_engine: Engine
    database_url: str
    template_database: str
    services: ServiceUrls
    settings: Settings
    var: Path

    @contextlib.contextmanager
    def hub_and_emulator(
        self, tag: str, emulator_url: Callable[[str], str]
    ) -> Iterator[tuple[str, Engine, Engine]]:
        """(the hub's URL, the hub's engine, the emulator's engine): a fresh hub database (named with
        ``tag``) and the emulator's database beside it (``emulator_url`` of the hub's), dropped at the end."""
        with cloned_database(self.db_engine, self.database_url, self.template_database, tag) as hub_url:
            hub = make_engine(hub_url)
            url = emulator_url(hub_url)
            ensure_database(url)
            emulator = make_engine(url)
            try:
                yield hub_url, hub, emulator
            finally:
                hub.dispose()
                emulator.dispose()
                drop_database(self.db_engine, make_url(url).database)


@contextlib.contextmanager
def serving(app: Any) -> Iterator[int]:
    """The port of ``app`` served over HTTP on 127.0.0.1 from a thread, until the block ends."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_port
    finally:
        server.shutdown()


def redis_db(url: str, db: int) -> str:
    """``url`` with Redis database ``db``: a stand's queues and breaker apart from other tests."""
    return f"{url}{'&' if '?' in url else '?'}db={db}"


class HubAndEmulator:
    """A stand's methods on the hub's database and the emulator's control API (``<url>/_control/…``)."""

    settings: Settings  # the hub's
    hub: Engine
    url: str

    def hub_env(self, **env: str) -> dict[str, str]:
        """The environment of a hub process (worker, CLI) on the stand's database, Redis and var/, with ``env``."""
        assert self.settings.database_url and self.settings.redis_url
        return dict(
            os.environ,
            RSERZ_DATABASE_URL=self.settings.database_url,
            RSERZ_REDIS_URL=self.settings.redis_url,
            RSERZ_VAR_DIR=self.settings.var_dir,
            **env,
        )

    def uow(self) -> UnitOfWork:
        """A unit of work on the hub's database."""
        return Database(self.hub).unit_of_work()

    def hub_scalar(self, sql: str, **params: Any) -> Any:
        with self.hub.connect() as conn:
            return conn.execute(text(sql), params).scalar()

    def control(self, method: str, name: str, body: Any | None = None) -> Any:
        r = requests.request(method, f"{self.url}/_control/{name}", json=body, timeout=60)
        r.raise_for_status()
        return r.json()

    def faults(self, **switches: Any) -> Any:
        """Replace the emulator's fault switches (all off when called without arguments)."""
        return self.control("PUT", "faults", switches)


def stand_fixture(
    stand: Callable[..., contextlib.AbstractContextManager[T]], var: str, doc: str, **kw: Any
) -> Any:
    """A module-scoped fixture of ``stand(suite, **kw)``, with a var dir of its own (``var`` names it)."""

    @pytest.fixture(scope="module")
    def fixture(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[T]:
        names = [f.name for f in fields(Suite) if f.name != "var"]
        suite = Suite(var=tmp_path_factory.mktemp(var), **{n: request.getfixturevalue(n) for n in names})
        with stand(suite, **kw) as made:
            yield made

    fixture.__doc__ = doc
    return fixture
