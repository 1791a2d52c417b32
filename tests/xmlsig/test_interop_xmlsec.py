"""Interoperability with an independent implementation: xmlsec (libxmlsec1), through zeep's own WS-Security.

Our core and xmlsec share nothing but libxml2's c14n, so agreement here is evidence the wire format is
right: zeep's ``BinarySignature`` is what a Python СМО client would use, and libxmlsec1 is what many other
stacks embed. Both directions are checked for WS-Security envelopes, and a property test compares plain
XMLDSig signatures over generated documents with both canonicalisations.
"""

from __future__ import annotations

import base64
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import HealthCheck, given, settings
from lxml import etree
from zeep.exceptions import SignatureVerificationFailed
from zeep.wsse.signature import BinarySignature
from zeep.wsse.signature import verify_envelope as zeep_verify_envelope
from zeep.wsse.utils import WSU, get_security_header, get_timestamp

from rserz_soap.xmlsig.algorithms import ECDSA_SHA256, RSA_SHA256, SHA1, SHA256
from rserz_soap.xmlsig.c14n import C14N, DS_NS, EXC_C14N
from rserz_soap.xmlsig.dsig import Reference, sign, verify
from rserz_soap.xmlsig.keys import load_keypair
from rserz_soap.xmlsig.wsse import WsseError, sign_envelope, verify_envelope
from tests.xmlsig.test_c14n import DECLARATIONS, xml_fragments

try:
    import xmlsec
except Exception as exc:  # noqa: BLE001  # ImportError, or xmlsec.InternalError when its libxml2 != lxml's
    pytest.skip(f"xmlsec (dev extra) is not usable here: {exc!r}", allow_module_level=True)

DATA = Path(__file__).parent.parent / "data" / "wsse"
T = xmlsec.constants


def _request() -> Any:
    return etree.parse(str(DATA / "request.xml")).getroot()


def _wire(envelope: Any) -> Any:
    return etree.fromstring(etree.tostring(envelope))


def _zeep_signer(pki: Path, folder: str, method: Any, digest: Any) -> Any:
    return BinarySignature(
        str(pki / folder / "key.pem"),
        str(pki / folder / "cert.pem"),
        signature_method=method,
        digest_method=digest,
    )


def _zeep_signed(pki: Path, folder: str, method: Any, digest: Any) -> Any:
    """An envelope as a zeep+xmlsec client sends it; zeep signs a Timestamp only if one is there."""
    envelope = _request()
    now = dt.datetime.now(dt.UTC)
    get_security_header(envelope).append(
        WSU.Timestamp(
            WSU.Created(get_timestamp(now, zulu_timestamp=True)),
            WSU.Expires(get_timestamp(now + dt.timedelta(minutes=5), zulu_timestamp=True)),
        )
    )
    _zeep_signer(pki, folder, method, digest).apply(envelope, {})
    return _wire(envelope)


@pytest.mark.parametrize(
    ("folder", "method", "digest", "algorithm", "digest_uri"),
    [
        ("smo-45001", T.TransformRsaSha256, T.TransformSha256, RSA_SHA256, SHA256),
        ("mo-450012", T.TransformEcdsaSha256, T.TransformSha256, ECDSA_SHA256, SHA256),
        ("smo-45001", T.TransformRsaSha256, T.TransformSha1, RSA_SHA256, SHA1),  # an old peer's digests
    ],
    ids=["rsa-sha256", "ecdsa-sha256", "rsa-sha256-with-sha1-digests"],
)
def test_zeep_binary_signature_verifies_with_our_core(
    pki: Path, folder: str, method: Any, digest: Any, algorithm: str, digest_uri: str
) -> None:
    envelope = _zeep_signed(pki, folder, method, digest)
    result = verify_envelope(envelope)
    assert result.certificate == load_keypair(pki / folder / "key.pem", pki / folder / "cert.pem").certificate
    assert result.signed_body and result.signed_timestamp
    assert result.signature.algorithm == algorithm
    assert {ref.digest_algorithm for ref in result.signature.references} == {digest_uri}


