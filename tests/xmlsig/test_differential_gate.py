"""The gate, not only the core: the fuzzer's mutants sent through the real HTTP endpoint of a running hub
get a coded SOAP Fault, change nothing in the register and are never served.

Each signer (an RSA and an ECDSA participant of the hub) signs a read request now; the original is sent
first and answered (and the hub's signed answer verifies with signxml and libxmlsec1), so a mutant that leaves the signed content intact (a comment, whitespace outside
SignedInfo, ECDSA s → n−s, another KeyInfo form) must be refused as a replay (SEC-105). For every other
mutant the Fault code is the one our core's verdict maps to (soap/security.py), except that a changed
token is refused by trust (SEC-11x) before any signature work.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from lxml import etree  # type: ignore[import-untyped, unused-ignore]

from rserz_soap.soap.faults import FaultCode
from rserz_soap.soap.security import _WSSE_FAULTS
from rserz_soap.xmlsig.wsse import WSU_NS, WsseError, sign_envelope, verify_envelope
from tests.soap.conftest import Hub, hub  # noqa: F401  # the running hub fixture
from tests.soap.test_hostile_corpus import _counts
from tests.xmlsig import differential as d

pytest.importorskip("signxml", reason="signxml (dev extra) is the second independent verifier")

CMN = "urn:ru:rserz:soap:common:v1"
OPERATION = Path(__file__).resolve().parents[1] / "data" / "hostile" / "get-person.xml"
MUTANTS_PER_MUTATION = 3
_TRUST_CODES = {"SEC-111", "SEC-112", "SEC-113", "SEC-114"}


def _signer(live: Hub, folder: str) -> d.Signer:
    keypair = live.keypair(folder)
    key = keypair.private_key
    kind = "p256" if isinstance(key, ec.EllipticCurvePrivateKey) else f"rsa{key.key_size}"  # type: ignore[attr-defined]
    key_pem = key.private_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return d.Signer(kind, keypair, key_pem, keypair.certificate.public_bytes(serialization.Encoding.PEM))


def _signed(live: Hub, key: d.Signer) -> bytes:
    operation = OPERATION.read_text(encoding="utf-8").replace("{ENP}", live.persons[0].enp)
    envelope = etree.fromstring(
        f'<soap:Envelope xmlns:soap="{d.ENV}"><soap:Body>{operation}</soap:Body></soap:Envelope>'.encode()
    )
    sign_envelope(envelope, key.keypair, now=dt.datetime.now(dt.UTC))
    return bytes(etree.tostring(envelope))


def _answer_verifies_with_signxml_and_xmlsec(live: Hub, answer: bytes) -> None:
    """The hub's own signed answer (WS-Security over Body and Timestamp) verifies with both independents."""
    import xmlsec
    from signxml.verifier import SignatureConfiguration, XMLVerifier

    cert_pem = (live.pki / "hub" / "cert.pem").read_bytes()
    config = SignatureConfiguration(expect_references=2)
    XMLVerifier().verify(answer, x509_cert=cert_pem.decode(), expect_config=config)
    root = etree.fromstring(answer)
    context = xmlsec.SignatureContext()
    context.key = xmlsec.Key.from_memory(cert_pem, xmlsec.constants.KeyDataFormatCertPem, None)
    for element in root.iter(etree.Element):
        if element.get(d.WSU_ID) is not None:
            context.register_id(element, "Id", WSU_NS)
    context.verify(xmlsec.tree.find_node(root, xmlsec.constants.NodeSignature))


def _expected(mutant: bytes, mutation: str) -> set[str]:
    """The Fault codes the gate may answer with, from our core's own verdict on the mutant."""
    try:
        envelope = etree.fromstring(mutant)
        verify_envelope(envelope, max_clock_skew=60, max_age=300)
    except etree.XMLSyntaxError:
        return {FaultCode.MALFORMED.value[0]}
    except WsseError as exc:
        code = _WSSE_FAULTS.get(exc.code, FaultCode.BAD_SIGNATURE).value[0]
        return {code} | (_TRUST_CODES if mutation in ("token", "key_info") else set())
    return {FaultCode.REPLAY.value[0]} | (_TRUST_CODES if mutation in ("token", "key_info") else set())


@pytest.mark.parametrize("folder", ["smo-45001", "smo-45002"], ids=["rsa", "ecdsa"])
def test_no_mutant_is_served_and_each_gets_its_coded_fault(hub: Hub, folder: str) -> None:  # noqa: F811
    key = _signer(hub, folder)
    original = _signed(hub, key)
    url = f"{hub.url}/soap/identification"
    headers = {"Content-Type": "text/xml; charset=utf-8"}
    served = requests.post(url, data=original, headers=headers, timeout=30)
    assert served.status_code == 200, served.text[:300]
    _answer_verifies_with_signxml_and_xmlsec(hub, served.content)
    seed = d.Seed(d.SeedSpec(f"gate-{folder}", "ours", key.kind, str(OPERATION)), original, key)

    before = _counts(hub)
    sent = 0
    for mutation in sorted(set(d.MUTATIONS) - {"none"}):
        for n in range(MUTANTS_PER_MUTATION):
            rng_seed = 1009 * n + len(mutation)
            try:
                mutant = d.mutate(seed, mutation, random.Random(rng_seed))
            except d.Skip:
                continue
            resp = requests.post(url, data=mutant, headers=headers, timeout=30)
            where = f"{mutation} #{n} (rng {rng_seed})"
            assert resp.status_code == 500, f"{where} was served: {resp.text[:300]}"
            fault: Any = etree.fromstring(resp.content)
            code = fault.findtext(f".//{{{CMN}}}CODE")
            assert code in _expected(mutant, mutation), f"{where}: {code} {resp.text[:400]}"
            sent += 1
    assert sent >= 30
    assert _counts(hub) == before
    assert requests.get(f"{hub.url}/healthz", timeout=10).status_code == 200
