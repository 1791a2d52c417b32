"""The gate as an attacker and two impatient clients try it: trust before work, replay that cannot be
bent, exactly-once under concurrency, and a record of who was shown whom."""

from __future__ import annotations

import base64
import copy
import datetime as dt
import io
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from lxml import etree  # type: ignore[import-untyped, unused-ignore]
from sqlalchemy import text

from rserz_soap.xmlsig import devpki
from rserz_soap.xmlsig.keys import KeyPair, load_keypair
from rserz_soap.xmlsig.wsse import sign_envelope
from tests.soap.conftest import Hub
from tests.soap.test_contract_promises import _p040

ENV = "http://schemas.xmlsoap.org/soap/envelope/"
DS = "http://www.w3.org/2000/09/xmldsig#"
IDN = "urn:ru:rserz:soap:identification:v1"
CMN = "urn:ru:rserz:soap:common:v1"
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def _envelope(operation: str) -> Any:
    return etree.fromstring(
        f'<soap:Envelope xmlns:soap="{ENV}"><soap:Body>{operation}</soap:Body></soap:Envelope>'.encode()
    )


def _get_person(enp: str, padding: int = 0) -> str:
    pad = f"<!-- {'x' * padding} -->" if padding else ""
    return f'<idn:getPersonData xmlns:idn="{IDN}"><idn:ENP>{enp}</idn:ENP>{pad}</idn:getPersonData>'


def _post(hub: Hub, data: bytes, service: str = "identification") -> requests.Response:
    return requests.post(
        f"{hub.url}/soap/{service}",
        data=data,
        headers={"Content-Type": "text/xml; charset=utf-8"},
        timeout=30,
    )


def _code(resp: requests.Response) -> str | None:
    code = etree.fromstring(resp.content).findtext(f".//{{{CMN}}}CODE")
    return None if code is None else str(code)


def _handle_cpu(hub: Hub, data: bytes) -> tuple[str, float]:
    """The hub's whole handling of one request in this process: (Fault code, CPU seconds)."""
    environ = {
        "REQUEST_METHOD": "POST",
        "CONTENT_TYPE": "text/xml; charset=utf-8",
        "CONTENT_LENGTH": str(len(data)),
        "wsgi.input": io.BytesIO(data),
    }
    started = time.process_time()
    _status, body = hub.soap.handle("identification", environ)
    spent = time.process_time() - started
    return str(etree.fromstring(body).findtext(f".//{{{CMN}}}CODE")), spent


def _with_32_references(signed: bytes) -> bytes:
    """The signed envelope with its Body reference repeated to 32 (the attack of issue 11)."""
    env = etree.fromstring(signed)
    signed_info = env.find(f".//{{{DS}}}SignedInfo")
    body_ref = next(r for r in signed_info.findall(f"{{{DS}}}Reference") if "TS-" not in (r.get("URI") or ""))
    for _ in range(31):
        signed_info.append(copy.deepcopy(body_ref))
    return bytes(etree.tostring(env))


def _self_made(hub: Hub) -> KeyPair:
    other = hub.pki.parent / "selfmade"
    devpki.init_pki(other, [devpki.ParticipantSpec("mo", "450001", "Самозванец")])
    return load_keypair(other / "mo-450001" / "key.pem", other / "mo-450001" / "cert.pem")


@pytest.mark.parametrize("signer", ["self-made certificate", "registered participant"])
def test_a_32_reference_4mb_request_costs_almost_nothing(hub: Hub, signer: str) -> None:
    env = _envelope(_get_person(hub.persons[0].enp, padding=4 * 1024 * 1024 - 40_000))
    keypair = _self_made(hub) if signer == "self-made certificate" else hub.keypair("mo-450001")
    sign_envelope(env, keypair)
    data = _with_32_references(etree.tostring(env))
    assert len(data) < 4 * 1024 * 1024
    code, cpu = _handle_cpu(hub, data)
    assert code == ("SEC-111" if signer == "self-made certificate" else "SEC-102")
    print(f"{signer}: {code} after {cpu * 1000:.1f} ms of CPU")
    assert cpu < 0.05, f"{cpu * 1000:.1f} ms of CPU before the refusal"


def _flip_s(signed: bytes) -> bytes:
    """The same ECDSA signature with s replaced by n − s: still valid, different bytes."""
    env = etree.fromstring(signed)
    value = env.find(f".//{{{DS}}}SignatureValue")
    raw = base64.b64decode(value.text)
    r, s = int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")
    value.text = base64.b64encode(r.to_bytes(32, "big") + (P256_ORDER - s).to_bytes(32, "big")).decode()
    return bytes(etree.tostring(env))


