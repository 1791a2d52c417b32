"""WS-Security X.509 token profile (rserz_soap.xmlsig.wsse) on the sample request in tests/data/wsse/."""

from __future__ import annotations

import base64
import copy
import datetime as dt
import hashlib
import os
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from lxml import etree

from rserz_soap.xmlsig.c14n import DS_NS
from rserz_soap.xmlsig.dsig import Reference, sign
from rserz_soap.xmlsig.keys import KeyPair
from rserz_soap.xmlsig.wsse import (
    SOAP11_NS,
    SOAP12_NS,
    THUMBPRINT_SHA1,
    WSSE_NS,
    WSU_NS,
    X509_SKI,
    X509V3,
    WsseError,
    sign_envelope,
    verify_envelope,
)
from tests.xmlsig.conftest import pki_keypair

DATA = Path(__file__).parent.parent / "data" / "wsse"
D = f"{{{DS_NS}}}"
S = f"{{{SOAP11_NS}}}"
WSSE = f"{{{WSSE_NS}}}"
WSU = f"{{{WSU_NS}}}"
NOW = dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(params=["smo-45001", "mo-450012"], ids=["rsa", "ec"])
def keypair(request: pytest.FixtureRequest, pki: Path) -> KeyPair:
    return pki_keypair(pki, request.param)


@pytest.fixture
def smo(pki: Path) -> KeyPair:
    return pki_keypair(pki, "smo-45001")


def _request() -> Any:
    return etree.parse(str(DATA / "request.xml")).getroot()


def _wire(envelope: Any) -> Any:
    """What the peer receives: serialised and parsed again (nothing is shared with the signer's tree)."""
    return etree.fromstring(etree.tostring(envelope))


def _signed(keypair: KeyPair, **kwargs: Any) -> Any:
    envelope = _request()
    sign_envelope(envelope, keypair, now=kwargs.pop("now", NOW), **kwargs)
    return _wire(envelope)


def _code(envelope: Any, **kwargs: Any) -> str:
    with pytest.raises(WsseError) as info:
        verify_envelope(envelope, now=kwargs.pop("now", NOW), **kwargs)
    return info.value.code


def _security(envelope: Any) -> Any:
    return envelope.find(f"{S}Header/{WSSE}Security")


# --- round trip -----------------------------------------------------------------------------------------


def test_round_trip(keypair: KeyPair) -> None:
    envelope = _signed(keypair)
    result = verify_envelope(envelope, now=NOW + dt.timedelta(seconds=30))
    assert result.certificate == keypair.certificate
    assert result.signed_body and result.signed_timestamp
    assert result.body is envelope.find(f"{S}Body")
    assert result.created == NOW
    assert result.expires == NOW + dt.timedelta(seconds=300)
    signed_info = _security(envelope).find(f"{D}Signature/{D}SignedInfo")
    canonical = etree.tostring(signed_info, method="c14n", exclusive=True)
    assert result.replay_key == hashlib.sha256(canonical).hexdigest()  # what was signed, not how


def test_header_layout(smo: KeyPair) -> None:
    envelope = _signed(smo, timestamp_ttl=60)
    security = _security(envelope)
    assert security.get(f"{S}mustUnderstand") == "1"
    assert [etree.QName(child).localname for child in security] == [
        "Timestamp",
        "BinarySecurityToken",
        "Signature",
    ]
    timestamp, token, signature = security
    assert timestamp.findtext(f"{WSU}Created") == "2025-03-01T09:00:00.000Z"
    assert timestamp.findtext(f"{WSU}Expires") == "2025-03-01T09:01:00.000Z"
    assert token.get("ValueType") == X509V3
    assert base64.b64decode(token.text) == smo.certificate_der
    reference = signature.find(f"{D}KeyInfo/{WSSE}SecurityTokenReference/{WSSE}Reference")
    assert reference.get("URI") == f"#{token.get(f'{WSU}Id')}"
    body_id = envelope.find(f"{S}Body").get(f"{WSU}Id")
    uris = [ref.get("URI") for ref in signature.iterfind(f"{D}SignedInfo/{D}Reference")]
    assert uris == [f"#{body_id}", f"#{timestamp.get(f'{WSU}Id')}"]


def test_soap_1_2_envelopes_are_signed_too(smo: KeyPair) -> None:
    envelope = etree.fromstring(
        f'<e:Envelope xmlns:e="{SOAP12_NS}"><e:Body><m xmlns="urn:m">1</m></e:Body></e:Envelope>'.encode()
    )
    sign_envelope(envelope, smo, now=NOW)
    envelope = _wire(envelope)
    assert (
        envelope.find(f"{{{SOAP12_NS}}}Header/{WSSE}Security").get(f"{{{SOAP12_NS}}}mustUnderstand") == "true"
    )
    assert verify_envelope(envelope, now=NOW).signed_body