def test_zeep_default_rsa_sha1_is_refused_as_unsupported(pki: Path) -> None:
    envelope = _zeep_signed(pki, "smo-45001", None, None)  # zeep's defaults: rsa-sha1 over sha1 digests
    with pytest.raises(WsseError) as info:
        verify_envelope(envelope)
    assert info.value.code == "unsupported_algorithm"


def test_a_tampered_zeep_envelope_fails_with_us(pki: Path) -> None:
    envelope = _zeep_signed(pki, "smo-45001", T.TransformRsaSha256, T.TransformSha256)
    envelope.find(".//{urn:rserz:test:erz:1}FAM").text = "Петрова"
    with pytest.raises(WsseError) as info:
        verify_envelope(envelope)
    assert info.value.code == "digest_mismatch"


@pytest.mark.parametrize("folder", ["smo-45001", "mo-450012"], ids=["rsa", "ec"])
def test_our_envelope_verifies_with_zeep_binary_signature(pki: Path, folder: str) -> None:
    envelope = _request()
    sign_envelope(envelope, load_keypair(pki / folder / "key.pem", pki / folder / "cert.pem"))
    received = _wire(envelope)
    _zeep_signer(pki, folder, None, None).verify(received)  # raises SignatureVerificationFailed if not
    received.find(".//{urn:rserz:test:erz:1}FAM").text = "Петрова"
    with pytest.raises(SignatureVerificationFailed):
        _zeep_signer(pki, folder, None, None).verify(received)


@pytest.mark.parametrize("name", ["signed-rsa.xml", "signed-ec.xml"])
def test_committed_samples_verify_with_xmlsec(tmp_path: Path, name: str) -> None:
    envelope = etree.parse(str(DATA / name)).getroot()
    token = envelope.find(".//{*}BinarySecurityToken")
    certificate = x509.load_der_x509_certificate(base64.b64decode(token.text))
    cert_file = tmp_path / "signer.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    zeep_verify_envelope(envelope, str(cert_file))  # raises SignatureVerificationFailed if not


# --- plain XMLDSig over generated documents -------------------------------------------------------------


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _xmlsec_key(key: rsa.RSAPrivateKey) -> Any:
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return xmlsec.Key.from_memory(pem, xmlsec.constants.KeyDataFormatPem, None)


def _document(fragment: str) -> tuple[Any, Any]:
    # xml:lang on the root: inclusive c14n must carry it into the signed subset, exclusive must not.
    root = etree.fromstring(f'<root {DECLARATIONS} xml:lang="ru">{fragment}<holder/></root>'.encode())
    root[0].set("Id", "target")
    return root, root[1]


_METHODS = {EXC_C14N: T.TransformExclC14N, C14N: T.TransformInclC14N}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fragment=xml_fragments())
@pytest.mark.parametrize("method", [EXC_C14N, C14N])
def test_xmlsec_and_our_core_agree_on_generated_documents(
    rsa_key: rsa.RSAPrivateKey, fragment: str, method: str
) -> None:
    # xmlsec signs, we verify.
    root, holder = _document(fragment)
    template = xmlsec.template.create(root, _METHODS[method], T.TransformRsaSha256)
    holder.append(template)
    reference = xmlsec.template.add_reference(template, T.TransformSha256, uri="#target")
    xmlsec.template.add_transform(reference, _METHODS[method])
    context = xmlsec.SignatureContext()
    context.key = _xmlsec_key(rsa_key)
    context.register_id(root[0], "Id")
    context.sign(template)
    received = etree.fromstring(etree.tostring(root))
    verify(received.find(f".//{{{DS_NS}}}Signature"), public_key=rsa_key.public_key())

    # We sign, xmlsec verifies.
    root, holder = _document(fragment)
    sign(
        root,
        [Reference("target", transforms=(method,))],
        rsa_key,
        signature_parent=holder,
        c14n_method=method,
    )
    received = etree.fromstring(etree.tostring(root))
    context = xmlsec.SignatureContext()
    context.key = _xmlsec_key(rsa_key)
    context.register_id(received[0], "Id")
    context.verify(received.find(f".//{{{DS_NS}}}Signature"))  # raises xmlsec.Error if not
