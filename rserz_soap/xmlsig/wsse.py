"""WS-Security 1.0/1.1, X.509 token profile, on a SOAP envelope — the exchange's message signature.

What a signed message looks like (the shape СМО/МО stacks such as WSS4J, .NET WCF and zeep+xmlsec
produce and accept)::

    <soap:Header>
      <wsse:Security soap:mustUnderstand="1">
        <wsu:Timestamp wsu:Id="TS-…"><wsu:Created/><wsu:Expires/></wsu:Timestamp>
        <wsse:BinarySecurityToken wsu:Id="X509-…" ValueType="…#X509v3" EncodingType="…#Base64Binary"/>
        <ds:Signature>   exc-c14n SignedInfo; references to the Body and the Timestamp (exc-c14n, SHA-256);
          <ds:KeyInfo><wsse:SecurityTokenReference><wsse:Reference URI="#X509-…"/></…></ds:KeyInfo>
        </ds:Signature>
      </wsse:Security>
    </soap:Header>
    <soap:Body wsu:Id="id-…">…</soap:Body>

``verify_envelope`` proves that *this* envelope's Body and *this* Security header's Timestamp were signed
with the key of the returned certificate (the signature-wrapping rules are in ``dsig``). Whether that
certificate is trusted and whose it is, is the caller's question: a server passes ``authorize``, which is
asked with the token's certificate *before* anything is canonicalised or hashed (trust before work: an
anonymous sender costs a parse and a certificate check, never 32 digests of a 4 MB Body), and returns
the signer's algorithm policy. Read the request from ``result.body``; ``replay_key`` (a digest of the
canonical SignedInfo — what was signed) is there for a replay cache.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
import hashlib
import operator
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Final

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from lxml import etree  # type: ignore[import-untyped, unused-ignore]  # lxml ships no stubs

from rserz_soap.xmlsig.algorithms import load_der_certificate, public_key_from_certificate
from rserz_soap.xmlsig.c14n import DS_NS, EXC_C14N, SplicedC14N
from rserz_soap.xmlsig.dsig import (
    IdIndex,
    Reference,
    SignatureError,
    SignatureTemplate,
    VerifiedSignature,
    element_id,
    sign,
    simple_content,
    verify,
)
from rserz_soap.xmlsig.keys import KeyPair

__all__ = [
    "BASE64_BINARY",
    "MAX_WSSE_REFERENCES",
    "SOAP11_NS",
    "SOAP12_NS",
    "WSSE_NS",
    "WSU_NS",
    "X509V3",
    "Authorize",
    "SignerPolicy",
    "VerifiedEnvelope",
    "WsseError",
    "sign_envelope",
    "verify_envelope",
]

SOAP11_NS: Final = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12_NS: Final = "http://www.w3.org/2003/05/soap-envelope"
WSSE_NS: Final = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU_NS: Final = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
X509V3: Final = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3"
BASE64_BINARY: Final = (
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary"
)
X509_SKI: Final = (
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509SubjectKeyIdentifier"
)
THUMBPRINT_SHA1: Final = "http://docs.oasis-open.org/wss/oasis-wss-soap-message-security-1.1#ThumbprintSHA1"

_WSU_ID: Final = f"{{{WSU_NS}}}Id"
_SECURITY: Final = f"{{{WSSE_NS}}}Security"
_TOKEN: Final = f"{{{WSSE_NS}}}BinarySecurityToken"
_STR: Final = f"{{{WSSE_NS}}}SecurityTokenReference"
_TIMESTAMP: Final = f"{{{WSU_NS}}}Timestamp"
_SIGNATURE: Final = f"{{{DS_NS}}}Signature"
_SOAP_VERSIONS: Final = {SOAP11_NS: ("1", "actor"), SOAP12_NS: ("true", "role")}  # mustUnderstand, target
_ENVELOPE_TAGS: Final = {f"{{{ns}}}Envelope": ns for ns in _SOAP_VERSIONS}
# xsd:dateTime as peers send it: optional fraction of any length, "Z" or an offset.
_DATETIME: Final = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)")


class WsseError(SignatureError):
    """A WS-Security refusal: the ``dsig`` codes plus the header-level ones.

    ``no_security`` (no wsse:Security header for us), ``no_signature``, ``no_token`` (no usable X.509
    token for the signature), ``no_timestamp``, ``body_not_signed``, ``timestamp_not_signed``,
    ``timestamp_expired`` (or older than ``max_age``), ``timestamp_in_future``, ``unexpected_signer``
    (a pinned client saw another certificate; see ``zeep_plugin``).
    """

    codes: ClassVar[frozenset[str]] = SignatureError.codes | {
        "no_security",
        "no_signature",
        "no_token",
        "no_timestamp",
        "body_not_signed",
        "timestamp_not_signed",
        "timestamp_expired",
        "timestamp_in_future",
        "unexpected_signer",
    }


#: A WS-Security signature covers the Body and the Timestamp, and perhaps a token or a few WS-Addressing
#: headers: more references than this are refused before anything is hashed.
MAX_WSSE_REFERENCES: Final = 6


@dataclass(frozen=True)
class SignerPolicy:
    """What a signer may use: ``refused_algorithms`` are refused before any digest is computed."""

    refused_algorithms: frozenset[str] = frozenset()


#: Asked with the token's certificate before the signature is checked; raises to refuse the signer.
Authorize = Callable[[x509.Certificate], SignerPolicy]


@dataclass(frozen=True)
class VerifiedEnvelope:
    """What ``verify_envelope`` proved. Read the request from ``body`` (the verified element itself)."""

    certificate: x509.Certificate
    signed_body: bool
    signed_timestamp: bool
    created: dt.datetime | None
    expires: dt.datetime | None
    replay_key: str  # hex SHA-256 of the canonical SignedInfo: what was signed, for a replay cache
    body: Any
    signature: VerifiedSignature


def sign_envelope(
    envelope: Any,
    keypair: KeyPair,
    *,
    timestamp_ttl: float = 300,
    now: dt.datetime | None = None,
    algorithm: str | None = None,
) -> None:
    """Add a wsse:Security header that signs the Body and a fresh Timestamp with ``keypair``, in place.

    An existing wsse:Security header for the ultimate receiver is reused (so a UsernameToken added by
    another zeep plugin stays), and so is a Timestamp already in it; a header that already holds a
    ds:Signature is refused because two signatures over one Body confuse every verifier.

    An envelope that is only a Body without an Id, under one namespace declaration (every answer of the
    hub), is signed from a template: the header this function builds for such an envelope, built once per
    key pair, algorithm and envelope namespace and copied per call with fresh Ids, times, digests and
    SignatureValue (``_AnswerTemplate``); the result is the same.
    """
    if timestamp_ttl <= 0:
        raise ValueError("timestamp_ttl must be positive")
    created = _utc(now)
    soap_ns = _soap_namespace(envelope)
    body_tag = f"{{{soap_ns}}}Body"
    if len(envelope) == 1 and envelope[0].tag == body_tag and len(envelope.nsmap) == 1:
        body = envelope[0]  # an envelope that is only a Body, under one namespace declaration: an answer
        if element_id(body) is None:
            template = _answer_template(keypair, algorithm, soap_ns, envelope.prefix)
            if template is not None:
                template.sign(envelope, body, keypair.private_key, created, timestamp_ttl)
                return
    body = envelope.find(body_tag)
    if body is None:
        raise ValueError("the envelope has no Body to sign")
    _sign_in_place(envelope, body, soap_ns, keypair, created, timestamp_ttl, algorithm)


def _sign_in_place(
    envelope: Any,
    body: Any,
    soap_ns: str,
    keypair: KeyPair,
    created: dt.datetime,
    timestamp_ttl: float,
    algorithm: str | None,
) -> None:
    """``sign_envelope`` for any envelope: builds the Security header (or completes the one there is)."""
    must_understand = _SOAP_VERSIONS[soap_ns][0]
    header = envelope.find(f"{{{soap_ns}}}Header")
    if header is None:
        header = etree.Element(f"{{{soap_ns}}}Header")
        envelope.insert(0, header)
    securities = _our_security_headers(header, soap_ns)
    if len(securities) > 1:
        raise ValueError("the envelope has more than one wsse:Security header for the ultimate receiver")
    if securities:
        security = securities[0]
        if security.find(_SIGNATURE) is not None:
            raise ValueError("the wsse:Security header is already signed")
    else:
        security = etree.SubElement(header, _SECURITY, nsmap={"wsse": WSSE_NS, "wsu": WSU_NS})
    security.set(f"{{{soap_ns}}}mustUnderstand", must_understand)

    timestamp = security.find(_TIMESTAMP)
    if timestamp is None:
        timestamp = etree.Element(_TIMESTAMP, nsmap={"wsu": WSU_NS})
        timestamp.set(_WSU_ID, f"TS-{_random_hex()}")
        etree.SubElement(timestamp, f"{{{WSU_NS}}}Created").text = _format_time(created)
        expires = created + dt.timedelta(seconds=timestamp_ttl)
        etree.SubElement(timestamp, f"{{{WSU_NS}}}Expires").text = _format_time(expires)
        security.insert(0, timestamp)  # first, as WS-SecurityPolicy's strict layout wants

    token_id = f"X509-{_random_hex()}"
    token = etree.SubElement(
        security, _TOKEN, nsmap={"wsse": WSSE_NS, "wsu": WSU_NS}, EncodingType=BASE64_BINARY, ValueType=X509V3
    )
    token.set(_WSU_ID, token_id)
    token.text = _token_text(keypair.certificate_der)

    token_reference = etree.Element(_STR, nsmap={"wsse": WSSE_NS})
    etree.SubElement(token_reference, f"{{{WSSE_NS}}}Reference", URI=f"#{token_id}", ValueType=X509V3)
    try:
        sign(
            envelope,
            [
                Reference(body, transforms=(EXC_C14N,), id_attribute=_WSU_ID),
                Reference(timestamp, transforms=(EXC_C14N,), id_attribute=_WSU_ID),
            ],
            keypair.private_key,
            signature_parent=security,
            key_info=token_reference,
            algorithm=algorithm,
        )
    except BaseException:
        security.remove(token)
        raise


class _AnswerTemplate:
    """The Security header ``_sign_in_place`` builds for an envelope that holds only an empty Body, kept to
    sign envelopes that hold only a Body the same way without building it again.

    Made once per (private key, certificate, algorithm, SOAP namespace and prefix) and never changed
    afterwards — copies are made from several threads at once, nothing is written to it: each
    answer gets a ``copy.deepcopy`` of ``header`` (C, a few µs) in which the Timestamp's and the token's
    Ids, Created, Expires, the token reference, the two references' URIs, their DigestValues and the
    SignatureValue are replaced — everything else (token text, algorithm URIs, transforms, the order and
    the namespaces of the elements) is what the general path wrote. Where the refilled parts sit is checked
    when the template is made (``_check_shape``), and the canonical octets spliced from the template are
    checked against ``exclusive_c14n`` then (``SplicedC14N``); the tests hold copies to the general path's
    output and to two verifiers. The private key is the caller's at every call: a template holds none.
    """

    def __init__(self, keypair: KeyPair, algorithm: str | None, soap_ns: str, prefix: str | None) -> None:
        sample = etree.Element(f"{{{soap_ns}}}Envelope", nsmap={prefix: soap_ns})
        sample_body = etree.SubElement(sample, f"{{{soap_ns}}}Body")
        now = _utc(None)
        _sign_in_place(sample, sample_body, soap_ns, keypair, now, 300, algorithm)
        header = sample[0]
        security = header[0]
        timestamp = security.find(_TIMESTAMP)
        token = security.find(_TOKEN)
        signature = security.find(_SIGNATURE)
        token_reference = signature.find(f"{{{DS_NS}}}KeyInfo/{_STR}/{{{WSSE_NS}}}Reference")
        self.signature = SignatureTemplate(signature)
        # Where the parts to refill are in the header's document order, so a copy finds them by position.
        nodes = list(header.iter())  # kept while indexing: lxml's proxies are identical only while alive
        parts = (timestamp, *timestamp, token, token_reference, signature)
        self.positions = tuple(nodes.index(node) for node in parts)
        self._parts = operator.itemgetter(*self.positions)
        self.header = header
        self._check_shape()
        # The Timestamp's canonical form differs between answers only in its Id, Created and Expires.
        spliced = SplicedC14N(timestamp, [(0, _WSU_ID), (1, None), (2, None)])
        self._timestamp_c14n = (
            spliced if spliced.octets is not None and self.signature.exclusive_only(1) else None
        )

    def _check_shape(self) -> None:
        """The parts ``sign`` refills are where it expects them (the general path is the one to change)."""
        nodes = list(self.header.iter())
        timestamp, created, expires, token, reference, signature = (nodes[i] for i in self.positions)
        tags = [node.tag for node in (timestamp, created, expires, token, signature)]
        if tags != [_TIMESTAMP, f"{{{WSU_NS}}}Created", f"{{{WSU_NS}}}Expires", _TOKEN, _SIGNATURE]:
            raise AssertionError(f"the general path's Security header changed shape: {tags}")
        if len(timestamp) != 2 or reference.get("URI") != f"#{token.get(_WSU_ID)}":
            raise AssertionError("the general path's Timestamp or token reference changed shape")
        if len(self.signature.transforms) != 2:
            raise AssertionError("the general path signs the Body and the Timestamp, nothing else")

    def sign(self, envelope: Any, body: Any, key: object, created: dt.datetime, timestamp_ttl: float) -> None:
        """``_sign_in_place`` for an envelope that holds only ``body`` (without an Id): the same header,
        from a copy of the template."""
        fresh = os.urandom(48).hex()  # 128 random bits for each Id, as _random_hex
        body_id, timestamp_id, token_id = f"id-{fresh[:32]}", f"TS-{fresh[32:64]}", f"X509-{fresh[64:]}"
        body.set(_WSU_ID, body_id)  # as dsig.sign gives it one (and leaves it if signing fails)
        header = self.header.__deepcopy__(None)  # copy.deepcopy without its Python dispatch: C only
        timestamp, created_element, expires_element, token, token_reference, signature = self._parts(
            list(header.iter())
        )
        created_text, expires_text = (
            _format_time(created),
            _format_time(created + dt.timedelta(seconds=timestamp_ttl)),
        )
        timestamp.set(_WSU_ID, timestamp_id)
        created_element.text = created_text
        expires_element.text = expires_text
        token.set(_WSU_ID, token_id)
        token_reference.set("URI", f"#{token_id}")
        envelope.insert(0, header)  # where the general path puts it, before anything is digested
        try:
            body_octets = self.signature.reference_octets(signature, 0, body)
            _check_fresh_ids(envelope, body_octets, body_id, timestamp_id, token_id)
            timestamp_octets = None
            if self._timestamp_c14n is not None:
                timestamp_octets = self._timestamp_c14n.splice((timestamp_id, created_text, expires_text))
            if timestamp_octets is None:
                timestamp_octets = self.signature.reference_octets(signature, 1, timestamp)
            self.signature.seal(signature, (body_id, timestamp_id), (body_octets, timestamp_octets), key)
        except BaseException:
            envelope.remove(header)
            raise


def _check_fresh_ids(
    envelope: Any, body_octets: bytes, body_id: str, timestamp_id: str, token_id: str
) -> None:
    """What ``dsig.sign``'s Id index proves, for an envelope that is a Body and the header just copied:
    no other element carries the Ids about to be signed (a random 128-bit Id is not expected twice, but
    an Id is never signed unchecked). The Body's canonical octets hold every attribute value of the Body
    unescaped (the Ids are [A-Za-z0-9-]), so one occurrence of its own Id and none of the header's prove
    it for the Body; in the header each is the copy's, once; the Envelope's attributes are looked at."""
    if (
        body_octets.count(body_id.encode("ascii")) != 1
        or timestamp_id.encode("ascii") in body_octets
        or token_id.encode("ascii") in body_octets
        or any(value in (body_id, timestamp_id, token_id) for value in envelope.values())
    ):
        raise SignatureError("duplicate_id", "an Id to be signed is already in the envelope")


# (private key, certificate, algorithm, SOAP namespace, its prefix): the algorithm the general path chose
# for this very key object is the template's, so nothing about the key is looked at again per answer.
_ANSWER_TEMPLATES: Final[dict[tuple[object, bytes, str | None, str, str | None], _AnswerTemplate]] = {}
_MAX_ANSWER_TEMPLATES: Final = 32


def _answer_template(
    keypair: KeyPair, algorithm: str | None, soap_ns: str, prefix: str | None
) -> _AnswerTemplate | None:
    """The template for this key pair, made the first time it is asked for (an error making it is the
    general path's, raised as it would be); None for a private key that cannot be a dictionary key (signed
    the general way). Two threads may both make one the first time; either is right, and neither is
    changed after it is stored."""
    key = (keypair.private_key, keypair.certificate_der, algorithm, soap_ns, prefix)
    try:
        template = _ANSWER_TEMPLATES.get(key)
    except TypeError:  # an unhashable key object (a loader's own type)
        return None
    if template is None:
        template = _AnswerTemplate(keypair, algorithm, soap_ns, prefix)
        if len(_ANSWER_TEMPLATES) >= _MAX_ANSWER_TEMPLATES:
            _ANSWER_TEMPLATES.clear()  # key pairs replaced on disk many times over: start again
        _ANSWER_TEMPLATES[key] = template
    return template


def verify_envelope(
    envelope: Any,
    *,
    now: dt.datetime | None = None,
    max_clock_skew: float = 300,
    max_age: float | None = None,
    require_timestamp: bool = True,
    authorize: Authorize | None = None,
    max_references: int = MAX_WSSE_REFERENCES,
) -> VerifiedEnvelope:
    """Verify the WS-Security signature of ``envelope`` with the X.509 token it carries.

    ``max_clock_skew`` (seconds) is granted both ways when comparing Created/Expires with ``now``;
    ``max_age`` additionally refuses a message created longer ago than that, whatever its Expires says
    (a peer that sets a distant Expires would otherwise make its messages replayable for that long).
    ``authorize`` decides trust in the certificate before the signature is checked (see the module
    docstring); without it trust is the caller's next step.
    """
    now = _utc(now)
    skew = dt.timedelta(seconds=max_clock_skew)
    try:
        soap_ns = _soap_namespace(envelope)
    except ValueError as exc:
        raise WsseError("malformed", str(exc)) from None
    header = envelope.find(f"{{{soap_ns}}}Header")
    body = envelope.find(f"{{{soap_ns}}}Body")
    if body is None:
        raise WsseError("malformed", "the envelope has no Body")
    securities = _our_security_headers(header, soap_ns) if header is not None else []
    if not securities:
        raise WsseError("no_security", "no wsse:Security header for the ultimate receiver")
    if len(securities) > 1:
        raise WsseError("malformed", "more than one wsse:Security header for the ultimate receiver")
    security = securities[0]

    signatures = security.findall(_SIGNATURE)
    if not signatures:
        raise WsseError("no_signature", "wsse:Security holds no ds:Signature")
    if len(signatures) > 1:
        raise WsseError("malformed", "more than one ds:Signature in wsse:Security")
    signature = signatures[0]

    timestamps = security.findall(_TIMESTAMP)
    if len(timestamps) > 1:
        raise WsseError("malformed", "more than one wsu:Timestamp")
    timestamp = timestamps[0] if timestamps else None
    created = expires = None
    if timestamp is None:
        if require_timestamp:
            raise WsseError("no_timestamp", "wsse:Security holds no wsu:Timestamp")
    else:
        created, expires = _timestamp_times(timestamp)
        if created > now + skew:
            raise WsseError(
                "timestamp_in_future", f"Created {created.isoformat()} is ahead of {now.isoformat()}"
            )
        if expires <= now - skew:
            raise WsseError("timestamp_expired", f"Expires {expires.isoformat()} has passed")
        if max_age is not None and now - created > dt.timedelta(seconds=max_age) + skew:
            raise WsseError("timestamp_expired", f"Created {created.isoformat()} is older than {max_age} s")

    ids = IdIndex(envelope)  # one pass for the token and every reference
    certificate = _token_certificate(ids, security, signature)
    policy = authorize(certificate) if authorize is not None else SignerPolicy()
    try:
        public_key = _public_key(certificate)
    except (UnsupportedAlgorithm, ValueError):
        raise WsseError("unsupported_algorithm", "the token's public key type is not supported") from None
    try:
        verified = verify(
            signature,
            public_key=public_key,
            max_references=max_references,
            refused_algorithms=policy.refused_algorithms,
            ids=ids,
        )
    except SignatureError as exc:
        raise WsseError(exc.code, exc.message) from None

    if not verified.covers(body):
        raise WsseError("body_not_signed", "the signature does not cover this envelope's soap:Body")
    signed_timestamp = timestamp is not None and verified.covers(timestamp)
    if timestamp is not None and not signed_timestamp:
        raise WsseError("timestamp_not_signed", "the signature does not cover the wsu:Timestamp")
    return VerifiedEnvelope(
        certificate=certificate,
        signed_body=True,
        signed_timestamp=signed_timestamp,
        created=created,
        expires=expires,
        replay_key=verified.signed_info_digest.hex(),
        body=body,
        signature=verified,
    )


# --- helpers --------------------------------------------------------------------------------------------


def _soap_namespace(envelope: Any) -> str:
    soap_ns = _ENVELOPE_TAGS.get(envelope.tag)  # a comment's or a PI's tag is a function: not found either
    if soap_ns is None:
        raise ValueError(f"not a SOAP envelope: {envelope.tag}")
    return soap_ns


def _our_security_headers(header: Any, soap_ns: str) -> list[Any]:
    """Security headers addressed to the ultimate receiver; ones for another actor/role are not ours."""
    target = f"{{{soap_ns}}}{_SOAP_VERSIONS[soap_ns][1]}"
    return [s for s in header.findall(_SECURITY) if s.get(target) is None]


def _utc(value: dt.datetime | None) -> dt.datetime:
    """Now, or the caller's aware time in UTC; a naive time would silently mean the server's local zone."""
    if value is None:
        return dt.datetime.now(dt.UTC)
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("`now` must be timezone-aware")
    return value.astimezone(dt.UTC)


def _format_time(value: dt.datetime) -> str:
    """``2026-12-05T14:00:00.123Z`` of a UTC time (``_utc``'s: its isoformat ends in "+00:00")."""
    return value.isoformat(timespec="milliseconds")[:-6] + "Z"


def _random_hex() -> str:
    """128 random bits for an Id (as ``uuid4().hex`` without building a UUID)."""
    return os.urandom(16).hex()


@functools.lru_cache(maxsize=16)
def _token_text(certificate_der: bytes) -> str:
    """The BinarySecurityToken's text: our own certificate, the same in every message we sign."""
    return base64.b64encode(certificate_der).decode("ascii")


@functools.lru_cache(maxsize=1024)
def _public_key(certificate: x509.Certificate) -> object:
    """The token certificate's public key, read once per certificate (tokens are parsed once per text)."""
    return public_key_from_certificate(certificate)


def _parse_time(text: str | None, what: str) -> dt.datetime:
    match = _DATETIME.fullmatch((text or "").strip())
    if match is None:
        raise WsseError("malformed", f"wsu:{what} is not an xsd:dateTime with a time zone: {text!r}")
    seconds, fraction, zone = match.groups()
    micro = (fraction or "").ljust(6, "0")[:6]
    try:
        parsed = dt.datetime.fromisoformat(f"{seconds}.{micro}{'+00:00' if zone == 'Z' else zone}")
    except ValueError:
        raise WsseError("malformed", f"wsu:{what} is not a valid date: {text!r}") from None
    return parsed.astimezone(dt.UTC)


def _timestamp_times(timestamp: Any) -> tuple[dt.datetime, dt.datetime]:
    created = timestamp.find(f"{{{WSU_NS}}}Created")
    expires = timestamp.find(f"{{{WSU_NS}}}Expires")
    if created is None or expires is None:
        # Expires is optional in WSS, but without it a message never goes stale: we require both.
        raise WsseError("malformed", "wsu:Timestamp needs wsu:Created and wsu:Expires")
    created_at = _parse_time(_content(created), "Created")
    expires_at = _parse_time(_content(expires), "Expires")
    if expires_at < created_at:
        raise WsseError("malformed", "wsu:Timestamp expires before it was created")
    return created_at, expires_at


def _token_certificate(ids: IdIndex, security: Any, signature: Any) -> x509.Certificate:
    """The signer's certificate, found the ways peers reference it.

    wsse:Reference URI="#id" to a BinarySecurityToken (the usual), wsse:KeyIdentifier (SKI or
    ThumbprintSHA1) matching a BinarySecurityToken in the same header, or an X509Certificate inlined in
    ds:X509Data (zeep's ``Signature``, some .NET profiles).
    """
    key_info = signature.find(f"{{{DS_NS}}}KeyInfo")
    if key_info is None:
        raise WsseError("no_token", "ds:Signature has no ds:KeyInfo")
    token_reference = key_info.find(_STR)
    holder = token_reference if token_reference is not None else key_info
    inline = holder.find(f"{{{DS_NS}}}X509Data/{{{DS_NS}}}X509Certificate")
    if inline is not None:
        return _certificate(_content(inline))
    if token_reference is None:
        raise WsseError("no_token", "ds:KeyInfo has neither wsse:SecurityTokenReference nor ds:X509Data")

    reference = token_reference.find(f"{{{WSSE_NS}}}Reference")
    if reference is not None:
        uri = reference.get("URI") or ""
        if not uri.startswith("#") or len(uri) < 2:
            raise WsseError("no_token", f"only in-message token references are supported, got {uri!r}")
        try:
            token = ids.resolve(uri[1:])
        except SignatureError as exc:
            raise WsseError(
                "duplicate_id" if exc.code == "duplicate_id" else "no_token", exc.message
            ) from None
        if token.tag != _TOKEN or token.getparent() is not security:
            raise WsseError("no_token", f"{uri} is not a BinarySecurityToken of this wsse:Security header")
        return _token_value(token)

    identifier = token_reference.find(f"{{{WSSE_NS}}}KeyIdentifier")
    if identifier is not None:
        wanted = _decode(_content(identifier), "KeyIdentifier")
        matcher = _KEY_IDENTIFIERS.get(identifier.get("ValueType") or "")
        if matcher is None:
            raise WsseError(
                "no_token", f"unsupported KeyIdentifier ValueType {identifier.get('ValueType')!r}"
            )
        for token in security.findall(_TOKEN):
            certificate = _token_value(token)
            if matcher(certificate) == wanted:
                return certificate
        raise WsseError("no_token", "no BinarySecurityToken matches the KeyIdentifier")
    raise WsseError("no_token", "wsse:SecurityTokenReference names no token")


def _ski(certificate: x509.Certificate) -> bytes | None:
    try:
        return certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    except x509.ExtensionNotFound:
        return None


def _sha1_thumbprint(certificate: x509.Certificate) -> bytes:
    return hashlib.sha1(certificate.public_bytes(serialization.Encoding.DER)).digest()  # noqa: S324  # an identifier, not a MAC


_KEY_IDENTIFIERS: Final = {X509_SKI: _ski, THUMBPRINT_SHA1: _sha1_thumbprint}


def _token_value(token: Any) -> x509.Certificate:
    if (token.get("ValueType") or X509V3) != X509V3:
        raise WsseError("no_token", f"token type {token.get('ValueType')!r} is not X509v3")
    if (token.get("EncodingType") or BASE64_BINARY) != BASE64_BINARY:
        raise WsseError("no_token", f"token encoding {token.get('EncodingType')!r} is not Base64Binary")
    return _certificate(_content(token))


def _decode(text: str | None, what: str) -> bytes:
    try:
        return base64.b64decode("".join((text or "").split()), validate=True)
    except (binascii.Error, ValueError):
        raise WsseError("malformed", f"{what} is not base64") from None


def _content(element: Any) -> str:
    """A token's, an identifier's or a time's text; a child element in it is malformed (``dsig``)."""
    try:
        return simple_content(element)
    except SignatureError as exc:
        raise WsseError("malformed", exc.message) from None


def _certificate(text: str | None) -> x509.Certificate:
    return _parsed_certificate(text or "")


@functools.lru_cache(maxsize=1024)
def _parsed_certificate(text: str) -> x509.Certificate:
    """The token's certificate, parsed once per distinct token text (a participant sends the same one with
    every request); a malformed token raises, and is not remembered."""
    try:
        return load_der_certificate(_decode(text, "certificate"))
    except ValueError:
        raise WsseError("malformed", "the security token is not a DER X.509 certificate") from None