def test_an_existing_security_header_is_reused(smo: KeyPair) -> None:
    envelope = _request()
    header = envelope.find(f"{S}Header")
    security = etree.SubElement(header, f"{WSSE}Security")
    etree.SubElement(etree.SubElement(security, f"{WSSE}UsernameToken"), f"{WSSE}Username").text = "smo"
    sign_envelope(envelope, smo, now=NOW)
    assert len(header.findall(f"{WSSE}Security")) == 1
    assert verify_envelope(_wire(envelope), now=NOW).signed_timestamp
    with pytest.raises(ValueError, match="already signed"):
        sign_envelope(envelope, smo, now=NOW)


def test_naive_times_and_a_non_positive_ttl_are_programming_errors(smo: KeyPair) -> None:
    naive = dt.datetime(2025, 3, 1, 9, 0)
    with pytest.raises(ValueError, match="timezone-aware"):
        sign_envelope(_request(), smo, now=naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        verify_envelope(_signed(smo), now=naive)
    with pytest.raises(ValueError, match="positive"):
        sign_envelope(_request(), smo, timestamp_ttl=0)


def test_signing_something_that_is_not_an_envelope_is_refused(smo: KeyPair) -> None:
    with pytest.raises(ValueError, match="not a SOAP envelope"):
        sign_envelope(etree.Element("Envelope"), smo)
    assert _code(etree.Element("Envelope")) == "malformed"


# --- committed samples ----------------------------------------------------------------------------------
# Signed once from throw-away devpki keys (only certificates are in them). Round trips cannot notice a
# change of c14n output between lxml/libxml2 versions — both ends change together; these files do.
# Regenerate deliberately with RSERZ_REGENERATE_WSSE_SAMPLES=1 and review the diff.

SAMPLES = {"signed-rsa.xml": "smo-45001", "signed-ec.xml": "mo-450012"}
SAMPLE_TIME = dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(("name", "folder"), list(SAMPLES.items()))
def test_committed_samples_still_verify(pki: Path, name: str, folder: str) -> None:
    path = DATA / name
    if os.environ.get("RSERZ_REGENERATE_WSSE_SAMPLES") == "1":
        envelope = _request()
        sign_envelope(envelope, pki_keypair(pki, folder), now=SAMPLE_TIME)
        path.write_bytes(etree.tostring(envelope, xml_declaration=True, encoding="UTF-8"))
    envelope = etree.parse(str(path)).getroot()
    result = verify_envelope(envelope, now=SAMPLE_TIME + dt.timedelta(seconds=1))
    assert result.certificate.subject.get_attributes_for_oid(x509.NameOID.ORGANIZATIONAL_UNIT_NAME)
    assert _code(envelope, now=SAMPLE_TIME + dt.timedelta(hours=1)) == "timestamp_expired"


# --- what must be there ---------------------------------------------------------------------------------


def test_missing_security_header(smo: KeyPair) -> None:
    assert _code(_request()) == "no_security"
    envelope = _request()
    envelope.remove(envelope.find(f"{S}Header"))
    assert _code(envelope) == "no_security"


def test_a_security_header_for_another_actor_is_not_ours(smo: KeyPair) -> None:
    envelope = _signed(smo)
    _security(envelope).set(f"{S}actor", "http://intermediary.example/")
    assert _code(envelope) == "no_security"


def test_no_signature(smo: KeyPair) -> None:
    envelope = _signed(smo)
    security = _security(envelope)
    security.remove(security.find(f"{D}Signature"))
    assert _code(envelope) == "no_signature"


def test_no_token(smo: KeyPair) -> None:
    envelope = _signed(smo)
    security = _security(envelope)
    security.remove(security.find(f"{WSSE}BinarySecurityToken"))
    assert _code(envelope) == "no_token"


def test_a_token_reference_to_something_else_is_no_token(smo: KeyPair) -> None:
    envelope = _signed(smo)
    reference = _security(envelope).find(f".//{WSSE}Reference")
    reference.set("URI", f"#{envelope.find(f'{S}Body').get(f'{WSU}Id')}")
    assert _code(envelope) == "no_token"


def test_a_token_outside_our_security_header_is_no_token(smo: KeyPair) -> None:
    envelope = _signed(smo)
    security = _security(envelope)
    token = security.find(f"{WSSE}BinarySecurityToken")
    envelope.find(f"{S}Header").append(token)  # moved out of wsse:Security
    assert _code(envelope) == "no_token"


def test_body_not_signed(smo: KeyPair) -> None:
    envelope = _signed_with_references(smo, body=False, timestamp=True)
    assert _code(envelope) == "body_not_signed"


def test_timestamp_not_signed(smo: KeyPair) -> None:
    envelope = _signed_with_references(smo, body=True, timestamp=False)
    assert _code(envelope) == "timestamp_not_signed"


def test_no_timestamp(smo: KeyPair) -> None:
    envelope = _signed_with_references(smo, body=True, timestamp=False)
    security = _security(envelope)
    security.remove(security.find(f"{WSU}Timestamp"))
    assert _code(envelope) == "no_timestamp"
    result = verify_envelope(envelope, now=NOW, require_timestamp=False)
    assert result.signed_body and not result.signed_timestamp and result.created is None


def _signed_with_references(keypair: KeyPair, *, body: bool, timestamp: bool) -> Any:
    """A peer that signs only part of what it must: sign normally, then re-sign with fewer references."""
    envelope = _request()
    sign_envelope(envelope, keypair, now=NOW)
    security = _security(envelope)
    old = security.find(f"{D}Signature")
    key_info = old.find(f"{D}KeyInfo")
    security.remove(old)
    targets = []
    if body:
        targets.append(Reference(envelope.find(f"{S}Body")))
    if timestamp:
        targets.append(Reference(security.find(f"{WSU}Timestamp")))
    sign(envelope, targets, keypair.private_key, signature_parent=security, key_info=key_info)
    return _wire(envelope)


# --- timestamps -----------------------------------------------------------------------------------------


def test_expired(smo: KeyPair) -> None:
    envelope = _signed(smo, now=NOW - dt.timedelta(hours=1))
    assert _code(envelope) == "timestamp_expired"


def test_expired_within_the_clock_skew_is_accepted(smo: KeyPair) -> None:
    envelope = _signed(smo, now=NOW - dt.timedelta(minutes=9))  # expired 4 minutes ago, skew is 5
    assert verify_envelope(envelope, now=NOW).signed_timestamp
    assert _code(envelope, max_clock_skew=60) == "timestamp_expired"


def test_in_future(smo: KeyPair) -> None:
    envelope = _signed(smo, now=NOW + dt.timedelta(hours=1))
    assert _code(envelope) == "timestamp_in_future"
    assert verify_envelope(_signed(smo, now=NOW + dt.timedelta(minutes=4)), now=NOW).signed_timestamp


def test_max_age_caps_a_distant_expires(smo: KeyPair) -> None:
    envelope = _signed(smo, now=NOW - dt.timedelta(hours=2), timestamp_ttl=86_400)
    assert verify_envelope(envelope, now=NOW).signed_timestamp
    assert _code(envelope, max_age=600) == "timestamp_expired"


@pytest.mark.parametrize(
    ("created", "expires"),
    [
        ("yesterday", "2025-03-01T09:05:00Z"),
        ("2025-03-01T09:00:00", "2025-03-01T09:05:00Z"),
        ("2025-03-01T09:10:00Z", "2025-03-01T09:05:00Z"),
    ],
    ids=["not-a-date", "no-zone", "expires-before-created"],
)
def test_malformed_timestamps(smo: KeyPair, created: str, expires: str) -> None:
    envelope = _signed(smo)
    timestamp = _security(envelope).find(f"{WSU}Timestamp")
    timestamp.find(f"{WSU}Created").text = created
    timestamp.find(f"{WSU}Expires").text = expires
    assert _code(envelope) == "malformed"


def test_timestamps_with_offsets_and_long_fractions_are_read(smo: KeyPair) -> None:
    envelope = _request()
    header = envelope.find(f"{S}Header")
    security = etree.SubElement(header, f"{WSSE}Security")
    timestamp = etree.SubElement(security, f"{WSU}Timestamp")
    etree.SubElement(timestamp, f"{WSU}Created").text = "2025-03-01T12:00:00.123456789+03:00"
    etree.SubElement(timestamp, f"{WSU}Expires").text = "2025-03-01T09:05:00Z"
    sign_envelope(envelope, smo)  # reuses the peer's own Timestamp
    result = verify_envelope(_wire(envelope), now=NOW)
    assert result.created == dt.datetime(2025, 3, 1, 9, 0, 0, 123456, tzinfo=dt.UTC)


# --- tampering and wrapping -----------------------------------------------------------------------------


def test_changed_body_is_a_digest_mismatch(keypair: KeyPair) -> None:
    envelope = _signed(keypair)
    envelope.find(".//{urn:rserz:test:erz:1}FAM").text = "Петрова"
    assert _code(envelope) == "digest_mismatch"


def test_changed_timestamp_is_a_digest_mismatch(smo: KeyPair) -> None:
    envelope = _signed(smo)
    _security(envelope).find(f"{WSU}Timestamp/{WSU}Expires").text = "2025-03-01T10:00:00.000Z"
    assert _code(envelope) == "digest_mismatch"


def test_changed_signature_value_is_a_bad_signature(keypair: KeyPair) -> None:
    envelope = _signed(keypair)
    value = _security(envelope).find(f"{D}Signature/{D}SignatureValue")
    raw = bytearray(base64.b64decode(value.text))
    raw[0] ^= 0x80
    value.text = base64.b64encode(bytes(raw)).decode()
    assert _code(envelope) == "bad_signature"


def test_a_swapped_token_is_a_bad_signature(smo: KeyPair, pki: Path) -> None:
    envelope = _signed(smo)
    other = pki_keypair(pki, "hub")
    _security(envelope).find(f"{WSSE}BinarySecurityToken").text = base64.b64encode(
        other.certificate_der
    ).decode()
    assert _code(envelope) == "bad_signature"


def test_signed_body_moved_into_a_header_and_replaced(smo: KeyPair) -> None:
    """The classic WS-Security wrapping attack: the verifier must not accept the new Body."""
    envelope = _signed(smo)
    body = envelope.find(f"{S}Body")
    wrapper = etree.SubElement(envelope.find(f"{S}Header"), "{urn:attacker}Wrapper")
    wrapper.append(body)
    forged = etree.SubElement(envelope, f"{S}Body")
    etree.SubElement(forged, "{urn:rserz:test:erz:1}SubmitOperationsRequest").text = "forged"
    assert _code(envelope) == "body_not_signed"


def test_signed_body_moved_and_replaced_with_the_same_id(smo: KeyPair) -> None:
    envelope = _signed(smo)
    body = envelope.find(f"{S}Body")
    wrapper = etree.SubElement(envelope.find(f"{S}Header"), "{urn:attacker}Wrapper")
    wrapper.append(copy.deepcopy(body))
    for child in list(body):
        body.remove(child)
    etree.SubElement(body, "{urn:rserz:test:erz:1}SubmitOperationsRequest").text = "forged"
    assert _code(envelope) == "duplicate_id"


def test_a_second_security_header_or_signature_is_malformed(smo: KeyPair) -> None:
    envelope = _signed(smo)
    envelope.find(f"{S}Header").append(copy.deepcopy(_security(envelope)))
    assert _code(envelope) == "malformed"
    envelope = _signed(smo)
    security = _security(envelope)
    security.append(etree.Element(f"{D}Signature"))
    assert _code(envelope) == "malformed"


# --- ways of naming the token ---------------------------------------------------------------------------


def _replace_token_reference(envelope: Any, replacement: Any) -> None:
    token_reference = _security(envelope).find(f"{D}Signature/{D}KeyInfo/{WSSE}SecurityTokenReference")
    for child in list(token_reference):
        token_reference.remove(child)
    token_reference.append(replacement)


def test_key_identifier_by_subject_key_identifier(keypair: KeyPair) -> None:
    envelope = _signed(keypair)
    ski = keypair.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    identifier = etree.Element(f"{WSSE}KeyIdentifier", ValueType=X509_SKI)
    identifier.text = base64.b64encode(ski).decode()
    _replace_token_reference(envelope, identifier)
    assert verify_envelope(envelope, now=NOW).certificate == keypair.certificate


def test_key_identifier_by_sha1_thumbprint(smo: KeyPair) -> None:
    envelope = _signed(smo)
    identifier = etree.Element(f"{WSSE}KeyIdentifier", ValueType=THUMBPRINT_SHA1)
    identifier.text = base64.b64encode(smo.certificate.fingerprint(hashes.SHA1())).decode()
    _replace_token_reference(envelope, identifier)
    assert verify_envelope(envelope, now=NOW).certificate == smo.certificate
    identifier.text = base64.b64encode(b"\0" * 20).decode()
    assert _code(envelope) == "no_token"
    identifier.set("ValueType", "urn:unknown")
    assert _code(envelope) == "no_token"


def test_an_inline_x509_certificate(smo: KeyPair) -> None:
    envelope = _signed(smo)
    x509_data = etree.Element(f"{D}X509Data")
    etree.SubElement(x509_data, f"{D}X509Certificate").text = base64.encodebytes(
        smo.certificate.public_bytes(serialization.Encoding.DER)
    ).decode()  # line-wrapped, as xmlsec writes it
    _replace_token_reference(envelope, x509_data)
    assert verify_envelope(envelope, now=NOW).certificate == smo.certificate


def test_a_token_that_is_not_a_certificate_is_malformed(smo: KeyPair) -> None:
    envelope = _signed(smo)
    _security(envelope).find(f"{WSSE}BinarySecurityToken").text = base64.b64encode(b"garbage").decode()
    assert _code(envelope) == "malformed"
