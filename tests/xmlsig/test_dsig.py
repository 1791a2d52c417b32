"""The XMLDSig core (rserz_soap.xmlsig.dsig) with the algorithms registry (rserz_soap.xmlsig.algorithms)."""

from __future__ import annotations

import base64
import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from lxml import etree

from rserz_soap.xmlsig import algorithms
from rserz_soap.xmlsig.algorithms import (
    ECDSA_SHA256,
    RSA_SHA256,
    SHA1,
    SHA256,
    get_signature_algorithm,
    register_digest,
    register_signature_algorithm,
)
from rserz_soap.xmlsig.c14n import C14N, DS_NS, ENVELOPED_SIGNATURE, EXC_C14N, EXC_C14N_NS, canonicalize
from rserz_soap.xmlsig.dsig import IdIndex, Reference, SignatureError, resolve_id, sign, verify

DOCUMENT = """<?xml version="1.0" encoding="UTF-8"?>
<erz:Message xmlns:erz="urn:rserz:test" xmlns:unused="urn:unused">
  <erz:Header Id="hdr"><erz:SMO>45001</erz:SMO></erz:Header>
  <erz:Data Id="data" kind="П010">
    <erz:FAM>Иванова</erz:FAM>
    <erz:IM>Мария</erz:IM>
  </erz:Data>
  <erz:Signatures/>
</erz:Message>
""".encode()

D = f"{{{DS_NS}}}"


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture(params=["rsa", "ec"])
def key(request: pytest.FixtureRequest, rsa_key: Any, ec_key: Any) -> Any:
    return rsa_key if request.param == "rsa" else ec_key


def _document() -> Any:
    return etree.fromstring(DOCUMENT)


def _signed(key: Any, **kwargs: Any) -> Any:
    """A document with a detached signature over #hdr and #data, sent over the wire and parsed again."""
    root = _document()
    sign(root, [Reference("hdr"), Reference("data")], key, signature_parent=root[2], **kwargs)
    return etree.fromstring(etree.tostring(root))


def _signature(root: Any) -> Any:
    return root.find(f".//{D}Signature")


def _code(root: Any, public_key: Any) -> str:
    with pytest.raises(SignatureError) as info:
        verify(_signature(root), public_key=public_key)
    return info.value.code


# --- round trips ----------------------------------------------------------------------------------------


def test_round_trip_returns_the_verified_elements(key: Any) -> None:
    root = _signed(key)
    result = verify(_signature(root), public_key=key.public_key())
    assert result.referenced_ids == ("hdr", "data")
    assert result.elements == (root[0], root[1])
    assert result.covers(root[1])
    assert not result.covers(copy.deepcopy(root[1]))  # an equal element elsewhere is not what was verified
    expected = RSA_SHA256 if isinstance(key, rsa.RSAPrivateKey) else ECDSA_SHA256
    assert result.algorithm == expected
    assert {ref.digest_algorithm for ref in result.references} == {SHA256}


def test_signature_element_has_the_xmldsig_shape(rsa_key: Any) -> None:
    signature = _signature(_signed(rsa_key, key_info=etree.Element("{urn:any}KeyName"), signature_id="sig-1"))
    assert signature.get("Id") == "sig-1"
    assert [etree.QName(child).localname for child in signature] == [
        "SignedInfo",
        "SignatureValue",
        "KeyInfo",
    ]
    signed_info = signature[0]
    assert signed_info[0].get("Algorithm") == EXC_C14N
    assert signed_info[1].get("Algorithm") == RSA_SHA256
    assert [ref.get("URI") for ref in signed_info.findall(f"{D}Reference")] == ["#hdr", "#data"]
    assert signature[2][0].tag == "{urn:any}KeyName"


def test_ecdsa_signature_value_is_raw_r_concatenated_with_s(ec_key: Any) -> None:
    root = _signed(ec_key)
    signature = _signature(root)
    raw = base64.b64decode(signature.find(f"{D}SignatureValue").text)
    assert len(raw) == 64  # P-256: two 32-byte big-endian integers, not DER
    signed_info = canonicalize(signature.find(f"{D}SignedInfo"), EXC_C14N)
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    ec_key.public_key().verify(der, signed_info, ec.ECDSA(hashes.SHA256()))  # raises if wrong


def test_element_without_id_gets_one(rsa_key: Any) -> None:
    root = _document()
    fam = root[1][0]
    sign(root, [Reference(fam)], rsa_key, signature_parent=root[2])
    assert fam.get("Id", "").startswith("id-")
    assert verify(_signature(root), public_key=rsa_key.public_key()).covers(fam)