def test_an_ecdsa_replay_with_s_flipped_is_still_a_replay(hub: Hub) -> None:
    env = _envelope(_get_person(hub.persons[0].enp))
    sign_envelope(env, hub.keypair("smo-45002"))  # the demo СМО that signs with ECDSA P-256
    data = etree.tostring(env)
    assert _post(hub, data).status_code == 200
    flipped = _flip_s(data)
    assert flipped != data
    resp = _post(hub, flipped)
    assert resp.status_code == 500 and _code(resp) == "SEC-105"


def test_a_timestamp_that_expires_in_ten_years_is_refused(hub: Hub) -> None:
    env = _envelope(_get_person(hub.persons[0].enp))
    sign_envelope(env, hub.keypair("mo-450001"), timestamp_ttl=10 * 365 * 86400)
    assert _post(hub, etree.tostring(env)).status_code == 200  # fresh: accepted, its replay key bounded
    old = _envelope(_get_person(hub.persons[0].enp))
    sign_envelope(
        old,
        hub.keypair("mo-450001"),
        timestamp_ttl=10 * 365 * 86400,
        now=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1),
    )
    resp = _post(hub, etree.tostring(old))  # an hour old, "valid" for ten years: older than the maximum age
    assert resp.status_code == 500 and _code(resp) == "SEC-104"
    ttl = hub.soap.gate._replay._redis.ttl  # the key of the accepted one lives max age + skew, not 10 years
    keys = hub.soap.gate._replay._redis.keys("rserz:replay:*")
    assert keys and max(ttl(k) for k in keys) <= hub.settings.message_max_age + hub.settings.clock_skew


def test_sha1_reference_digests_only_for_a_peer_that_opts_in(hub: Hub) -> None:
    """An old peer's stack (python-xmlsec) digests with SHA-1: refused unless that participant opts in."""
    pytest.importorskip("xmlsec", reason="python-xmlsec signs the SHA-1 message an old peer would send")
    import xmlsec
    from zeep.wsse.signature import BinarySignature
    from zeep.wsse.utils import WSU, get_security_header, get_timestamp

    def old_peer() -> bytes:
        env = etree.fromstring(
            f'<soap:Envelope xmlns:soap="{ENV}"><soap:Header/><soap:Body>{_get_person(hub.persons[0].enp)}'
            "</soap:Body></soap:Envelope>".encode()
        )
        now = dt.datetime.now(dt.UTC)
        get_security_header(env).append(
            WSU.Timestamp(
                WSU.Created(get_timestamp(now, zulu_timestamp=True)),
                WSU.Expires(get_timestamp(now + dt.timedelta(minutes=5), zulu_timestamp=True)),
            )
        )
        folder: Path = hub.pki / "mo-450001"
        BinarySignature(
            str(folder / "key.pem"),
            str(folder / "cert.pem"),
            signature_method=xmlsec.constants.TransformRsaSha256,
            digest_method=xmlsec.constants.TransformSha1,
        ).apply(env, {})
        return bytes(etree.tostring(env))

    refused = _post(hub, old_peer())
    assert refused.status_code == 500 and _code(refused) == "SEC-102"
    with hub.engine.begin() as conn:
        conn.execute(text("UPDATE participant SET legacy_sha1 = true WHERE kind = 'mo' AND code = '450001'"))
    hub.soap.gate._cache.clear()
    try:
        assert _post(hub, old_peer()).status_code == 200
    finally:
        with hub.engine.begin() as conn:
            conn.execute(
                text("UPDATE participant SET legacy_sha1 = false WHERE kind = 'mo' AND code = '450001'")
            )
        hub.soap.gate._cache.clear()


def test_twenty_concurrent_copies_of_one_write_leave_one_entry_and_one_answer(hub: Hub) -> None:
    request = _p040(hub.persons[2], "+79130000077")
    before = hub.scalar("SELECT count(*) FROM buffer_entry")

    def send(_i: int) -> tuple[int, str]:
        env = _envelope(request)
        sign_envelope(env, hub.keypair("smo-45001"))  # each copy signed anew: not a replay, a repeat
        resp = _post(hub, etree.tostring(env), "register")
        body = etree.fromstring(resp.content).find(f"{{{ENV}}}Body")[0]
        return resp.status_code, etree.tostring(body, method="c14n").decode()

    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(send, range(20)))
    assert {status for status, _ in answers} == {200}
    assert len({body for _, body in answers}) == 1  # every copy got the first answer
    assert hub.scalar("SELECT count(*) FROM buffer_entry") == before + 1


