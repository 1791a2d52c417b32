"""A participant registered with a GOST certificate, over the real HTTP endpoint: its GOST-signed request is
accepted and answered with the hub's GOST signature; a changed byte is refused."""

from __future__ import annotations

import hashlib

import requests
from cryptography.hazmat.primitives import serialization
from lxml import etree  # type: ignore[import-untyped, unused-ignore]

from rserz_soap.db.participants import register_certificate, upsert_participant
from rserz_soap.xmlsig.c14n import DS_NS
from rserz_soap.xmlsig.devpki_gost import load_gost_issued
from rserz_soap.xmlsig.gost.xmldsig import GOST_256, STREEBOG_256
from rserz_soap.xmlsig.keys import load_keypair
from rserz_soap.xmlsig.wsse import sign_envelope, verify_envelope
from tests.soap.conftest import Hub

ENV = "http://schemas.xmlsoap.org/soap/envelope/"
IDN = "urn:ru:rserz:soap:identification:v1"


def _register_gost(hub: Hub, folder: str) -> None:
    issued = {g.folder.parent.name: g for g in load_gost_issued(hub.pki)}
    g = issued[folder]
    with hub.engine.begin() as conn:
        pid = upsert_participant(conn, g.kind, g.code or g.kind, g.name)
        register_certificate(conn, pid, g.cert_path.read_bytes())


def _request(hub: Hub, enp: str) -> bytes:
    env = etree.Element(f"{{{ENV}}}Envelope", nsmap={"soap": ENV})
    op = etree.SubElement(
        etree.SubElement(env, f"{{{ENV}}}Body"), f"{{{IDN}}}getPersonData", nsmap={"idn": IDN}
    )
    etree.SubElement(op, f"{{{IDN}}}ENP").text = enp
    gost = load_keypair(
        hub.pki / "mo-450001" / "gost" / "key.pem", hub.pki / "mo-450001" / "gost" / "cert.pem"
    )
    sign_envelope(env, gost)
    return bytes(etree.tostring(env))


def test_a_gost_signed_request_is_answered_with_the_hubs_gost_signature(hub: Hub) -> None:
    _register_gost(hub, "mo-450001")
    payload = _request(hub, hub.persons[0].enp or "")
    assert f'Algorithm="{GOST_256}"'.encode() in payload
    r = requests.post(
        f"{hub.url}/soap/identification",
        data=payload,
        headers={"Content-Type": "text/xml; charset=utf-8"},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    answer = etree.fromstring(r.content)
    verified = verify_envelope(answer)
    method = answer.find(f".//{{{DS_NS}}}SignatureMethod")
    digests = {d.get("Algorithm") for d in answer.iter(f"{{{DS_NS}}}DigestMethod")}
    assert method is not None and method.get("Algorithm") == GOST_256 and digests == {STREEBOG_256}
    hub_gost = load_keypair(hub.pki / "hub" / "gost" / "key.pem", hub.pki / "hub" / "gost" / "cert.pem")
    der = verified.certificate.public_bytes(serialization.Encoding.DER)
    assert hashlib.sha256(der).hexdigest() == hub_gost.certificate_sha256
    assert answer.find(f".//{{{IDN}}}ZL") is not None


def test_a_changed_byte_of_a_gost_signed_request_is_refused(hub: Hub) -> None:
    _register_gost(hub, "mo-450001")
    enp = hub.persons[1].enp or ""
    payload = _request(hub, enp).replace(enp.encode(), (hub.persons[2].enp or "").encode())
    r = requests.post(
        f"{hub.url}/soap/identification",
        data=payload,
        headers={"Content-Type": "text/xml; charset=utf-8"},
        timeout=30,
    )
    assert r.status_code == 500 and b"Fault" in r.content and b"ZL" not in r.content