def test_enveloped_signature_over_the_whole_message(key: Any) -> None:
    root = _document()
    root.set("Id", "msg")
    sign(root, [Reference(root, transforms=(ENVELOPED_SIGNATURE, EXC_C14N))], key, signature_parent=root[2])
    parsed = etree.fromstring(etree.tostring(root))
    assert verify(_signature(parsed), public_key=key.public_key()).covers(parsed)
    parsed[1][0].text = "Петрова"
    assert _code(parsed, key.public_key()) == "digest_mismatch"


def test_inclusive_c14n_references_round_trip(rsa_key: Any) -> None:
    root = _signed(rsa_key, c14n_method=C14N)
    assert verify(_signature(root), public_key=rsa_key.public_key()).referenced_ids == ("hdr", "data")
    root = _document()
    sign(root, [Reference("data", transforms=(C14N,))], rsa_key, signature_parent=root[2])
    assert verify(_signature(root), public_key=rsa_key.public_key()).referenced_ids == ("data",)


def test_a_reference_around_its_own_signature_needs_the_enveloped_transform(rsa_key: Any) -> None:
    root = _document()
    before = etree.tostring(root)
    with pytest.raises(ValueError, match="enveloped"):
        sign(root, [Reference("data")], rsa_key, signature_parent=root[1])
    assert etree.tostring(root) == before  # the half-built signature was taken out again


# --- tampering ------------------------------------------------------------------------------------------

_MUTATIONS: dict[str, Callable[[Any], None]] = {
    "text": lambda root: setattr(root[1][0], "text", "Петрова"),
    "attribute value": lambda root: root[1].set("kind", "П034"),
    "new attribute": lambda root: root[1].set("extra", "1"),
    "new element": lambda root: etree.SubElement(root[1], "{urn:rserz:test}OT"),
    "removed element": lambda root: root[1].remove(root[1][1]),
    "whitespace inside a signed element": lambda root: setattr(root[1][0], "tail", "\n      "),
    "namespace of a signed element": lambda root: setattr(root[1][0], "tag", "{urn:other}FAM"),
}


@pytest.mark.parametrize("mutate", list(_MUTATIONS.values()), ids=list(_MUTATIONS))
def test_any_change_of_a_signed_element_is_a_digest_mismatch(key: Any, mutate: Callable[[Any], None]) -> None:
    root = _signed(key)
    mutate(root)
    assert _code(root, key.public_key()) == "digest_mismatch"


def test_changes_outside_the_signed_elements_do_not_matter(rsa_key: Any) -> None:
    root = _signed(rsa_key)
    root.set("routing", "changed")
    etree.SubElement(root, "{urn:rserz:test}Trailer").text = "not signed"
    verify(_signature(root), public_key=rsa_key.public_key())


def test_comments_between_signature_elements_carry_no_meaning(rsa_key: Any) -> None:
    root = _signed(rsa_key)
    signed_info = _signature(root).find(f"{D}SignedInfo")
    signed_info.insert(2, etree.Comment(" inserted in transit "))  # c14n without comments drops it
    assert verify(_signature(root), public_key=rsa_key.public_key()).referenced_ids == ("hdr", "data")


