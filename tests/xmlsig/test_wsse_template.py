"""Answers signed from a template (``wsse._AnswerTemplate``): an envelope that is only a Body — every answer
of the hub — gets a copy of the Security header the general path made once, refilled. These tests hold it
to the general path's output and to two verifiers that share nothing with it (ours and xmlsec's)."""

from __future__ import annotations

import copy
import datetime as dt
import os
import re
import threading
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from rserz_soap.xmlsig import wsse
from rserz_soap.xmlsig.c14n import DS_NS, EXC_C14N, SplicedC14N, exclusive_c14n
from rserz_soap.xmlsig.dsig import Reference, SignatureError, SignatureTemplate, sign, verify
from rserz_soap.xmlsig.keys import KeyPair
from rserz_soap.xmlsig.wsse import (
    SOAP11_NS,
    SOAP12_NS,
    WSSE_NS,
    WSU_NS,
    WsseError,
    sign_envelope,
    verify_envelope,
)
from tests.xmlsig.conftest import pki_keypair

S = f"{{{SOAP11_NS}}}"
D = f"{{{DS_NS}}}"
WSSE = f"{{{WSSE_NS}}}"
WSU = f"{{{WSU_NS}}}"
ANSWER_NS = "urn:ru:rserz:soap:identification:v1"


@pytest.fixture(params=["hub", "mo-450012", "hub/gost"], ids=["rsa", "ec", "gost"])
def keypair(request: pytest.FixtureRequest, pki: Path) -> KeyPair:
    return pki_keypair(pki, request.param)


@pytest.fixture
def hub(pki: Path) -> KeyPair:
    return pki_keypair(pki, "hub")


def _answer(soap_ns: str = SOAP11_NS, prefix: str = "soap", family: str = "Иванова") -> Any:
    """An envelope as the hub's server builds its answers: one namespace, only a Body."""
    envelope = etree.Element(f"{{{soap_ns}}}Envelope", nsmap={prefix: soap_ns})
    answer = etree.SubElement(
        etree.SubElement(envelope, f"{{{soap_ns}}}Body"),
        f"{{{ANSWER_NS}}}getPersonDataResponse",
        nsmap={None: ANSWER_NS},
    )
    etree.SubElement(answer, f"{{{ANSWER_NS}}}ERR_CODE").text = "0"
    etree.SubElement(answer, f"{{{ANSWER_NS}}}FAM", attrib={"kind": "a&b <c>"}).text = family
    return envelope


def _wire(envelope: Any) -> Any:
    return etree.fromstring(etree.tostring(envelope, xml_declaration=True, encoding="UTF-8"))


def _template_for(keypair: KeyPair, soap_ns: str = SOAP11_NS, prefix: str = "soap") -> Any:
    return wsse._ANSWER_TEMPLATES.get((keypair.private_key, keypair.certificate_der, None, soap_ns, prefix))


def _xmlsec_verify(pki: Path, folder: str, envelope: Any) -> None:
    """zeep's BinarySignature over libxmlsec1: the second, independent verifier (raises if refused)."""
    pytest.importorskip("xmlsec", reason="the xmlsec wheel is the independent verifier")
    from zeep.wsse.signature import BinarySignature

    BinarySignature(str(pki / folder / "key.pem"), str(pki / folder / "cert.pem")).verify(envelope)


def _variable_parts_masked(envelope: Any) -> str:
    """The serialised envelope with what differs between two signatures of it masked (Ids, times,
    digests, SignatureValue): what is left is the structure, the token, the algorithms, the namespaces."""
    text = etree.tostring(envelope).decode()
    text = re.sub(r"(id|TS|X509)-[0-9a-f]{32}", r"\1-…", text)
    text = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", "…time…", text)
    return re.sub(r"(<ds:(?:DigestValue|SignatureValue)>)[^<]*<", r"\1…<", text)


# --- the fast path: same output, same verifiers -------------------------------------------------------


