"""A running ФЕРЗЛ emulator: its own database on the suite's PostgreSQL, a small seeded region, real HTTP.

The emulator speaks ФОМС's description v5.07 (versions 24.1.4 and 24.2.6); the stand's password is made
under the test's var/ and the hub's client (``federal/mpi_client.py``) takes its token with it. The tests
of ``test_ferzl_mpi.py`` validate every answer against the version's schema.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from rserz_soap.config import Settings
from rserz_soap.db.engine import make_engine
from rserz_soap.demo.load import region_reference_from_files
from rserz_soap.demo.region import RegionReference
from rserz_soap.emulators.ferzl import store
from rserz_soap.emulators.ferzl.app import build_ferzl_app
from rserz_soap.emulators.ferzl.faults import Faults
from rserz_soap.emulators.ferzl.mpi import MpiApp
from rserz_soap.emulators.ferzl.population import Planted
from rserz_soap.emulators.ferzl.seed import seed_federal
from rserz_soap.emulators.store import ensure_database
from rserz_soap.xmlsig import devpki
from tests.harness import drop_database
from tests.stands import serving

N = 2_000
SEED = 3
SHARE = 0.05


@dataclass
class Ferzl:
    base: str  # http://127.0.0.1:<port>
    engine: Engine
    pki: Path
    settings: Settings
    reference: RegionReference
    planted: list[Planted]
    app: MpiApp

    @property
    def url(self) -> str:
        return f"{self.base}/ferzl"

    def control(self, method: str, name: str, body: Any = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            f"{self.url}/_control/{name}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    def scalar(self, sql: str, **params: Any) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()

    def scalar_list(self, sql: str, **params: Any) -> list[Any]:
        with self.engine.connect() as conn:
            return list(conn.execute(text(sql), params).scalars())


@pytest.fixture(scope="session")
def ferzl(
    db_engine: Engine, database_url: str, settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Ferzl]:
    url = store.ferzl_database_url(database_url)
    name = make_url(url).database
    drop_database(db_engine, name)
    assert ensure_database(url)
    assert not ensure_database(url)
    engine = make_engine(url)
    store.create_schema(engine)
    var = tmp_path_factory.mktemp("ferzlvar")
    devpki.init_pki(var / "pki", [devpki.ParticipantSpec("ferzl", None, "ФЕРЗЛ (эмулятор)")])
    ferzl_settings = dataclasses.replace(settings, var_dir=str(var))
    reference = region_reference_from_files(ferzl_settings)
    planted = seed_federal(engine, reference, N, SEED, share=SHARE, workers=0)
    app = build_ferzl_app(ferzl_settings, engine)
    try:
        with serving(app) as port:
            yield Ferzl(
                f"http://127.0.0.1:{port}", engine, var / "pki", ferzl_settings, reference, planted, app
            )
    finally:
        engine.dispose()
        drop_database(db_engine, name)


@pytest.fixture
def calm(ferzl: Ferzl) -> Iterator[Ferzl]:
    """The emulator with every fault switch off before and after the test."""
    ferzl.app.faults.replace(Faults())
    try:
        yield ferzl
    finally:
        ferzl.app.faults.replace(Faults())


@contextlib.contextmanager
def faults(ferzl: Ferzl, **switches: Any) -> Iterator[None]:
    status, _ = ferzl.control("PUT", "faults", switches)
    assert status == 200
    try:
        yield
    finally:
        ferzl.control("PUT", "faults", {})
