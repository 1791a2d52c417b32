"""A running ФЕРЗЛ emulator: its own database on the suite's PostgreSQL, a small seeded region, real HTTP.

The emulator trusts a development CA made here; the hub's key (issued by that CA) signs the requests,
the emulator's key signs the answers. Every answer a zeep client receives is also validated against the
contract's schema, so an answer that breaks the contract fails the test that provoked it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import zeep
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from lxml import etree
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from werkzeug.serving import make_server
from zeep.plugins import Plugin
from zeep.transports import Transport

from rserz_soap.config import Settings
from rserz_soap.db.engine import make_engine
from rserz_soap.demo.load import region_reference_from_files
from rserz_soap.demo.region import RegionReference
from rserz_soap.emulators.ferzl import store
from rserz_soap.emulators.ferzl.app import build_ferzl_app, schema_for
from rserz_soap.emulators.ferzl.faults import Faults
from rserz_soap.emulators.ferzl.mpi import MpiApp
from rserz_soap.emulators.ferzl.population import Planted
from rserz_soap.emulators.ferzl.seed import seed_federal
from rserz_soap.soap.faults import SOAP_ENV
from rserz_soap.xmlsig import devpki
from rserz_soap.xmlsig.keys import KeyPair, load_keypair
from rserz_soap.xmlsig.trust import TrustStore
from rserz_soap.xmlsig.wsse import sign_envelope
from rserz_soap.xmlsig.zeep_plugin import WsseSigner

N = 2_000
SEED = 3
SHARE = 0.05
VERSION = "24.1.2"
NS = f"urn:ferzl:mpi:types:{VERSION}"


class ContractCheck(Plugin):  # type: ignore[misc]
    """Validates every received Body element (answer or fault detail) against the served schema."""

    def ingress(self, envelope: Any, http_headers: Any, operation: Any) -> tuple[Any, Any]:
        schema = schema_for(VERSION)
        body = envelope.find(f"{{{SOAP_ENV}}}Body")
        element = body[0]
        if element.tag == f"{{{SOAP_ENV}}}Fault":
            detail = element.find("detail")
            element = detail[0] if detail is not None and len(detail) else None
        if element is not None and not schema.validate(element):
            raise AssertionError(f"the answer breaks the contract: {schema.error_log}")
        return envelope, http_headers


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

    def keypair(self, folder: str = "hub") -> KeyPair:
        return load_keypair(self.pki / folder / "key.pem", self.pki / folder / "cert.pem")

    def signer(self, keypair: KeyPair | None = None) -> WsseSigner:
        cert = x509.load_pem_x509_certificate((self.pki / "ferzl" / "cert.pem").read_bytes())
        return WsseSigner(
            keypair or self.keypair(),
            trust=TrustStore.from_pki_dir(self.pki),
            expected_signers={cert.fingerprint(hashes.SHA256()).hex()},
        )

    def client(self, *, timeout: float = 20) -> Any:
        transport = Transport(operation_timeout=timeout, timeout=timeout)
        return zeep.Client(
            f"{self.url}?wsdl", wsse=self.signer(), transport=transport, plugins=[ContractCheck()]
        )

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

    def post(self, envelope: Any, *, sign: KeyPair | None = None) -> tuple[int, str, bytes]:
        """POST an envelope as it is (signed with ``sign`` if given); (status, content type, body)."""
        if sign is not None:
            sign_envelope(envelope, sign)
        req = urllib.request.Request(
            self.url,
            data=etree.tostring(envelope),
            method="POST",
            headers={"Content-Type": "text/xml; charset=utf-8"},
        )
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, r.headers["Content-Type"], r.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers["Content-Type"], exc.read()

    def scalar(self, sql: str, **params: Any) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()


def envelope(element: Any) -> Any:
    env = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"soap": SOAP_ENV})
    etree.SubElement(env, f"{{{SOAP_ENV}}}Body").append(element)
    return env


def fault_code(body: bytes) -> str:
    root = etree.fromstring(body)
    code = root.find(f".//{{{NS}}}fault/{{{NS}}}code")
    assert code is not None, body[:500]
    return str(code.text)


@pytest.fixture(scope="session")
def ferzl(
    db_engine: Engine, database_url: str, settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Ferzl]:
    url = store.ferzl_database_url(database_url)
    name = make_url(url).database
    with db_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    assert store.ensure_database(url)
    assert not store.ensure_database(url)
    engine = make_engine(url)
    store.create_schema(engine)
    var = tmp_path_factory.mktemp("ferzlvar")
    devpki.init_pki(var / "pki", [devpki.ParticipantSpec("ferzl", None, "ФЕРЗЛ (эмулятор)")])
    ferzl_settings = dataclasses.replace(settings, var_dir=str(var), ferzl_api_version=VERSION)
    reference = region_reference_from_files(ferzl_settings)
    planted = seed_federal(engine, reference, N, SEED, share=SHARE, workers=0)
    app = build_ferzl_app(ferzl_settings, engine)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Ferzl(
            f"http://127.0.0.1:{server.server_port}",
            engine,
            var / "pki",
            ferzl_settings,
            reference,
            planted,
            app,
        )
    finally:
        server.shutdown()
        engine.dispose()
        with db_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


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