def test_an_answer_is_signed_from_the_template_and_verifies(pki: Path, keypair: KeyPair) -> None:
    envelope = _answer()
    sign_envelope(envelope, keypair)
    assert _template_for(keypair) is not None  # this envelope took the template path
    received = _wire(envelope)
    result = verify_envelope(received)
    assert result.certificate == keypair.certificate
    assert result.signed_body and result.signed_timestamp
    assert result.body is received.find(f"{S}Body")


@pytest.mark.parametrize("folder", ["hub", "mo-450012"], ids=["rsa", "ec"])
def test_an_answer_from_the_template_verifies_with_xmlsec_and_a_tampered_one_does_not(
    pki: Path, folder: str
) -> None:
    from zeep.exceptions import SignatureVerificationFailed

    keypair = pki_keypair(pki, folder)
    envelope = _answer()
    sign_envelope(envelope, keypair)
    assert _template_for(keypair) is not None
    _xmlsec_verify(pki, folder, _wire(envelope))
    tampered = _wire(envelope)
    tampered.find(f".//{{{ANSWER_NS}}}FAM").text = "Петрова"
    with pytest.raises(SignatureVerificationFailed):
        _xmlsec_verify(pki, folder, tampered)


def test_the_template_path_writes_what_the_general_path_writes(keypair: KeyPair) -> None:
    fast, general = _answer(), _answer()
    now = dt.datetime(2026, 12, 5, 14, 0, tzinfo=dt.UTC)
    sign_envelope(fast, keypair, now=now, timestamp_ttl=120)
    wsse._sign_in_place(general, general.find(f"{S}Body"), SOAP11_NS, keypair, now, 120, None)
    assert _template_for(keypair) is not None
    assert _variable_parts_masked(fast) == _variable_parts_masked(general)
    timestamp = fast.find(f"{S}Header/{WSSE}Security/{WSU}Timestamp")
    assert timestamp.findtext(f"{WSU}Created") == "2026-12-05T14:00:00.000Z"
    assert timestamp.findtext(f"{WSU}Expires") == "2026-12-05T14:02:00.000Z"
    assert verify_envelope(_wire(fast), now=now).signed_timestamp


def test_soap_1_2_answers_use_their_own_template(hub: KeyPair) -> None:
    envelope = _answer(SOAP12_NS, "env")
    sign_envelope(envelope, hub)
    assert _template_for(hub, SOAP12_NS, "env") is not None
    received = _wire(envelope)
    security = received.find(f"{{{SOAP12_NS}}}Header/{WSSE}Security")
    assert security.get(f"{{{SOAP12_NS}}}mustUnderstand") == "true"
    assert received.find(f"{{{SOAP12_NS}}}Header").prefix == "env"
    assert verify_envelope(received).signed_body


# --- the template is not shared state -------------------------------------------------------------------


def _ids(envelope: Any) -> set[str]:
    return {str(value) for value in envelope.xpath("//@*[local-name() = 'Id']")}


def test_two_answers_in_a_row_are_independent(hub: KeyPair) -> None:
    first, second = _answer(), _answer()
    sign_envelope(first, hub)
    template = _template_for(hub)
    before = etree.tostring(template.header)
    sign_envelope(second, hub)
    assert etree.tostring(template.header) == before  # the template itself is never written to
    assert _ids(first).isdisjoint(_ids(second)) and len(_ids(first)) == 3
    value = f"{D}Signature/{D}SignatureValue"
    security = f"{S}Header/{WSSE}Security"
    assert first.findtext(f"{security}/{value}") != second.findtext(f"{security}/{value}")
    # Changing one answer's header after signing changes nothing in the other: they are copies.
    first.find(f"{security}/{WSU}Timestamp").set(f"{WSU}Id", "TS-changed")
    assert verify_envelope(_wire(second)).signed_timestamp
    with pytest.raises(WsseError):
        verify_envelope(_wire(first))


