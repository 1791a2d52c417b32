"""A running hub for end-to-end SOAP tests: its own database and PKI, served over real HTTP."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import redis
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy import Engine, text
from werkzeug.serving import make_server

from rserz_soap.config import Settings
from rserz_soap.db.engine import make_engine
from rserz_soap.db.participants import register_certificate, upsert_participant
from rserz_soap.db.uow import Database
from rserz_soap.domain.identifiers import make_snils
from rserz_soap.domain.records import PolicyInput
from rserz_soap.runtime.services import ServiceUrls
from rserz_soap.web.app import create_app
from rserz_soap.xmlsig import devpki
from rserz_soap.xmlsig.keys import KeyPair, load_keypair
from tests import builders
from tests.harness import cloned_database

PARTICIPANTS = [
    devpki.ParticipantSpec("smo", "45001", "СМО 45001"),
    devpki.ParticipantSpec("smo", "45002", "СМО 45002", key_type="ec"),
    devpki.ParticipantSpec("mo", "450001", "Поликлиника 1"),
    devpki.ParticipantSpec("iszl", None, "ИСЗЛ"),
]


@dataclass
class Hub:
    url: str
    engine: Engine
    pki: Path
    settings: Settings
    persons: list[Any]

    def keypair(self, folder: str) -> KeyPair:
        return load_keypair(self.pki / folder / "key.pem", self.pki / folder / "cert.pem")

    def sha256(self, folder: str) -> str:
        cert = x509.load_pem_x509_certificate((self.pki / folder / "cert.pem").read_bytes())
        return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()

    soap: Any = None

    def scalar(self, sql: str) -> Any:
        if self.soap is not None:  # the exchange journal is written in batches: make it current first
            self.soap.journal.flush()
        with self.engine.connect() as conn:
            return conn.execute(text(sql)).scalar()


@contextlib.contextmanager
def build_hub_app(hub: Hub) -> Iterator[str]:
    """The hub's web app (keys and CRL read now) on a real HTTP server on a free port; yields its URL."""
    assert hub.settings.redis_url is not None
    rds = redis.Redis.from_url(hub.settings.redis_url)
    from rserz_soap.soap.assembly import build_soap_app

    # every answer checked against the contract; a CRL change seen at once
    soap = build_soap_app(
        hub.settings, Database(hub.engine), rds, validate_responses=True, trust_reload_seconds=0
    )
    if hub.soap is None:
        hub.soap = soap
    app = create_app(hub.settings, db=Database(hub.engine), redis_client=rds, soap_app=soap)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        rds.close()


@pytest.fixture(scope="module")
def hub(
    db_engine: Engine,
    database_url: str,
    template_database: str,
    services: ServiceUrls,
    settings: Settings,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Hub]:
    with cloned_database(db_engine, database_url, template_database, "soap") as url:
        engine = make_engine(url)
        var = tmp_path_factory.mktemp("hubvar")
        pki = var / "pki"
        issued = devpki.init_pki(pki, PARTICIPANTS)
        with engine.begin() as conn:
            for cert in issued:
                pid = upsert_participant(
                    conn, cert.spec.kind, cert.spec.code or cert.spec.kind, cert.spec.name
                )
                register_certificate(conn, pid, cert.cert_path.read_bytes())
            people = []
            for n in range(3):
                p = builders.person_data(
                    fam=["Смирнова", "Кузнецова", "Попова"][n], ss=make_snils(400_000_000 + n)
                )
                rec = builders.record(
                    person=p,
                    documents=(builders.passport(docnum=f"70000{n}"),),
                    policy=PolicyInput(vpolis=2, npolis=f"07000000{n}", dbeg=date(2025, 3, 3)),
                )
                people.append(builders.register_person(conn, rec).card)
        hub_settings = dataclasses.replace(
            settings, var_dir=str(var), database_url=url, redis_url=services.redis_url
        )
        hub = Hub("", engine, pki, hub_settings, people)
        try:
            with build_hub_app(hub) as base_url:
                hub.url = base_url
                yield hub
        finally:
            engine.dispose()
