"""With RSERZ_DATABASE_REPLICA_URL, identification reads from the replica and everything else from the
primary. The "replica" here is a copy of the hub's database that the primary's later writes never reach,
so which one answered is visible in the answer."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from lxml import etree  # type: ignore[import-untyped, unused-ignore]
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from rserz_soap.db.engine import make_engine, normalize_url
from rserz_soap.db.uow import Database
from rserz_soap.soap.assembly import build_soap_app
from rserz_soap.web import health
from rserz_soap.xmlsig.wsse import sign_envelope
from tests.soap.conftest import Hub
from tests.soap.test_gate_hardening import _envelope, _get_person

IDN = "urn:ru:rserz:soap:identification:v1"
CMN = "urn:ru:rserz:soap:common:v1"


@pytest.fixture(scope="module")
def replica(hub: Hub, db_engine: Engine) -> Iterator[Engine]:
    base = make_url(normalize_url(str(hub.settings.database_url)))
    name = f"{base.database}_replica_{uuid.uuid4().hex[:6]}"
    hub.engine.dispose()  # CREATE DATABASE … TEMPLATE needs the template without connections
    with db_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :d AND pid <> pg_backend_pid()"
            ),
            {"d": base.database},
        )
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{base.database}"'))
    engine = make_engine(base.set(database=name).render_as_string(hide_password=False))
    try:
        yield engine
    finally:
        engine.dispose()
        with db_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _ask(soap: Any, hub: Hub, operation: str, service: str = "identification") -> Any:
    env = _envelope(operation)
    sign_envelope(env, hub.keypair("smo-45001"))
    data = etree.tostring(env)
    environ = {
        "REQUEST_METHOD": "POST",
        "CONTENT_TYPE": "text/xml; charset=utf-8",
        "CONTENT_LENGTH": str(len(data)),
        "wsgi.input": io.BytesIO(data),
    }
    status, body = soap.handle(service, environ)
    assert str(status).startswith("200"), body[:400]
    return etree.fromstring(body)


def test_identification_reads_the_replica_and_writes_and_protocols_the_primary(
    hub: Hub, replica: Engine
) -> None:
    card = hub.persons[0]
    with hub.engine.begin() as conn:  # a write the replica has not received yet
        conn.execute(
            text(
                "UPDATE person_data SET phone = '+79990001122' WHERE superseded_at IS NULL AND valid_to IS NULL"
                " AND person_id = (SELECT id FROM person WHERE main_enp = :e)"
            ),
            {"e": card.enp},
        )
    rds = redis.Redis.from_url(str(hub.settings.redis_url))
    soap = build_soap_app(hub.settings, Database(hub.engine, replica=replica), rds)
    try:
        answer = _ask(soap, hub, _get_person(card.enp))
        assert answer.findtext(f".//{{{CMN}}}PHONE") != "+79990001122"  # the replica's (older) card
        primary_only = build_soap_app(hub.settings, Database(hub.engine), rds)
        assert _ask(primary_only, hub, _get_person(card.enp)).findtext(f".//{{{CMN}}}PHONE") == "+79990001122"
        history = _ask(
            soap,
            hub,
            f'<reg:getPersonHistory xmlns:reg="urn:ru:rserz:soap:register:v1"><reg:ENP>{card.enp}</reg:ENP>'
            "</reg:getPersonHistory>",
            "register",
        )
        assert history.findtext(f".//{{{CMN}}}ERR_CODE") == "0"  # the history is read from the primary
    finally:
        rds.close()


def test_healthz_checks_the_replica_when_there_is_one(hub: Hub, replica: Engine) -> None:
    assert health.check_replica(Database(hub.engine)) is None
    check = health.check_replica(Database(hub.engine, replica=replica))
    assert check is not None and check.ok and check.name == "postgres_replica"
    missing = make_url(normalize_url(str(hub.settings.database_url))).set(database="rserz_no_such_db")
    gone = make_engine(missing.render_as_string(hide_password=False))
    try:
        bad = health.check_replica(Database(hub.engine, replica=gone))
        assert bad is not None and not bad.ok
    finally:
        gone.dispose()
