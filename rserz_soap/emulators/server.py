"""`rserz emulators`: the stand-ins for the outside world on one port (ФЕРЗЛ at /ferzl, СМЭВ 3 at /smev3).

``serve_emulators`` prepares the ФЕРЗЛ emulator's own database (``<hub database>_ferzl`` on the hub's
server: created, schema made, seeded once with the federal copy of the demo region — the same reference,
size and seed as the hub's demo seed, so the ЕНП match) and serves the emulators with gunicorn: one
worker process, several threads, because asynchronous operations (§1.2: витрины, change feeds) run in
a background thread of that worker. The СМЭВ 3 emulator has a database of its own too (``<hub database>_smev``)
with the same demo population; its demo ЗАГС pushes deaths and births to the ТФОМС from a background thread
of that worker.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import date
from pathlib import Path
from typing import Any

from gunicorn.app.base import BaseApplication
from sqlalchemy import Engine

from rserz_soap.config import Settings, supervised_log_dir
from rserz_soap.db.engine import make_engine
from rserz_soap.emulators.ferzl import store
from rserz_soap.emulators.ferzl.app import MOUNT, build_ferzl_app
from rserz_soap.emulators.iszl.app import MOUNT as ISZL_MOUNT
from rserz_soap.emulators.iszl.app import IszlApp, prepare_iszl
from rserz_soap.emulators.iszl.store import iszl_database_url
from rserz_soap.emulators.smev3 import store as smev_store
from rserz_soap.emulators.smev3.app import MOUNT as SMEV_MOUNT
from rserz_soap.emulators.smev3.app import build_smev_app
from rserz_soap.emulators.store import ensure_database

__all__ = ["EmulatorServer", "emulators_app", "prepare_ferzl", "prepare_smev", "serve_emulators"]

log = logging.getLogger(__name__)

THREADS = 8


def emulators_app(settings: Settings, hub_database_url: str) -> Callable[..., Iterable[bytes]]:
    """One WSGI application for every emulator (ФЕРЗЛ at ``/ferzl``, СМЭВ 3 at ``/smev3``)."""
    engine = make_engine(store.ferzl_database_url(hub_database_url), application_name="rserz-ferzl")
    ferzl = build_ferzl_app(settings, engine)
    smev_engine = make_engine(smev_store.smev_database_url(hub_database_url), application_name="rserz-smev")
    smev = build_smev_app(settings, smev_engine)
    if settings.demo_persons > 0:
        smev.start_demo_ticker(settings.smev_demo_events_per_hour)
    iszl = IszlApp(settings, make_engine(iszl_database_url(hub_database_url), application_name="rserz-iszl"))

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == MOUNT or path.startswith(MOUNT + "/"):
            return ferzl(environ, start_response)
        if path == SMEV_MOUNT or path.startswith(SMEV_MOUNT + "/"):
            return smev(environ, start_response)
        if path == ISZL_MOUNT or path.startswith(ISZL_MOUNT + "/"):
            return iszl(environ, start_response)
        body = (
            b"emulators of the outside world: /ferzl (?wsdl, /ferzl/_control/health),"
            b" /smev3 (?wsdl, /smev3/_control/health), /iszl (?wsdl, /iszl/_control/health)\n"
        )
        status = "200 OK" if path in ("", "/") else "404 Not Found"
        start_response(
            status, [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))]
        )
        return [body]

    return app


def prepare_ferzl(settings: Settings, hub_database_url: str, *, on: date | None = None) -> Engine:
    """The ФЕРЗЛ database ready to serve: created, schema made, seeded if empty; returns its engine."""
    from rserz_soap.demo.load import region_reference_from_files
    from rserz_soap.emulators.ferzl.seed import seed_federal

    pki = settings.pki_dir / "ferzl"
    if not (pki / "key.pem").exists():
        raise RuntimeError(f"no ФЕРЗЛ key under {pki}: run `rserz certs init` (or `rserz up`) first")
    url = store.ferzl_database_url(hub_database_url)
    if ensure_database(url):
        log.info("created the ФЕРЗЛ emulator database")
    engine = make_engine(url, application_name="rserz-ferzl-seed")
    store.create_schema(engine)
    if settings.demo_persons > 0:
        # the hub's demo seed reads the same НСИ from its database; from the files it is the same reference
        reference = region_reference_from_files(settings, on or date.today())
        planted = seed_federal(
            engine, reference, settings.demo_persons, settings.demo_seed, share=settings.ferzl_demo_divergence
        )
        log.info("ФЕРЗЛ emulator holds the demo region with %d planted divergences", len(planted))
    return engine


def prepare_smev(settings: Settings, hub_database_url: str, *, on: date | None = None) -> Engine:
    """The СМЭВ 3 emulator's database ready: created, schema made, the demo population loaded once, and
    a first handful of deaths and births queued for the ТФОМС so the demo shows the flow at once."""
    from rserz_soap.demo.load import region_reference_from_files
    from rserz_soap.emulators.smev3.population import seed_population

    pki = settings.pki_dir / "smev" / "gost"
    if not (pki / "key.pem").exists():
        raise RuntimeError(f"no СМЭВ GOST key under {pki}: run `rserz certs init` (or `rserz up`) first")
    url = smev_store.smev_database_url(hub_database_url)
    if ensure_database(url):
        log.info("created the СМЭВ 3 emulator database")
    engine = make_engine(url, application_name="rserz-smev-seed")
    smev_store.create_schema(engine)
    if settings.demo_persons > 0:
        reference = region_reference_from_files(settings, on or date.today())
        persons = seed_population(engine, reference, settings.demo_persons, settings.demo_seed)
        app = build_smev_app(settings, engine)
        if not list(population_planted(engine)):
            app.plant_deaths(10, cancelled=1)
            app.plant_births(5)
        log.info("СМЭВ 3 emulator: %d persons known to СФР and ЗАГС", persons)
    return engine


def population_planted(engine: Engine) -> Iterable[Any]:
    from rserz_soap.emulators.smev3.population import planted

    return planted(engine)


class EmulatorServer(BaseApplication):  # type: ignore[misc]
    def __init__(self, settings: Settings, hub_database_url: str) -> None:
        self.settings = settings
        self.hub_database_url = hub_database_url
        super().__init__()

    def load_config(self) -> None:
        s = self.settings
        self.cfg.set("bind", f"127.0.0.1:{s.emulators_port}")
        self.cfg.set("workers", 1)  # the operations thread must live in the worker that started them
        self.cfg.set("worker_class", "gthread")
        self.cfg.set("threads", THREADS)
        self.cfg.set("timeout", 120)
        self.cfg.set("graceful_timeout", 10)
        self.cfg.set("keepalive", 5)
        self.cfg.set("accesslog", None)
        folder = supervised_log_dir()
        if folder is not None:  # under `rserz up`: gunicorn's own lines beside the process's log
            self.cfg.set("errorlog", str(folder / "gunicorn-emulators.log"))
        self.cfg.set("proc_name", "rserz-emulators")
        self.cfg.set("control_socket", str(Path(s.var_dir) / "run" / "gunicorn-emulators.ctl"))

    def load(self) -> Any:
        return emulators_app(self.settings, self.hub_database_url)


def serve_emulators(settings: Settings, hub_database_url: str) -> None:
    """Prepare the emulators' data, then serve them on 127.0.0.1:``settings.emulators_port``."""
    prepare_ferzl(settings, hub_database_url).dispose()
    prepare_smev(settings, hub_database_url).dispose()
    iszl_url = iszl_database_url(hub_database_url)
    ensure_database(iszl_url)
    iszl_engine = make_engine(iszl_url, application_name="rserz-iszl-prepare")
    prepare_iszl(iszl_engine)
    iszl_engine.dispose()
    (Path(settings.var_dir) / "run").mkdir(parents=True, exist_ok=True)
    EmulatorServer(settings, hub_database_url).run()
