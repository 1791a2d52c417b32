"""While Redis or PostgreSQL restart, a request gets SRV-001 "temporarily unavailable, retry" — the answer
the contract promises for it — not SRV-002 "internal error" with a traceback in the log (the fault suite
saw dozens of SRV-002 while it restarted them)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
import requests
from lxml import etree  # type: ignore[import-untyped, unused-ignore]
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from rserz_soap.db.engine import make_engine
from rserz_soap.db.health import unreachable
from rserz_soap.xmlsig.wsse import sign_envelope
from tests.soap.conftest import Hub, build_hub_app

ENV = "http://schemas.xmlsoap.org/soap/envelope/"
IDN = "urn:ru:rserz:soap:identification:v1"
CMN = "urn:ru:rserz:soap:common:v1"


def _signed_request(hub: Hub, enp: str) -> bytes:
    env = etree.Element(f"{{{ENV}}}Envelope", nsmap={"soap": ENV})
    body = etree.SubElement(env, f"{{{ENV}}}Body")
    op = etree.SubElement(body, f"{{{IDN}}}getPersonData", nsmap={"idn": IDN})
    etree.SubElement(op, f"{{{IDN}}}ENP").text = enp
    sign_envelope(env, hub.keypair("mo-450001"))
    return bytes(etree.tostring(env))


def _code(resp: requests.Response) -> Any:
    return etree.fromstring(resp.content).findtext(f".//{{{CMN}}}CODE")


def test_with_redis_away_a_request_is_told_to_retry(hub: Hub, tmp_path: Path) -> None:
    away = dataclasses.replace(hub.settings, redis_url=f"unix://{tmp_path / 'gone.sock'}")
    stand = dataclasses.replace(hub, settings=away, soap=None)
    with build_hub_app(stand) as url:
        resp = requests.post(
            f"{url}/soap/identification",
            data=_signed_request(hub, hub.persons[0].enp),
            headers={"Content-Type": "text/xml; charset=utf-8"},
            timeout=10,
        )
    assert resp.status_code == 500 and _code(resp) == "SRV-001", resp.text
    # and with Redis there, the same hub answers
    resp = requests.post(
        f"{hub.url}/soap/identification",
        data=_signed_request(hub, hub.persons[0].enp),
        headers={"Content-Type": "text/xml; charset=utf-8"},
        timeout=10,
    )
    assert resp.status_code == 200


def test_a_server_that_is_not_there_or_went_away_is_unreachable(db_engine: Engine, tmp_path: Path) -> None:
    nowhere = make_engine(f"postgresql+psycopg://postgres@/rserz?host={tmp_path}", application_name="t")
    with pytest.raises(DBAPIError) as refused:
        nowhere.connect()
    assert unreachable(refused.value)
    nowhere.dispose()

    with db_engine.connect() as victim, db_engine.connect() as admin:
        pid = victim.execute(text("SELECT pg_backend_pid()")).scalar_one()
        admin.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})  # as a fast shutdown does
        with pytest.raises(DBAPIError) as dropped:
            victim.execute(text("SELECT 1"))
    assert unreachable(dropped.value)


def test_a_fault_of_the_request_or_the_code_is_not_an_outage(db_engine: Engine) -> None:
    with db_engine.connect() as conn:
        conn.execute(text("CREATE TEMP TABLE t (x int PRIMARY KEY)"))
        with pytest.raises(IntegrityError) as broken:
            conn.execute(text("INSERT INTO t VALUES (1), (1)"))
    assert not unreachable(broken.value)
    with db_engine.connect() as conn, pytest.raises(DBAPIError) as syntax:
        conn.execute(text("SELEKT 1"))
    assert not unreachable(syntax.value)
    assert not unreachable(ValueError("no"))
