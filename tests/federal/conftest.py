"""A federal stand: the hub's register and the ФЕРЗЛ emulator, seeded from one synthetic population.

The hub's database is cloned from the НСИ template and seeded with ``n`` persons; the emulator gets its
own database on the same server, seeded from the same population with planted divergences, and serves
its signed SOAP endpoint over real HTTP. The hub reaches it through the real client (zeep, WS-Security,
breaker) — nothing is mocked; the emulator is the stand-in for the outside world.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
import redis
from sqlalchemy import Engine, text

from rserz_soap.config import Settings
from rserz_soap.db.participants import upsert_participant
from rserz_soap.db.uow import Database
from rserz_soap.demo.load import region_reference_from_files, seed_region
from rserz_soap.demo.region import RegionReference
from rserz_soap.emulators.ferzl import store
from rserz_soap.emulators.ferzl.app import build_ferzl_app
from rserz_soap.emulators.ferzl.population import Planted
from rserz_soap.emulators.ferzl.seed import seed_federal
from rserz_soap.federal.mpi_client import MpiClient
from rserz_soap.xmlsig import devpki
from tests import stands
from tests.stands import HubAndEmulator, Suite, redis_db, serving

SEED = 7


def expected_report(planted: list[Planted]) -> set[tuple[str, str, str]]:
    return {p.report_key for p in planted}


@dataclass
class Stand(HubAndEmulator):
    settings: Settings  # the hub's: its database, Redis, PKI and the emulator's URL
    hub: Engine
    ferzl: Engine
    url: str
    n: int
    planted: list[Planted]
    reference: RegionReference
    smo_participant: int

    def client(self) -> MpiClient:
        """The hub's client of the document's ФЕРЗЛ (token, version 24.2.6), breaker in Redis, journaled."""
        assert self.settings.redis_url
        return MpiClient.from_settings(
            self.settings, redis.Redis.from_url(self.settings.redis_url), Database(self.hub)
        )

    def event(self, enp: str | None, event: str, **values: Any) -> dict[str, Any]:
        """A §5 event the federal register learnt elsewhere (the emulator's control API)."""
        body: dict[str, Any] = {"event": event, **values}
        if enp is not None:
            body["enp"] = enp
        return dict(self.control("POST", "events", body))

    def ferzl_scalar(self, sql: str, **params: Any) -> Any:
        with self.ferzl.connect() as conn:
            return conn.execute(text(sql), params).scalar()

    def use_in_this_process(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Point ``load_settings()`` of this process (jobs, the CLI) at the stand."""
        for name, value in self.env().items():
            if name.startswith("RSERZ_"):
                monkeypatch.setenv(name, value)

    def env(self) -> dict[str, str]:
        """The environment of a hub process (worker, CLI) that works against this stand."""
        return self.hub_env(
            RSERZ_FERZL_URL=self.url,
            RSERZ_FEDERAL_FIRST="1",
            RSERZ_FERZL_TIMEOUT=str(self.settings.ferzl_timeout),
            RSERZ_FERZL_BREAKER_RESET=str(self.settings.ferzl_breaker_reset),
        )


@contextlib.contextmanager
def federal_stand(suite: Suite, *, n: int, share: float) -> Iterator[Stand]:
    settings, var = suite.settings, suite.var
    with suite.hub_and_emulator("fed", store.ferzl_database_url) as (hub_url, hub, ferzl):
        devpki.init_pki(var / "pki", [devpki.ParticipantSpec("ferzl", None, "ФЕРЗЛ (эмулятор)")])
        reference = region_reference_from_files(settings, date.today())
        seed_region(hub, reference, n, SEED, progress=False, workers=0 if n <= 20_000 else 2)
        store.create_schema(ferzl)
        planted = seed_federal(ferzl, reference, n, SEED, share=share)
        with hub.begin() as conn:
            smo = upsert_participant(conn, "smo", "45001", "СМО 45001")
        stand_settings = dataclasses.replace(
            settings,
            var_dir=str(var),
            database_url=hub_url,
            redis_url=redis_db(suite.services.redis_url, 3),
            federal_first=True,
            ferzl_timeout=10.0,
            ferzl_breaker_reset=2.0,
        )
        with serving(build_ferzl_app(stand_settings, ferzl)) as port:
            url = f"http://127.0.0.1:{port}/ferzl"
            stand_settings = dataclasses.replace(stand_settings, ferzl_url=url)
            yield Stand(stand_settings, hub, ferzl, url, n, planted, reference, smo)


def stand_fixture(n: int, share: float, doc: str) -> Any:
    """A module-scoped fixture of a federal stand of ``n`` persons with ``share`` planted."""
    return stands.stand_fixture(federal_stand, "fedvar", doc, n=n, share=share)


small_stand = stand_fixture(
    2000, 0.05, "2,000 persons, 5 % planted: for the push, daily-change and client paths."
)