def test_answers_signed_in_two_threads_at_once_all_verify(hub: KeyPair) -> None:
    sign_envelope(_answer(), hub)  # the template exists before the threads start
    envelopes = [[_answer(family=f"Иванова-{t}-{i}") for i in range(40)] for t in range(2)]
    start = threading.Barrier(2)
    failures: list[BaseException] = []

    def work(batch: list[Any]) -> None:
        start.wait()
        try:
            for envelope in batch:
                sign_envelope(envelope, hub)
        except BaseException as exc:  # noqa: BLE001  # reported by the assertion below
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(batch,)) for batch in envelopes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    signed = [envelope for batch in envelopes for envelope in batch]
    ids: set[str] = set()
    for envelope in signed:
        received = _wire(envelope)
        assert verify_envelope(received).body is received.find(f"{S}Body")
        ids |= _ids(envelope)
    assert len(ids) == 3 * len(signed)


@pytest.mark.parametrize("part", ["body", "expires", "signature_value"])
def test_a_tampered_answer_is_refused(hub: KeyPair, part: str) -> None:
    envelope, other = _answer(), _answer()
    sign_envelope(envelope, hub)
    sign_envelope(other, hub)
    received = _wire(envelope)
    security = f"{S}Header/{WSSE}Security"
    if part == "body":
        received.find(f".//{{{ANSWER_NS}}}ERR_CODE").text = "1"
    elif part == "expires":
        received.find(f"{security}/{WSU}Timestamp/{WSU}Expires").text = "2099-01-01T00:00:00.000Z"
    else:  # a valid SignatureValue of another answer of the same key
        value = f"{security}/{D}Signature/{D}SignatureValue"
        received.find(value).text = other.findtext(value)
    with pytest.raises(WsseError) as info:
        verify_envelope(received)
    assert info.value.code == ("bad_signature" if part == "signature_value" else "digest_mismatch")


# --- what stays on the general path ---------------------------------------------------------------------


def test_an_envelope_with_a_security_header_is_signed_the_general_way(hub: KeyPair) -> None:
    envelope = _answer()
    header = etree.Element(f"{S}Header")
    envelope.insert(0, header)
    security = etree.SubElement(header, f"{WSSE}Security")
    etree.SubElement(etree.SubElement(security, f"{WSSE}UsernameToken"), f"{WSSE}Username").text = "smo"
    sign_envelope(envelope, hub)
    assert len(header.findall(f"{WSSE}Security")) == 1
    assert security.find(f"{WSSE}UsernameToken/{WSSE}Username").text == "smo"  # kept: not a template copy
    assert [etree.QName(child).localname for child in security] == [
        "Timestamp",
        "UsernameToken",
        "BinarySecurityToken",
        "Signature",
    ]
    assert verify_envelope(_wire(envelope)).signed_timestamp
    with pytest.raises(ValueError, match="already signed"):
        sign_envelope(envelope, hub)


def test_a_body_with_an_id_keeps_it(hub: KeyPair) -> None:
    envelope = _answer()
    envelope.find(f"{S}Body").set(f"{WSU}Id", "Body-1")
    sign_envelope(envelope, hub)
    result = verify_envelope(_wire(envelope))
    assert result.signature.references[0].id == "Body-1"


def test_a_key_that_does_not_match_its_certificate_signs_as_before(pki: Path) -> None:
    hub, smo = pki_keypair(pki, "hub"), pki_keypair(pki, "smo-45001")
    for _attempt in range(2):  # the template is made by the first, used by the second
        envelope = _answer()
        sign_envelope(envelope, KeyPair(hub.private_key, smo.certificate, smo.certificate_der))
        with pytest.raises(WsseError) as info:
            verify_envelope(_wire(envelope))
        assert info.value.code == "bad_signature"
    envelope = _answer()
    sign_envelope(envelope, smo)  # the matching pair, with the same certificate
    assert verify_envelope(_wire(envelope)).certificate == smo.certificate


def test_an_id_already_in_the_envelope_is_never_signed() -> None:
    envelope = _answer()
    body = envelope.find(f"{S}Body")
    body.set(f"{WSU}Id", "id-1")
    octets = exclusive_c14n(body)
    wsse._check_fresh_ids(envelope, octets, "id-1", "TS-1", "X509-1")  # the Body's own Id, once
    for where, value in (("body", "id-1"), ("body", "TS-1"), ("envelope", "X509-1")):
        copied = copy.deepcopy(envelope)
        element = copied.find(f".//{{{ANSWER_NS}}}ERR_CODE") if where == "body" else copied
        element.set("Id", value)
        with pytest.raises(SignatureError) as info:
            wsse._check_fresh_ids(copied, exclusive_c14n(copied[0]), "id-1", "TS-1", "X509-1")
        assert info.value.code == "duplicate_id"


