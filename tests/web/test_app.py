from __future__ import annotations

import dataclasses

import pytest
import redis
from flask.testing import FlaskClient
from lxml import etree  # type: ignore[import-untyped, unused-ignore]
from sqlalchemy import Engine

from rserz_soap.config import Settings
from rserz_soap.db.uow import Database
from rserz_soap.runtime.services import ServiceUrls
from rserz_soap.web.app import create_app


@pytest.fixture
def hub_settings(settings: Settings, database_url: str, services: ServiceUrls) -> Settings:
    return dataclasses.replace(settings, database_url=database_url, redis_url=services.redis_url)


@pytest.fixture
def client(hub_settings: Settings, db_engine: Engine) -> FlaskClient:
    return create_app(hub_settings, db=Database(db_engine)).test_client()


def test_healthz_reports_both_dependencies(client: FlaskClient) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200
    body = r.get_json()
    assert body["status"] == "ok"
    assert body["checks"]["postgres"]["ok"] and body["checks"]["redis"]["ok"]


def test_healthz_is_503_when_redis_is_unreachable(
    hub_settings: Settings, db_engine: Engine, tmp_path
) -> None:
    dead = redis.Redis(unix_socket_path=str(tmp_path / "nobody.sock"), socket_connect_timeout=0.5)
    r = create_app(hub_settings, db=Database(db_engine), redis_client=dead).test_client().get("/healthz")
    assert r.status_code == 503
    body = r.get_json()
    assert body["status"] == "unavailable"
    assert body["checks"]["redis"]["ok"] is False and body["checks"]["postgres"]["ok"] is True


def test_metrics_are_prometheus_text(client: FlaskClient) -> None:
    client.get("/healthz")
    r = client.get("/metrics")
    assert r.status_code == 200
    assert r.content_type.startswith("text/plain")
    text = r.get_data(as_text=True)
    assert 'rserz_http_requests_total{area="healthz",status="200"}' in text
    assert "rserz_http_request_seconds_bucket" in text


def test_without_the_hubs_keys_soap_answers_a_coded_fault_not_html(client: FlaskClient) -> None:
    r = client.post("/soap/identification", data="<x/>", content_type="text/xml")
    assert r.status_code == 503
    assert r.content_type.startswith("text/xml")
    root = etree.fromstring(r.get_data())
    fault = root.find(".//{http://schemas.xmlsoap.org/soap/envelope/}Fault")
    assert fault is not None and fault.findtext("faultcode") == "soap:Server"
    assert root.findtext(".//{urn:ru:rserz:soap:common:v1}CODE") == "SRV-001"  # the one Fault builder's shape


def test_app_refuses_to_start_without_urls(settings: Settings) -> None:
    with pytest.raises(RuntimeError, match="RSERZ_DATABASE_URL"):
        create_app(dataclasses.replace(settings, database_url=None, redis_url=None))
