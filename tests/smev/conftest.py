"""A СМЭВ stand: the hub's register and the СМЭВ 3 emulator, seeded from one synthetic population.

The hub's database is cloned from the НСИ template and seeded with ``n`` persons; the emulator gets its
own database on the same server with the same population, and serves the message exchange over real
HTTP. The hub reaches it through the real client (GOST signatures both ways, breaker, journal) —
nothing is mocked.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import redis
import requests
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from werkzeug.serving import make_server

from rserz_soap.config import Settings
from rserz_soap.db.engine import make_engine, normalize_url
from rserz_soap.db.uow import Database, UnitOfWork
from rserz_soap.demo.load import region_reference_from_files, seed_region
from rserz_soap.emulators.smev3 import store
from rserz_soap.emulators.smev3.app import SmevApp, build_smev_app
from rserz_soap.emulators.smev3.population import seed_population
from rserz_soap.emulators.store import ensure_database
from rserz_soap.runtime.services import ServiceUrls
from rserz_soap.smev.client import SmevClient
from rserz_soap.smev.gateway import SfrGateway, ZagsGateway
from rserz_soap.xmlsig import devpki

SEED = 11


@dataclass
class SmevStand:
    settings: Settings
    hub: Engine
    smev: Engine
    url: str
    n: int
    app: SmevApp

    _client: SmevClient | None = None

    def client(self, **kw: Any) -> SmevClient:
        """The hub's client of the stand (one per stand; with ``kw``, a new one with other settings)."""
        assert self.settings.redis_url
        if not kw and self._client is not None:
            return self._client
        s = dataclasses.replace(self.settings, **kw) if kw else self.settings
        client = SmevClient.from_settings(s, redis.Redis.from_url(s.redis_url or ""), Database(self.hub))
        if not kw:
            self._client = client
        return client

    def flush(self) -> None:
        if self._client is not None:
            self._client.close()

    def zags(self) -> ZagsGateway:
        return ZagsGateway(self.client())

    def sfr(self) -> SfrGateway:
        return SfrGateway(self.client())

    def uow(self) -> UnitOfWork:
        return Database(self.hub).unit_of_work()

    def control(self, method: str, name: str, body: Any | None = None) -> Any:
        r = requests.request(method, f"{self.url}/_control/{name}", json=body, timeout=60)
        r.raise_for_status()
        return r.json()

    def faults(self, **switches: Any) -> Any:
        return self.control("PUT", "faults", switches)

    def hub_scalar(self, sql: str, **params: Any) -> Any:
        with self.hub.connect() as conn:
            return conn.execute(text(sql), params).scalar()

    def hub_rows(self, sql: str, **params: Any) -> list[Any]:
        with self.hub.connect() as conn:
            return list(conn.execute(text(sql), params))

    def smev_rows(self, sql: str, **params: Any) -> list[Any]:
        with self.smev.connect() as conn:
            return list(conn.execute(text(sql), params))

    def env(self) -> dict[str, str]:
        import os

        assert self.settings.database_url and self.settings.redis_url
        return dict(
            os.environ,
            RSERZ_DATABASE_URL=self.settings.database_url,
            RSERZ_REDIS_URL=self.settings.redis_url,
            RSERZ_VAR_DIR=self.settings.var_dir,
            RSERZ_SMEV_URL=self.url,
            RSERZ_SMEV_TIMEOUT=str(self.settings.smev_timeout),
            RSERZ_SMEV_BREAKER_RESET=str(self.settings.smev_breaker_reset),
            RSERZ_FEDERAL_FIRST="0",
        )


@contextlib.contextmanager
def smev_stand(
    *,
    n: int,
    db_engine: Engine,
    database_url: str,
    template_database: str,
    services: ServiceUrls,
    settings: Settings,
    var: Path,
) -> Iterator[SmevStand]:
    base = make_url(normalize_url(database_url))
    name = f"{base.database}_smv_{uuid.uuid4().hex[:6]}"
    with db_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template_database}"'))
    hub_url = base.set(database=name).render_as_string(hide_password=False)
    hub = make_engine(hub_url)
    smev_url = store.smev_database_url(hub_url)
    ensure_database(smev_url)
    smev = make_engine(smev_url)
    server = None
    try:
        devpki.init_pki(var / "pki", [devpki.ParticipantSpec("smev", None, "СМЭВ 3 (эмулятор)")])
        reference = region_reference_from_files(settings, date.today())
        seed_region(hub, reference, n, SEED, progress=False, workers=0)
        store.create_schema(smev)
        seed_population(smev, reference, n, SEED)
        stand_settings = dataclasses.replace(
            settings,
            var_dir=str(var),
            database_url=hub_url,
            redis_url=f"{services.redis_url}{'&' if '?' in services.redis_url else '?'}db=4",
            smev_timeout=10.0,
            smev_breaker_reset=1.0,
            smev_redelivery=2.0,
            federal_first=False,
        )
        app = build_smev_app(stand_settings, smev)
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_port}/smev3"
        stand_settings = dataclasses.replace(stand_settings, smev_url=url)
        app.settings = stand_settings
        redis.Redis.from_url(stand_settings.redis_url or "").flushdb()
        yield SmevStand(stand_settings, hub, smev, url, n, app)
    finally:
        if server is not None:
            server.shutdown()
        hub.dispose()
        smev.dispose()
        with db_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for db in (name, make_url(smev_url).database):
                conn.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))


@pytest.fixture(scope="module")
def stand(
    db_engine: Engine,
    database_url: str,
    template_database: str,
    services: ServiceUrls,
    settings: Settings,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[SmevStand]:
    """1,500 persons: the hub and the emulator hold the same demo region."""
    with smev_stand(
        n=1500,
        db_engine=db_engine,
        database_url=database_url,
        template_database=template_database,
        services=services,
        settings=settings,
        var=tmp_path_factory.mktemp("smevvar"),
    ) as s:
        yield s