def test_changed_signature_value_is_a_bad_signature(key: Any) -> None:
    root = _signed(key)
    value = _signature(root).find(f"{D}SignatureValue")
    raw = bytearray(base64.b64decode(value.text))
    raw[len(raw) // 2] ^= 0x01
    value.text = base64.b64encode(bytes(raw)).decode()
    assert _code(root, key.public_key()) == "bad_signature"


def test_changed_signed_info_is_a_bad_signature(rsa_key: Any) -> None:
    root = _signed(rsa_key)
    digest = _signature(root).find(f".//{D}DigestValue")
    digest.text = base64.b64encode(b"\0" * 32).decode()
    assert _code(root, rsa_key.public_key()) == "bad_signature"


def test_whitespace_added_inside_signed_info_is_a_bad_signature(rsa_key: Any) -> None:
    # SignedInfo is canonicalised exactly as received: pretty-printing a signed message breaks it.
    root = _signed(rsa_key)
    _signature(root).find(f"{D}SignedInfo").text = "\n  "
    assert _code(root, rsa_key.public_key()) == "bad_signature"


def test_another_key_is_a_bad_signature(rsa_key: Any, ec_key: Any) -> None:
    root = _signed(rsa_key)
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert _code(root, other.public_key()) == "bad_signature"
    assert _code(root, ec_key.public_key()) == "bad_signature"  # key type cannot match rsa-sha256


def test_short_rsa_keys_are_refused_both_ways(rsa_key: Any) -> None:
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    root = _document()
    with pytest.raises(TypeError):
        sign(root, [Reference("data")], weak, signature_parent=root[2])
    assert not get_signature_algorithm(RSA_SHA256).accepts(weak.public_key())


# --- signature wrapping ---------------------------------------------------------------------------------


def test_a_second_element_with_the_signed_id_is_refused(rsa_key: Any) -> None:
    root = _signed(rsa_key)
    forged = copy.deepcopy(root[1])
    forged[0].text = "Злоумышленник"
    root.insert(1, forged)  # the forgery comes first, where a naive lookup would find it
    assert _code(root, rsa_key.public_key()) == "duplicate_id"


@pytest.mark.parametrize(
    "attribute",
    [
        "ID",
        "id",
        "{http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd}Id",
        "{http://www.w3.org/XML/1998/namespace}id",
    ],
)
def test_a_duplicate_under_another_id_convention_is_refused_too(rsa_key: Any, attribute: str) -> None:
    root = _signed(rsa_key)
    forged = etree.SubElement(root, "{urn:rserz:test}Data")
    forged.set(attribute, "data")
    assert _code(root, rsa_key.public_key()) == "duplicate_id"


def test_a_moved_signed_element_verifies_only_as_itself(rsa_key: Any) -> None:
    """The wrapping attack proper: the signed element is kept elsewhere and a forgery put in its place.

    The signature still verifies (it is about the element, not its position), which is why callers must
    use the returned elements; the forgery in the original position is not among them.
    """
    root = _signed(rsa_key)
    original = root[1]
    wrapper = etree.SubElement(root, "{urn:rserz:test}Ignored")
    wrapper.append(original)
    forged = etree.Element("{urn:rserz:test}Data", kind="П034")
    root.insert(1, forged)
    result = verify(_signature(root), public_key=rsa_key.public_key())
    assert result.covers(original)
    assert not result.covers(root[1])
    assert root[1] is forged


def test_signing_an_ambiguous_id_is_refused(rsa_key: Any) -> None:
    root = _document()
    etree.SubElement(root, "{urn:rserz:test}Other", ID="data")
    with pytest.raises(SignatureError) as info:
        sign(root, [Reference("data")], rsa_key, signature_parent=root[2])
    assert info.value.code == "duplicate_id"
    with pytest.raises(SignatureError) as info:
        sign(root, [Reference(root[1])], rsa_key, signature_parent=root[2])
    assert info.value.code == "duplicate_id"


def test_the_id_index_answers_as_resolve_id() -> None:
    """One pass over the document (verify's references, wsse's token) finds what the per-Id XPath finds:
    the one element, a duplicate under any Id convention, or nothing."""
    root = etree.fromstring(
        b'<r xmlns:w="urn:w" xmlns:u="urn:u"><a Id="1"/><b ID="2"/><c w:Id="3"/><d u:id="3"/>'
        b'<e xml:id="x4"/><f Id="5" data="6"/><g Name="7"/><h id="8"><i id="9"/></h></r>'
    )
    index = IdIndex(root[3])  # made from any node of the document: the whole document is indexed
    for value in [*(str(n) for n in range(11)), "x4"]:
        try:
            expected: Any = resolve_id(root, value)
        except SignatureError as exc:
            expected = exc.code
        try:
            found: Any = index.resolve(value)
        except SignatureError as exc:
            found = exc.code
        assert found is expected if not isinstance(expected, str) else found == expected, value
    assert index.resolve("9") is root[7][0]
    assert index.covers(root[0]) and not index.covers(_document())


def test_verify_does_not_trust_an_index_of_another_document(rsa_key: Any) -> None:
    root = _signed(rsa_key)
    other = _signed(rsa_key)
    result = verify(_signature(root), public_key=rsa_key.public_key(), ids=IdIndex(other))
    assert result.covers(root[1]) and not result.covers(other[1])


# --- references and algorithms --------------------------------------------------------------------------


def test_a_reference_to_a_missing_id(rsa_key: Any) -> None:
    root = _signed(rsa_key)
    del root[1].attrib["Id"]
    assert _code(root, rsa_key.public_key()) == "reference_not_found"
    fresh = _document()
    with pytest.raises(SignatureError) as info:
        sign(fresh, [Reference("nowhere")], rsa_key, signature_parent=fresh[2])
    assert info.value.code == "reference_not_found"
    assert resolve_id(root, "hdr") is root[0]


@pytest.mark.parametrize(
    ("path", "uri"),
    [
        (f"{D}SignedInfo/{D}SignatureMethod", "http://www.w3.org/2000/09/xmldsig#rsa-sha1"),
        (f"{D}SignedInfo/{D}SignatureMethod", "http://www.w3.org/2000/09/xmldsig#hmac-sha1"),
        (f"{D}SignedInfo/{D}CanonicalizationMethod", "http://www.w3.org/2006/12/xml-c14n11"),
        (f"{D}SignedInfo/{D}Reference/{D}DigestMethod", "http://www.w3.org/2001/04/xmldsig-more#md5"),
        (
            f"{D}SignedInfo/{D}Reference/{D}Transforms/{D}Transform",
            "http://www.w3.org/TR/1999/REC-xpath-19991116",
        ),
    ],
    ids=["rsa-sha1", "hmac", "c14n11", "md5", "xpath-transform"],
)
def test_an_unsupported_algorithm_uri(rsa_key: Any, path: str, uri: str) -> None:
    root = _signed(rsa_key)
    _signature(root).find(path).set("Algorithm", uri)
    assert _code(root, rsa_key.public_key()) == "unsupported_algorithm"


@pytest.mark.parametrize(
    "break_it",
    [
        lambda sig: sig.remove(sig.find(f"{D}SignedInfo")),
        lambda sig: setattr(sig.find(f"{D}SignatureValue"), "text", "not base64!"),
        lambda sig: setattr(sig.find(f"{D}SignatureValue"), "text", ""),
        lambda sig: sig.find(f".//{D}Reference").set("URI", "http://example.com/other.xml"),
        lambda sig: sig.find(f".//{D}Reference").set("URI", ""),
        lambda sig: sig.find(f".//{D}Reference").remove(sig.find(f".//{D}DigestValue")),
        lambda sig: sig.find(f".//{D}SignatureMethod").attrib.pop("Algorithm"),
    ],
    ids=[
        "no-signed-info",
        "bad-base64",
        "empty-value",
        "external-uri",
        "whole-document-uri",
        "no-digest",
        "no-alg",
    ],
)
def test_malformed_signatures(rsa_key: Any, break_it: Callable[[Any], None]) -> None:
    root = _signed(rsa_key)
    break_it(_signature(root))
    assert _code(root, rsa_key.public_key()) == "malformed"


def test_a_reference_into_the_signature_itself_is_malformed(rsa_key: Any) -> None:
    root = _signed(rsa_key)
    signature = _signature(root)
    signature.find(f"{D}SignatureValue").set("Id", "value")
    signature.find(f".//{D}Reference").set("URI", "#value")
    assert _code(root, rsa_key.public_key()) == "malformed"


def test_too_many_references_are_malformed(rsa_key: Any) -> None:
    root = _signed(rsa_key)
    signed_info = _signature(root).find(f"{D}SignedInfo")
    for _ in range(40):
        signed_info.append(copy.deepcopy(signed_info[2]))
    assert _code(root, rsa_key.public_key()) == "malformed"


def test_verify_rejects_what_is_not_a_signature(rsa_key: Any) -> None:
    with pytest.raises(SignatureError) as info:
        verify(_document(), public_key=rsa_key.public_key())
    assert info.value.code == "malformed"
    with pytest.raises(ValueError, match="unknown SignatureError code"):
        SignatureError("nope", "typo in a code is a bug")


def test_sha1_digests_are_read_but_never_written(rsa_key: Any) -> None:
    root = _document()
    with pytest.raises(ValueError, match="never used to sign"):
        sign(root, [Reference("data")], rsa_key, signature_parent=root[2], digest=SHA1)
    # An old peer's SHA-1 reference: rebuild the digest and re-sign SignedInfo as that peer would.
    root = _signed(rsa_key)
    signature = _signature(root)
    for reference in signature.iterfind(f".//{D}Reference"):
        target = resolve_id(root, reference.get("URI")[1:])
        reference.find(f"{D}DigestMethod").set("Algorithm", SHA1)
        sha1 = hashes.Hash(hashes.SHA1())
        sha1.update(canonicalize(target, EXC_C14N))
        reference.find(f"{D}DigestValue").text = base64.b64encode(sha1.finalize()).decode()
    _resign(signature, rsa_key)
    result = verify(signature, public_key=rsa_key.public_key())
    assert {ref.digest_algorithm for ref in result.references} == {SHA1}


def test_inclusive_namespaces_prefix_list_of_signed_info_is_honoured(rsa_key: Any) -> None:
    """Java stacks send ec:InclusiveNamespaces in CanonicalizationMethod; the prefix changes the octets."""
    root = _signed(rsa_key)
    signature = _signature(root)
    method = signature.find(f"{D}SignedInfo/{D}CanonicalizationMethod")
    etree.SubElement(method, f"{{{EXC_C14N_NS}}}InclusiveNamespaces", PrefixList="unused")
    _resign(signature, rsa_key, inclusive=["unused"])
    verify(signature, public_key=rsa_key.public_key())
    _resign(signature, rsa_key)  # signed without the prefix: no longer what the PrefixList demands
    assert _code(root, rsa_key.public_key()) == "bad_signature"


def _resign(signature: Any, key: Any, inclusive: list[str] | None = None) -> None:
    signed_info = signature.find(f"{D}SignedInfo")
    octets = canonicalize(signed_info, EXC_C14N, inclusive_ns_prefixes=inclusive)
    value = get_signature_algorithm(RSA_SHA256).sign(key, octets)
    signature.find(f"{D}SignatureValue").text = base64.b64encode(value).decode()


# --- registry (how GOST will plug in) -------------------------------------------------------------------


@dataclass(frozen=True)
class _Ed25519:
    """Stands in for GOST: keys ``cryptography``-agnostic code never heard of, registered from outside."""

    uri: str = "http://www.w3.org/2021/04/xmldsig-more#eddsa-ed25519"

    def sign(self, key: object, data: bytes) -> bytes:
        assert isinstance(key, ed25519.Ed25519PrivateKey)
        return key.sign(data)

    def verify(self, public_key: object, signature: bytes, data: bytes) -> bool:
        assert isinstance(public_key, ed25519.Ed25519PublicKey)
        try:
            public_key.verify(signature, data)
        except InvalidSignature:
            return False
        return True

    def accepts(self, key: object) -> bool:
        return isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey)


