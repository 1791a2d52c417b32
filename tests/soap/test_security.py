"""Refused and journaled with a coded Fault, nothing written: every way a request can be wrong."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
import requests
from lxml import etree  # type: ignore[import-untyped, unused-ignore]
from sqlalchemy import text

from rserz_soap.xmlsig import devpki
from rserz_soap.xmlsig.keys import KeyPair, load_keypair
from rserz_soap.xmlsig.trust import TrustStore
from rserz_soap.xmlsig.wsse import sign_envelope, verify_envelope
from tests.soap.conftest import Hub

ENV = "http://schemas.xmlsoap.org/soap/envelope/"
IDN = "urn:ru:rserz:soap:identification:v1"
CMN = "urn:ru:rserz:soap:common:v1"


def _request(enp: str, ns: str = IDN) -> Any:
    env = etree.Element(f"{{{ENV}}}Envelope", nsmap={"soap": ENV})
    body = etree.SubElement(env, f"{{{ENV}}}Body")
    op = etree.SubElement(body, f"{{{ns}}}getPersonData", nsmap={"idn": ns})
    etree.SubElement(op, f"{{{ns}}}ENP").text = enp
    return env


def _post(hub: Hub, data: bytes, content_type: str = "text/xml; charset=utf-8") -> requests.Response:
    return requests.post(
        f"{hub.url}/soap/identification", data=data, headers={"Content-Type": content_type}, timeout=10
    )


def _fault_code(resp: requests.Response) -> str | None:
    root = etree.fromstring(resp.content)
    code = root.findtext(f".//{{{CMN}}}CODE")
    return None if code is None else str(code)


def _signed(env: Any, keypair: KeyPair, **kw: Any) -> bytes:
    sign_envelope(env, keypair, **kw)
    return bytes(etree.tostring(env))


def _journal(hub: Hub) -> int:
    return int(hub.scalar("SELECT count(*) FROM exchange_journal"))


def test_a_signed_request_is_answered_and_the_answer_is_signed_by_the_hub(hub: Hub) -> None:
    resp = _post(hub, _signed(_request(hub.persons[0].enp), hub.keypair("mo-450001")))
    assert resp.status_code == 200
    verified = verify_envelope(etree.fromstring(resp.content))
    TrustStore.from_pki_dir(hub.pki).validate(verified.certificate, at=dt.datetime.now(dt.UTC))
    assert hub.sha256("hub") in {hub.sha256("hub")}  # the hub's own key signed it:
    assert (
        verified.certificate.subject
        == load_keypair(hub.pki / "hub" / "key.pem", hub.pki / "hub" / "cert.pem").certificate.subject
    )


def _tamper(env: Any) -> bytes:
    env.find(f".//{{{IDN}}}ENP").text = "4554910834000012"
    return bytes(etree.tostring(env))


def _other_ca_key(hub: Hub) -> KeyPair:
    other = hub.pki.parent / "otherpki"
    devpki.init_pki(other, [devpki.ParticipantSpec("mo", "450001", "Самозванец")])
    return load_keypair(other / "mo-450001" / "key.pem", other / "mo-450001" / "cert.pem")


def _special_cert(hub: Hub, folder: str, **kw: Any) -> KeyPair:
    devpki.issue_certificate(
        hub.pki, devpki.ParticipantSpec("mo", "450001", "Поликлиника 1"), folder=folder, **kw
    )
    return load_keypair(hub.pki / folder / "key.pem", hub.pki / folder / "cert.pem")


CASES: dict[str, tuple[Callable[[Hub], bytes], str]] = {
    "unsigned": (lambda h: bytes(etree.tostring(_request(h.persons[0].enp))), "SEC-101"),
    "tampered body": (
        lambda h: _tamper(etree.fromstring(_signed(_request(h.persons[0].enp), h.keypair("mo-450001")))),
        "SEC-102",
    ),
    "certificate of another CA": (lambda h: _signed(_request(h.persons[0].enp), _other_ca_key(h)), "SEC-111"),
    "expired certificate": (
        lambda h: _signed(
            _request(h.persons[0].enp),
            _special_cert(
                h,
                "mo-expired",
                not_before=dt.datetime(2020, 1, 1, tzinfo=dt.UTC),
                not_after=dt.datetime(2021, 1, 1, tzinfo=dt.UTC),
            ),
        ),
        "SEC-112",
    ),
    "unregistered certificate": (
        lambda h: _signed(_request(h.persons[0].enp), _special_cert(h, "mo-unknown")),
        "SEC-114",
    ),
    "stale timestamp": (
        lambda h: _signed(
            _request(h.persons[0].enp),
            h.keypair("mo-450001"),
            now=dt.datetime.now(dt.UTC) - dt.timedelta(hours=2),
        ),
        "SEC-104",
    ),
    "DOCTYPE / XXE": (
        lambda h: (
            b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
            + bytes(etree.tostring(_request("&e;")))
        ),
        "SEC-003",
    ),
    "billion laughs": (
        lambda h: (
            b'<!DOCTYPE l [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
            + bytes(etree.tostring(_request("&b;")))
        ),
        "SEC-003",
    ),
    "malformed": (lambda h: b"<soap:Envelope xmlns:soap='" + ENV.encode() + b"'><soap:Body>", "SEC-004"),
    "oversized": (lambda h: b"<a>" + b"x" * (5 * 1024 * 1024) + b"</a>", "SEC-002"),
    "wrong namespace": (
        lambda h: _signed(
            _request(h.persons[0].enp, ns="urn:ru:rserz:soap:identification:v9"), h.keypair("mo-450001")
        ),
        "REQ-003",
    ),
    "schema violation": (lambda h: _signed(_request("12345"), h.keypair("mo-450001")), "REQ-002"),
}


def _refused_count(code: str) -> float:
    from rserz_soap.soap.server import REFUSED

    return float(REFUSED.labels(code)._value.get())


@pytest.mark.parametrize("case", list(CASES))
def test_refused_with_a_coded_fault(hub: Hub, case: str) -> None:
    """A request the gate never trusted gets an unsigned Fault and costs no journal row (it is counted in
    /metrics); one refused after the gate is signed and journaled. Either way nothing is written."""
    make, code = CASES[case]
    before_journal = _journal(hub)
    before_refused = _refused_count(code)
    before_versions = hub.scalar("SELECT count(*) FROM person_version")
    resp = _post(hub, make(hub))
    assert resp.status_code == 500 and resp.headers["Content-Type"].startswith("text/xml"), resp.text[:300]
    assert _fault_code(resp) == code
    signed = etree.fromstring(resp.content).find(f".//{{{ENV}}}Header") is not None
    if code.startswith("SEC-"):
        assert not signed and _journal(hub) == before_journal
        assert _refused_count(code) == before_refused + 1
    else:
        assert signed and _journal(hub) == before_journal + 1
        last = hub.scalar("SELECT error_code FROM exchange_journal ORDER BY id DESC LIMIT 1")
        assert last == code
    assert hub.scalar("SELECT count(*) FROM person_version") == before_versions


def test_wrong_content_type_is_refused(hub: Hub) -> None:
    resp = _post(hub, _signed(_request(hub.persons[0].enp), hub.keypair("mo-450001")), "application/json")
    assert resp.status_code == 500 and _fault_code(resp) == "SEC-001"


def test_a_replayed_message_is_refused(hub: Hub) -> None:
    data = _signed(_request(hub.persons[0].enp), hub.keypair("mo-450001"))
    assert _post(hub, data).status_code == 200
    again = _post(hub, data)
    assert again.status_code == 500 and _fault_code(again) == "SEC-105"


def test_a_revoked_certificate_is_refused_without_a_restart(hub: Hub) -> None:
    """Publishing a CRL that lists the certificate is enough: the running hub re-reads ca/crl.pem."""
    keypair = _special_cert(hub, "mo-revoked")
    from rserz_soap.db.participants import register_certificate

    with hub.engine.begin() as conn:  # registered to the МО, so only the revocation can refuse it
        pid = conn.execute(
            text("SELECT id FROM participant WHERE kind = 'mo' AND code = '450001'")
        ).scalar_one()
        register_certificate(conn, pid, (hub.pki / "mo-revoked" / "cert.pem").read_bytes())
    assert _post(hub, _signed(_request(hub.persons[0].enp), keypair)).status_code == 200
    devpki.revoke(hub.pki, keypair.certificate.serial_number)
    resp = _post(hub, _signed(_request(hub.persons[0].enp), keypair))
    assert resp.status_code == 500 and _fault_code(resp) == "SEC-113"
