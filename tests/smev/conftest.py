"""A СМЭВ stand: the hub's register and the СМЭВ 3 emulator, seeded from one synthetic population.

The hub's database is cloned from the НСИ template and seeded with ``n`` persons; the emulator gets its
own database on the same server with the same population, and serves the message exchange over real
HTTP. The hub reaches it through the real client (GOST signatures both ways, breaker, journal) —
nothing is mocked.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import redis
from sqlalchemy import Engine, text

from rserz_soap.config import Settings
from rserz_soap.db.uow import Database
from rserz_soap.demo.load import region_reference_from_files, seed_region
from rserz_soap.emulators.smev3 import store
from rserz_soap.emulators.smev3.app import SmevApp, build_smev_app
from rserz_soap.emulators.smev3.population import seed_population
from rserz_soap.smev.client import SmevClient
from rserz_soap.smev.gateway import SfrGateway, ZagsGateway
from rserz_soap.xmlsig import devpki
from tests.stands import HubAndEmulator, Suite, redis_db, serving, stand_fixture

SEED = 11


@dataclass
class SmevStand(HubAndEmulator):
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

    def hub_rows(self, sql: str, **params: Any) -> list[Any]:
        with self.hub.connect() as conn:
            return list(conn.execute(text(sql), params))

    def smev_rows(self, sql: str, **params: Any) -> list[Any]:
        with self.smev.connect() as conn:
            return list(conn.execute(text(sql), params))

    def env(self) -> dict[str, str]:
        return self.hub_env(
            RSERZ_SMEV_URL=self.url,
            RSERZ_SMEV_TIMEOUT=str(self.settings.smev_timeout),
            RSERZ_SMEV_BREAKER_RESET=str(self.settings.smev_breaker_reset),
            RSERZ_FEDERAL_FIRST="0",
        )


@contextlib.contextmanager
def smev_stand(suite: Suite, *, n: int) -> Iterator[SmevStand]:
    settings, var = suite.settings, suite.var
    with suite.hub_and_emulator("smv", store.smev_database_url) as (hub_url, hub, smev):
        devpki.init_pki(var / "pki", [devpki.ParticipantSpec("smev", None, "СМЭВ 3 (эмулятор)")])
        reference = region_reference_from_files(settings, date.today())
        seed_region(hub, reference, n, SEED, progress=False, workers=0)
        store.create_schema(smev)
        seed_population(smev, reference, n, SEED)
        stand_settings = dataclasses.replace(
            settings,
            var_dir=str(var),
            database_url=hub_url,
            redis_url=redis_db(suite.services.redis_url, 4),
            smev_timeout=10.0,
            smev_breaker_reset=1.0,
            smev_redelivery=2.0,
            federal_first=False,
        )
        app = build_smev_app(stand_settings, smev)
        with serving(app) as port:
            url = f"http://127.0.0.1:{port}/smev3"
            stand_settings = dataclasses.replace(stand_settings, smev_url=url)
            app.settings = stand_settings
            redis.Redis.from_url(stand_settings.redis_url or "").flushdb()
            yield SmevStand(stand_settings, hub, smev, url, n, app)


stand = stand_fixture(
    smev_stand, "smevvar", "1,500 persons: the hub and the emulator hold the same demo region.", n=1500
)