@dataclass(frozen=True)
class _Sha512:
    uri: str = "http://www.w3.org/2001/04/xmlenc#sha512"
    for_signing: bool = True

    def digest(self, data: bytes) -> bytes:
        h = hashes.Hash(hashes.SHA512())
        h.update(data)
        return h.finalize()


@pytest.fixture
def registries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Registrations made by a test disappear with it."""
    monkeypatch.setattr(algorithms, "_SIGNATURES", dict(algorithms._SIGNATURES))
    monkeypatch.setattr(algorithms, "_DIGESTS", dict(algorithms._DIGESTS))


@pytest.mark.usefixtures("registries")
def test_a_new_algorithm_and_digest_plug_in_without_touching_the_core() -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    root = _document()
    with pytest.raises(TypeError, match="no registered signature algorithm"):
        sign(root, [Reference("data")], key, signature_parent=root[2])
    register_signature_algorithm(_Ed25519())
    register_digest(_Sha512())
    sign(root, [Reference("data")], key, signature_parent=root[2], digest=_Sha512.uri)
    result = verify(_signature(root), public_key=key.public_key())
    assert result.algorithm == _Ed25519.uri
    assert result.references[0].digest_algorithm == _Sha512.uri


@pytest.mark.usefixtures("registries")
def test_registering_a_uri_twice_needs_replace() -> None:
    with pytest.raises(ValueError, match="already registered"):
        register_signature_algorithm(get_signature_algorithm(RSA_SHA256))
    with pytest.raises(ValueError, match="already registered"):
        register_digest(_Sha512(uri=SHA256))
    register_digest(_Sha512(uri=SHA256), replace=True)
    assert algorithms.get_digest(SHA256).digest(b"") != algorithms._HashlibDigest(SHA256, "sha256").digest(
        b""
    )


def test_explicit_algorithm_must_fit_the_key(rsa_key: Any) -> None:
    root = _document()
    with pytest.raises(TypeError):
        sign(root, [Reference("data")], rsa_key, signature_parent=root[2], algorithm=ECDSA_SHA256)
    with pytest.raises(SignatureError) as info:
        sign(root, [Reference("data")], rsa_key, signature_parent=root[2], algorithm="urn:nothing")
    assert info.value.code == "unsupported_algorithm"
