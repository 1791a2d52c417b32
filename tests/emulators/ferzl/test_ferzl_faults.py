"""The fault switches, the signature gate and the version check of the ФЕРЗЛ emulator."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest
import requests
import zeep.exceptions
from lxml import etree

from rserz_soap.emulators.ferzl.faults import Faults
from rserz_soap.emulators.ferzl.population import Divergence
from rserz_soap.xmlsig import devpki
from rserz_soap.xmlsig.keys import load_keypair
from tests.emulators.ferzl.conftest import NS, VERSION, Ferzl, envelope, fault_code, faults


def _request(ns: str = NS, enp: str = "4500000000000000") -> Any:
    el = etree.Element(f"{{{ns}}}getPersonDataRequest", nsmap={"t": ns})
    etree.SubElement(el, f"{{{ns}}}externalRequestId").text = "raw-1"
    key = etree.SubElement(el, f"{{{ns}}}key")
    etree.SubElement(key, f"{{{ns}}}enp").text = enp
    return el


def test_an_unsigned_request_is_mpi_401(calm: Ferzl) -> None:
    status, _ctype, body = calm.post(envelope(_request()))
    assert status == 500 and fault_code(body) == "MPI-401"


def test_a_request_signed_under_another_ca_is_mpi_401(calm: Ferzl, tmp_path: Any) -> None:
    devpki.init_pki(tmp_path / "other", [])
    stranger = load_keypair(tmp_path / "other" / "hub" / "key.pem", tmp_path / "other" / "hub" / "cert.pem")
    status, _ctype, body = calm.post(envelope(_request()), sign=stranger)
    assert status == 500 and fault_code(body) == "MPI-401"
    status, _ctype, body = calm.post(envelope(_request()), sign=calm.keypair())
    assert status == 200 and b"found>false<" in body


def test_another_api_version_is_mpi_400_naming_the_served_one(calm: Ferzl) -> None:
    status, _ctype, body = calm.post(envelope(_request("urn:ferzl:mpi:types:23.0.1")), sign=calm.keypair())
    assert status == 500 and fault_code(body) == "MPI-400"
    text = etree.fromstring(body).find(f".//{{{NS}}}text").text
    assert "23.0.1" in text and VERSION in text


def test_not_soap_is_mpi_400(calm: Ferzl) -> None:
    status, _ctype, body = calm.post(etree.Element("hello"))
    assert status == 500 and fault_code(body) == "MPI-400"


def test_outage_answers_503_without_soap(calm: Ferzl) -> None:
    client = calm.client()
    until = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    with faults(calm, outage_until=until.isoformat()):
        status, ctype, body = calm.post(envelope(_request()), sign=calm.keypair())
        assert status == 503 and ctype.startswith("text/plain") and b"unavailable" in body
        with pytest.raises(zeep.exceptions.TransportError) as caught:
            client.service.getPersonData(externalRequestId="o", key={"enp": "4500000000000000"})
        assert caught.value.status_code == 503
    past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    with faults(calm, outage_until=past.isoformat()):
        assert (
            client.service.getPersonData(externalRequestId="o", key={"enp": "4500000000000000"}).found
            is False
        )


def test_error_rate_one_is_always_mpi_500(calm: Ferzl) -> None:
    client = calm.client()
    with faults(calm, error_rate=1.0):
        for _ in range(3):
            with pytest.raises(zeep.exceptions.Fault) as caught:
                client.service.getPersonData(externalRequestId="e", key={"enp": "4500000000000000"})
            assert caught.value.detail.find(f".//{{{NS}}}code").text == "MPI-500"
            assert caught.value.detail.find(f".//{{{NS}}}externalRequestId").text == "e"


def test_timeout_hangs_longer_than_a_short_client_waits(calm: Ferzl) -> None:
    client = calm.client(timeout=0.4)
    with faults(calm, timeout_rate=1.0, hang_seconds=1.2):
        started = time.monotonic()
        with pytest.raises(requests.exceptions.Timeout):
            client.service.getPersonData(externalRequestId="t", key={"enp": "4500000000000000"})
        assert time.monotonic() - started < 1.0
    time.sleep(0.9)  # let the hanging request finish before the switches change under it


def test_latency_delays_every_answer(calm: Ferzl) -> None:
    client = calm.client()
    with faults(calm, latency_ms=300):
        started = time.monotonic()
        client.service.getPersonData(externalRequestId="l", key={"enp": "4500000000000000"})
        assert time.monotonic() - started >= 0.3


def test_duplicates_repeat_changes_and_batch_persons(calm: Ferzl) -> None:
    client = calm.client()
    day = dt.date(2032, 2, 2)
    enps = [m.enp for m in calm.planted if m.kind is Divergence.SMO][:3]
    for enp in enps:
        status, _ = calm.control(
            "POST",
            "changes",
            {"enp": enp, "change_date": day.isoformat(), "reason": "DUP", "set": {"ot": "Тестович"}},
        )
        assert status == 200
    started = client.service.startReconciliation(externalRequestId="d", region="45", enpList={"enp": enps})
    deadline = time.monotonic() + 10
    while (
        client.service.getReconciliationStatus(externalRequestId="d", batchId=started.batchId).state != "DONE"
    ):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    with faults(calm, duplicate_rate=1.0):
        changes = client.service.getInsuranceStatusChanges(
            externalRequestId="d", region="45", dateBegin=day, dateEnd=day
        )
        ids = [c.changeId for c in changes.change]
        assert len(ids) == 6 and len(set(ids)) == 3 and ids == sorted(ids)
        result = client.service.getReconciliationResult(externalRequestId="d", batchId=started.batchId)
        assert [p.enp for p in result.person] == [e for e in sorted(enps) for _ in (1, 2)]
    changes = client.service.getInsuranceStatusChanges(
        externalRequestId="d", region="45", dateBegin=day, dateEnd=day
    )
    assert len(changes.change) == 3


def test_the_control_api_reads_and_validates_the_switches(calm: Ferzl) -> None:
    status, body = calm.control("PUT", "faults", {"error_rate": 0.25, "latency_ms": 5})
    assert status == 200 and body["error_rate"] == 0.25
    assert calm.control("GET", "faults")[1] == Faults(error_rate=0.25, latency_ms=5).to_json()
    assert calm.control("PUT", "faults", {"eror_rate": 1})[0] == 400
    assert calm.control("PUT", "faults", {"error_rate": 2})[0] == 400
    assert calm.control("GET", "nothing")[0] == 404
    assert calm.control("GET", "faults")[1]["error_rate"] == 0.25