@pytest.mark.parametrize("which", ["body", "timestamp", "token"])
def test_the_template_path_refuses_an_id_the_body_already_carries(
    hub: KeyPair, monkeypatch: pytest.MonkeyPatch, which: str
) -> None:
    sign_envelope(_answer(), hub)  # the template exists (made with real randomness)
    fresh = bytes(range(48))  # the next answer's Ids, known in advance: what no attacker can do
    monkeypatch.setattr(os, "urandom", lambda n: fresh[:n])
    ids = {"body": f"id-{fresh[:16].hex()}", "timestamp": f"TS-{fresh[16:32].hex()}"}
    ids["token"] = f"X509-{fresh[32:].hex()}"
    envelope = _answer()
    envelope.find(f".//{{{ANSWER_NS}}}ERR_CODE").set(f"{WSU}Id", ids[which])
    with pytest.raises(SignatureError) as info:
        sign_envelope(envelope, hub)
    assert info.value.code == "duplicate_id"
    assert envelope.find(f"{S}Header") is None  # nothing half-signed is left behind
    monkeypatch.undo()
    envelope = _answer()
    sign_envelope(envelope, hub)
    assert verify_envelope(_wire(envelope)).signed_body


# --- the pieces ---------------------------------------------------------------------------------------


def test_spliced_c14n_is_exclusive_c14n() -> None:
    element = etree.fromstring(
        '<a:t xmlns:a="urn:a" xmlns:b="urn:unused" a:Id="x"><a:c>1</a:c><a:e>2</a:e><!-- c --></a:t>'
    )
    spliced = SplicedC14N(element, [(0, "{urn:a}Id"), (1, None), (2, None)])
    assert spliced.octets is not None
    values = ("TS-9", "2026-12-05T14:00:00.000Z", "abc+/=")
    copied = copy.deepcopy(element)
    copied.set("{urn:a}Id", values[0])
    copied[0].text, copied[1].text = values[1], values[2]
    assert spliced.splice(values) == exclusive_c14n(copied)
    assert spliced.splice(("a&b", "1", "2")) is None  # c14n escapes it: the caller canonicalises
    with pytest.raises(ValueError, match="not a value for every slot"):
        spliced.splice(("1", "2"))
    # A slot that c14n does not render (a comment) gives no spliced form: callers canonicalise instead.
    assert SplicedC14N(element, [(3, None)]).octets is None


def test_a_template_signature_with_ids_c14n_escapes_is_canonicalised(hub: KeyPair) -> None:
    document = etree.fromstring('<r><x Id="a">1</x><y Id="b">2</y><s/></r>')
    signature = sign(
        document,
        [Reference("a", transforms=(EXC_C14N,)), Reference("b", transforms=(EXC_C14N,))],
        hub.private_key,
        signature_parent=document.find("s"),
    )
    template = SignatureTemplate(signature)
    other = etree.fromstring('<r><x Id="p&amp;q">3</x><y Id="p&lt;r">4</y><s/></r>')
    copied = copy.deepcopy(signature)
    other.find("s").append(copied)
    x, y = other.find("x"), other.find("y")
    octets = [template.reference_octets(copied, 0, x), template.reference_octets(copied, 1, y)]
    template.seal(copied, ["p&q", "p<r"], octets, hub.private_key)
    verified = verify(copied, public_key=hub.certificate.public_key())
    assert verified.elements == (x, y)
    # and the spliced form was right for the template's own kind of Ids
    plain = copy.deepcopy(signature)
    document.find("s").append(plain)
    template.seal(
        plain,
        ["a", "b"],
        [template.reference_octets(plain, 0, document[0]), template.reference_octets(plain, 1, document[1])],
        hub.private_key,
    )
    document.find("s").remove(signature)
    assert verify(plain, public_key=hub.certificate.public_key()).elements == (document[0], document[1])