def test_every_read_records_whom_it_showed_and_nothing_else(hub: Hub) -> None:
    target = hub.persons[1]
    env = _envelope(_get_person(target.enp))
    sign_envelope(env, hub.keypair("mo-450001"))
    resp = _post(hub, etree.tostring(env))
    correlation = etree.fromstring(resp.content).findtext(".//{*}CORRELATION_ID")
    assert resp.status_code == 200 and correlation is None
    hub.soap.disclosures.flush()
    rows = _rows(
        hub,
        "SELECT d.operation, d.person_ids, p.code FROM disclosure d JOIN participant p ON p.id = d.participant_id"
        " ORDER BY d.id DESC LIMIT 1",
    )
    assert rows == [("getPersonData", [target.person_id], "450001")]
    columns = {
        r[0]
        for r in _rows(
            hub, "SELECT column_name FROM information_schema.columns WHERE table_name = 'disclosure'"
        )
    }
    assert columns == {"id", "disclosed_at", "participant_id", "operation", "correlation_id", "person_ids"}


def _rows(hub: Hub, sql: str) -> list[tuple[Any, ...]]:
    with hub.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql))]


def test_a_search_by_surname_alone_is_refused(hub: Hub) -> None:
    env = _envelope(f'<idn:searchPersons xmlns:idn="{IDN}"><idn:FAM>Смирнова</idn:FAM></idn:searchPersons>')
    sign_envelope(env, hub.keypair("smo-45001"))
    resp = _post(hub, etree.tostring(env))
    assert resp.status_code == 500 and _code(resp) == "REQ-031"


def test_an_mo_sees_what_it_needs_of_a_card(hub: Hub) -> None:
    def card(folder: str) -> Any:
        env = _envelope(_get_person(hub.persons[0].enp))
        sign_envelope(env, hub.keypair(folder))
        return etree.fromstring(_post(hub, etree.tostring(env)).content).find(f".//{{{IDN}}}ZL")

    clinic, insurer = card("mo-450001"), card("smo-45001")
    assert insurer.find(f"{{{IDN}}}ADDRES_G") is not None
    assert clinic.find(f"{{{IDN}}}ADDRES_G") is None and clinic.find(f".//{{{CMN}}}PHONE") is None
    assert clinic.find(f"{{{IDN}}}INSURANCE") is not None and len(clinic.findall(f"{{{IDN}}}DOC")) <= 1


def test_metrics_are_for_the_allowed_addresses_only(hub: Hub) -> None:
    assert requests.get(f"{hub.url}/metrics", timeout=10).status_code == 200  # loopback: allowed
    from rserz_soap.web.app import create_app

    app = create_app(hub.settings, db=hub.soap.hub.db, soap_app=hub.soap).test_client()
    assert app.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.7"}).status_code == 403


def test_a_missing_crl_refuses_every_request_and_says_so(hub: Hub) -> None:
    crl = hub.pki / "ca" / "crl.pem"
    saved = crl.read_bytes()
    crl.unlink()
    try:
        env = _envelope(_get_person(hub.persons[0].enp))
        sign_envelope(env, hub.keypair("mo-450001"))
        resp = _post(hub, etree.tostring(env))
        assert resp.status_code == 500 and _code(resp) == "SRV-001"
        health = requests.get(f"{hub.url}/healthz", timeout=10)
        assert health.status_code == 503 and health.json()["checks"]["trust"]["ok"] is False
        crl.write_bytes(b"-----BEGIN X509 CRL-----\nbroken\n-----END X509 CRL-----\n")
        resp = _post(hub, etree.tostring(_signed_again(hub)))
        assert _code(resp) == "SRV-001"  # a broken CRL is no better than none
    finally:
        crl.write_bytes(saved)
    assert _post(hub, etree.tostring(_signed_again(hub))).status_code == 200


def _signed_again(hub: Hub) -> Any:
    env = _envelope(_get_person(hub.persons[0].enp))
    sign_envelope(env, hub.keypair("mo-450001"))
    return env


def test_the_demo_pki_issues_an_ecdsa_smo_and_mo(fresh_engine: Any) -> None:
    from rserz_soap.runtime.bootstrap import participant_specs

    specs = participant_specs(fresh_engine, dt.date.today())
    ec = {(s.kind, s.key_type) for s in specs if s.key_type == "ec"}
    assert ec == {("smo", "ec"), ("mo", "ec")}
    assert sum(1 for s in specs if s.key_type == "ec") == 2
