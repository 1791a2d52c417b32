"""The СМЭВ 3 message exchange on the wire: namespaces, envelopes, detached signatures, faults.

One description of the protocol for both sides of it — the hub's client (``smev/client.py``) and the
emulator (``emulators/smev3/``) — so the two cannot drift apart the way two hand-written copies would.
Sources and the guesses where no public source says: ``docs/smev.md``.

* The service is SOAP 1.1 document/literal; every operation's body element is in
  ``urn://x-artefacts-smev-gov-ru/services/message-exchange/types/<version>`` (1.1 or 1.3), shared
  types in ``…/types/basic/<version>``, fault details in ``…/types/faults/<version>``.
* No WS-Security: the signatures are inside the body. The caller signs the element it vouches for
  (``SenderProvidedRequestData``, ``SenderProvidedResponseData``, ``MessageTypeSelector``,
  ``AckTargetMessage``, ``Timestamp``) with a detached GOST signature in
  ``CallerInformationSystemSignature``; СМЭВ signs what it delivers (``Request``/``Response``/
  ``MessageMetadata`` with ``Id="SIGNED_BY_SMEV"``) in ``SMEVSignature`` and passes the original
  sender's signature on as ``SenderInformationSystemSignature``.
* A MessageID is a time-based UUID (version 1) written in lowercase; СМЭВ refuses anything else.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
import re
import threading
import uuid
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from cryptography import x509
from lxml import etree  # type: ignore[import-untyped, unused-ignore]

from rserz_soap.xmlsig.algorithms import load_der_certificate, public_key_from_certificate
from rserz_soap.xmlsig.c14n import DS_NS
from rserz_soap.xmlsig.dsig import SignatureError, resolve_id, verify
from rserz_soap.xmlsig.keys import KeyPair
from rserz_soap.xmlsig.smev import sign_smev
from rserz_soap.xmlsig.smev_transform import namespace_aliases
from rserz_soap.xmlsig.trust import TrustError, TrustStore

__all__ = [
    "SIGNED_BY_CALLER",
    "SIGNED_BY_SMEV",
    "SOAP_ENV",
    "VERSIONS",
    "Delivered",
    "SmevFault",
    "basic_ns",
    "faults_ns",
    "types_ns",
]

SOAP_ENV: Final = "http://schemas.xmlsoap.org/soap/envelope/"
VERSIONS: Final = ("1.1", "1.3")
DEFAULT_VERSION: Final = "1.1"
_BASE: Final = "urn://x-artefacts-smev-gov-ru/services/message-exchange"
SIGNED_BY_CALLER: Final = "SIGNED_BY_CALLER"
SIGNED_BY_SMEV: Final = "SIGNED_BY_SMEV"
#: lowercase canonical UUID of version 1 (the time-based one), the only MessageID СМЭВ accepts
_MESSAGE_ID: Final = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-1[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def service_ns(version: str) -> str:
    return f"{_BASE}/{version}"


def types_ns(version: str) -> str:
    return f"{_BASE}/types/{version}"


def basic_ns(version: str) -> str:
    return f"{_BASE}/types/basic/{version}"


def faults_ns(version: str) -> str:
    return f"{_BASE}/types/faults/{version}"


def version_of(namespace: str | None) -> str | None:
    """The protocol version of a message-exchange types namespace (None for anything else)."""
    for v in VERSIONS:
        if namespace == types_ns(v):
            return v
    return None


#: how a signature verifier reads one version's namespaces as another's: СМЭВ re-namespaces what a
#: sender signed in one version when it delivers in another (``fixtures/smev3``: signed in 1.2, delivered
#: in 1.1). Tried only after a plain verification failed.
def _aliases(version: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for other in ("1.1", "1.2", "1.3"):
        if other != version:
            out[types_ns(version)] = types_ns(other)
            out[basic_ns(version)] = basic_ns(other)
    return out


def new_message_id() -> str:
    return str(uuid.uuid1())


def is_message_id(text: str | None) -> bool:
    return bool(text) and _MESSAGE_ID.match(text or "") is not None


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).astimezone().isoformat(timespec="milliseconds")


# --- faults ---------------------------------------------------------------------------------------------

#: the faults of the schema (``types/faults``); ``server`` faults are СМЭВ's own trouble (try again later)
FAULTS: Final = {
    "AccessDenied": False,
    "AttachmentContentMiscoordination": False,
    "AttachmentSizeLimitExceeded": False,
    "BusinessDataTypeIsNotSupported": False,
    "DestinationOverflow": True,
    "EndOfLifeIsNotSupported": False,
    "IncorrectResponseContentType": False,
    "InvalidContent": False,
    "InvalidMessageIdFormat": False,
    "MessageIsAlreadySent": False,
    "QuoteLimitExceeded": True,
    "RecipientIsNotFound": False,
    "SMEVFailure": True,
    "SenderIsNotRegistered": False,
    "SignatureVerificationFault": False,
    "StaleMessageId": False,
    "TargetMessageIsNotFound": False,
    "UnknownMessageType": False,
}

#: ``SignatureVerificationFault/Code`` values (the emulator's; see docs/smev.md on what is guessed)
SIGNATURE_CODES: Final = (
    "SIGNATURE_MISSING",  # no CallerInformationSystemSignature
    "MALFORMED",  # not the XMLDSig shape, or an algorithm outside the СМЭВ profile
    "REFERENCE_INVALID",  # the reference does not name the signed element
    "DIGEST_MISMATCH",  # the signed element changed after signing
    "SIGNATURE_INVALID",  # the SignatureValue does not verify
    "CERTIFICATE_NOT_TRUSTED",  # not issued by a CA СМЭВ trusts, revoked
    "CERTIFICATE_EXPIRED",  # outside its validity
)


class SmevFault(Exception):
    """A SOAP Fault of the message exchange: ``name`` is the detail element of ``types/faults``."""

    def __init__(self, name: str, text: str, *, code: str | None = None) -> None:
        if name not in FAULTS:
            raise ValueError(f"unknown СМЭВ fault {name!r}")
        super().__init__(f"{name}{f' ({code})' if code else ''}: {text}")
        self.name = name
        self.code = code
        self.text = text

    @property
    def server(self) -> bool:
        return FAULTS[self.name]


def fault_envelope(version: str, fault: SmevFault) -> bytes:
    env, body = _envelope()
    f = etree.SubElement(body, etree.QName(SOAP_ENV, "Fault"))
    etree.SubElement(f, "faultcode").text = "soap:Server" if fault.server else "soap:Client"
    etree.SubElement(f, "faultstring").text = fault.text
    detail = etree.SubElement(f, "detail")
    fns = faults_ns(version)
    d = etree.SubElement(detail, etree.QName(fns, fault.name), nsmap={"ns3": fns})
    if fault.code:
        etree.SubElement(d, etree.QName(fns, "Code")).text = fault.code
    etree.SubElement(d, etree.QName(fns, "Description")).text = fault.text
    return _bytes(env)


def parse_fault(fault: Any) -> SmevFault:
    """The SmevFault a SOAP Fault element stands for (``SMEVFailure`` when it names none)."""
    text = fault.findtext("faultstring") or ""
    detail = fault.find("detail")
    if detail is not None:
        for d in detail:
            if not isinstance(d.tag, str):
                continue
            q = etree.QName(d)
            if q.localname in FAULTS and (q.namespace or "").startswith(f"{_BASE}/types/faults/"):
                code = d.findtext(f"{{{q.namespace}}}Code")
                return SmevFault(q.localname, d.findtext(f"{{{q.namespace}}}Description") or text, code=code)
    return SmevFault("SMEVFailure", text or "a SOAP Fault without a СМЭВ fault detail")


# --- building -------------------------------------------------------------------------------------------


def _envelope() -> tuple[Any, Any]:
    env = etree.Element(etree.QName(SOAP_ENV, "Envelope"), nsmap={"soap": SOAP_ENV})
    return env, etree.SubElement(env, etree.QName(SOAP_ENV, "Body"))


def _bytes(env: Any) -> bytes:
    return bytes(etree.tostring(env, xml_declaration=True, encoding="UTF-8"))


class _Builder:
    """Elements of one version, with the prefixes СМЭВ itself writes (ns2 types, default basic)."""

    def __init__(self, version: str) -> None:
        self.version = version
        self.t = types_ns(version)
        self.b = basic_ns(version)

    def root(self, parent: Any, name: str) -> Any:
        return etree.SubElement(parent, etree.QName(self.t, name), nsmap={"ns2": self.t, None: self.b})

    def el(
        self, parent: Any, name: str, text: str | None = None, *, basic: bool = False, **attrs: str
    ) -> Any:
        e = etree.SubElement(parent, etree.QName(self.b if basic else self.t, name), **attrs)
        if text is not None:
            e.text = text
        return e


def _sign(env: Any, target_id: str, keypair: KeyPair, parent: Any, b: _Builder, holder: str) -> None:
    sign_smev(env, target_id, keypair, signature_parent=b.el(parent, holder))


def send_request(
    version: str,
    message_id: str,
    content: Any,
    keypair: KeyPair,
    *,
    reference_message_id: str | None = None,
    test: bool = False,
) -> bytes:
    """``SendRequestRequest``: ``content`` (the business element) in MessagePrimaryContent, signed."""
    env, body = _envelope()
    b = _Builder(version)
    req = b.root(body, "SendRequestRequest")
    data = b.el(req, "SenderProvidedRequestData", Id=SIGNED_BY_CALLER)
    b.el(data, "MessageID", message_id)
    if reference_message_id:
        b.el(data, "ReferenceMessageID", reference_message_id)
    b.el(data, "MessagePrimaryContent", basic=True).append(content)
    if test:
        b.el(data, "TestMessage")
    _sign(env, SIGNED_BY_CALLER, keypair, req, b, "CallerInformationSystemSignature")
    return _bytes(env)


def send_response(
    version: str,
    message_id: str,
    to: str,
    keypair: KeyPair,
    *,
    content: Any | None = None,
    rejected: tuple[str, str] | None = None,
) -> bytes:
    """``SendResponseRequest`` to the ``ReplyTo`` of a request: a content or a rejection (code, text)."""
    if (content is None) == (rejected is None):
        raise ValueError("a response holds either content or a rejection")
    env, body = _envelope()
    b = _Builder(version)
    req = b.root(body, "SendResponseRequest")
    data = b.el(req, "SenderProvidedResponseData", Id=SIGNED_BY_CALLER)
    b.el(data, "MessageID", message_id)
    b.el(data, "To", to)
    if content is not None:
        b.el(data, "MessagePrimaryContent", basic=True).append(content)
    else:
        assert rejected is not None
        r = b.el(data, "RequestRejected")
        b.el(r, "RejectionReasonCode", rejected[0])
        b.el(r, "RejectionReasonDescription", rejected[1])
    _sign(env, SIGNED_BY_CALLER, keypair, req, b, "CallerInformationSystemSignature")
    return _bytes(env)


def get_message(
    version: str, operation: str, keypair: KeyPair, *, namespace: str | None = None, root: str | None = None
) -> bytes:
    """``GetRequestRequest`` / ``GetResponseRequest`` with a message type selector (namespace + root)."""
    if operation not in ("GetRequestRequest", "GetResponseRequest"):
        raise ValueError(operation)
    env, body = _envelope()
    b = _Builder(version)
    req = b.root(body, operation)
    sel = b.el(req, "MessageTypeSelector", basic=True, Id=SIGNED_BY_CALLER)
    if namespace:
        b.el(sel, "NamespaceURI", namespace, basic=True)
    if root:
        b.el(sel, "RootElementLocalName", root, basic=True)
    b.el(sel, "Timestamp", now_iso(), basic=True)
    _sign(env, SIGNED_BY_CALLER, keypair, req, b, "CallerInformationSystemSignature")
    return _bytes(env)


def ack(version: str, message_id: str, keypair: KeyPair, *, accepted: bool = True) -> bytes:
    env, body = _envelope()
    b = _Builder(version)
    req = b.root(body, "AckRequest")
    b.el(req, "AckTargetMessage", message_id, Id=SIGNED_BY_CALLER, accepted="true" if accepted else "false")
    _sign(env, SIGNED_BY_CALLER, keypair, req, b, "CallerInformationSystemSignature")
    return _bytes(env)


def get_status(version: str, keypair: KeyPair) -> bytes:
    env, body = _envelope()
    b = _Builder(version)
    req = b.root(body, "GetStatusRequest")
    b.el(req, "Timestamp", now_iso(), basic=True, Id=SIGNED_BY_CALLER)
    _sign(env, SIGNED_BY_CALLER, keypair, req, b, "CallerInformationSystemSignature")
    return _bytes(env)


@dataclass(frozen=True)
class Metadata:
    """``MessageMetadata`` as СМЭВ writes it."""

    message_id: str
    message_type: str  # REQUEST | RESPONSE
    sender: str  # mnemonic
    recipient: str
    sending_timestamp: str
    status: str
    delivery_timestamp: str | None = None


def _metadata(b: _Builder, parent: Any, m: Metadata, signed: bool = False) -> Any:
    md = b.el(parent, "MessageMetadata", Id=SIGNED_BY_SMEV) if signed else b.el(parent, "MessageMetadata")
    b.el(md, "MessageId", m.message_id)
    b.el(md, "MessageType", m.message_type)
    sender = b.el(md, "Sender")
    b.el(sender, "Mnemonic", m.sender)
    b.el(sender, "HumanReadableName", m.sender)
    b.el(md, "SendingTimestamp", m.sending_timestamp)
    recipient = b.el(md, "Recipient")
    b.el(recipient, "Mnemonic", m.recipient)
    b.el(recipient, "HumanReadableName", m.recipient)
    if m.delivery_timestamp:
        b.el(md, "DeliveryTimestamp", m.delivery_timestamp)
    b.el(md, "Status", m.status)
    return md


def metadata_answer(version: str, operation: str, m: Metadata, smev_key: KeyPair) -> bytes:
    """``SendRequestResponse`` / ``SendResponseResponse``: the metadata signed by СМЭВ."""
    env, body = _envelope()
    b = _Builder(version)
    resp = b.root(body, operation)
    _metadata(b, resp, m, signed=True)
    _sign(env, SIGNED_BY_SMEV, smev_key, resp, b, "SMEVSignature")
    return _bytes(env)


def empty_answer(version: str, operation: str) -> bytes:
    env, body = _envelope()
    _Builder(version).root(body, operation)
    return _bytes(env)


def delivery(
    version: str,
    kind: str,
    data_xml: bytes,
    signature_xml: bytes | None,
    m: Metadata,
    smev_key: KeyPair,
    *,
    reply_to: str | None = None,
    original_message_id: str | None = None,
) -> bytes:
    """``GetRequestResponse`` (``kind`` request) or ``GetResponseResponse`` (response): the sender's data
    and signature exactly as sent, СМЭВ's metadata, all signed by СМЭВ over ``#SIGNED_BY_SMEV``."""
    env, body = _envelope()
    b = _Builder(version)
    if kind == "request":
        resp = b.root(body, "GetRequestResponse")
        holder = b.el(resp, "RequestMessage")
        inner = b.el(holder, "Request", Id=SIGNED_BY_SMEV)
    else:
        resp = b.root(body, "GetResponseResponse")
        holder = b.el(resp, "ResponseMessage")
        inner = b.el(holder, "Response", Id=SIGNED_BY_SMEV)
        b.el(inner, "OriginalMessageId", original_message_id or "")
    inner.append(etree.fromstring(data_xml, parser=_parser()))
    _metadata(b, inner, m)
    if reply_to is not None:
        b.el(inner, "ReplyTo", reply_to)
    if signature_xml is not None:
        sis = b.el(inner, "SenderInformationSystemSignature")
        sis.append(etree.fromstring(signature_xml, parser=_parser()))
    _sign(env, SIGNED_BY_SMEV, smev_key, holder, b, "SMEVSignature")
    return _bytes(env)


def no_message(version: str, operation: str) -> bytes:
    """An empty GetRequestResponse / GetResponseResponse: nothing waits in the queue."""
    return empty_answer(version, operation)


# --- reading --------------------------------------------------------------------------------------------


@functools.cache
def _parser() -> Any:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def parse(raw: bytes) -> Any:
    """A safe parse (no entities, DTDs or network), keeping whitespace: signed content stays as sent."""
    return etree.fromstring(raw, parser=_parser())


def body_element(envelope: Any) -> Any:
    body = envelope.find(f"{{{SOAP_ENV}}}Body")
    if envelope.tag != f"{{{SOAP_ENV}}}Envelope" or body is None:
        raise SmevFault("InvalidContent", "not a SOAP 1.1 envelope")
    first = next((c for c in body if isinstance(c.tag, str)), None)
    if first is None:
        raise SmevFault("InvalidContent", "soap:Body is empty")
    return first


def child(parent: Any, name: str) -> Any | None:
    """The first child element with this local name, whatever its namespace."""
    for c in parent:
        if isinstance(c.tag, str) and etree.QName(c).localname == name:
            return c
    return None


def text_of(parent: Any, name: str) -> str | None:
    c = child(parent, name)
    return (c.text or "").strip() if c is not None else None


def primary_content(data: Any) -> Any | None:
    """The business element inside ``MessagePrimaryContent``."""
    holder = child(data, "MessagePrimaryContent")
    if holder is None:
        return None
    return next((c for c in holder if isinstance(c.tag, str)), None)


def serialize(element: Any) -> bytes:
    return bytes(etree.tostring(element, encoding="UTF-8"))


@dataclass(frozen=True)
class Delivered:
    """A message taken from a queue (GetRequest or GetResponse), its signatures verified."""

    kind: str  # request | response
    message_id: str  # the sender's MessageID: what Ack names
    sender: str
    content: Any | None  # the business element (None for a rejection)
    reply_to: str | None = None  # requests: where the response goes
    original_message_id: str | None = None  # responses: the request answered
    rejected: tuple[str, str] | None = None
    sender_certificate: str | None = None  # subject of the sender's certificate
    #: why the sender's signature does not hold (СМЭВ's own does): the message is read as refused, so
    #: it is answered and acknowledged instead of blocking the queue with every redelivery
    sender_signature_problem: str | None = None


@dataclass(frozen=True)
class CertificateCheck:
    """Who may sign: the trust anchors, and (optionally) the only certificates accepted (SHA-256 hex)."""

    trust: TrustStore
    pinned: frozenset[str] | None = None


class SmevSignatureError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


_SIGNATURE_CODE: Final = {
    "malformed": "MALFORMED",
    "unsupported_algorithm": "MALFORMED",
    "reference_not_found": "REFERENCE_INVALID",
    "duplicate_id": "REFERENCE_INVALID",
    "digest_mismatch": "DIGEST_MISMATCH",
    "bad_signature": "SIGNATURE_INVALID",
}


@functools.lru_cache(maxsize=256)
def _certificate(der: bytes) -> tuple[x509.Certificate, object]:
    cert = load_der_certificate(der)  # a ValueError for anything unreadable, InvalidVersion included
    return cert, public_key_from_certificate(cert)


def verify_detached(
    holder: Any, target: Any, check: CertificateCheck, *, at: dt.datetime | None = None
) -> x509.Certificate:
    """Verify the ds:Signature inside ``holder`` over exactly the element ``target``; return its signer.

    GOST only (the СМЭВ profile). A failed digest is tried once more with the other protocol versions'
    namespaces read as this one's (see :func:`_aliases`), since СМЭВ re-namespaces on delivery.
    """
    signature = holder.find(f"{{{DS_NS}}}Signature") if holder is not None else None
    if signature is None:
        raise SmevSignatureError("SIGNATURE_MISSING", "no ds:Signature")
    cert_el = signature.find(f"{{{DS_NS}}}KeyInfo/{{{DS_NS}}}X509Data/{{{DS_NS}}}X509Certificate")
    if cert_el is None:
        raise SmevSignatureError("MALFORMED", "no X509Certificate in ds:KeyInfo")
    try:
        der = base64.b64decode("".join((cert_el.text or "").split()), validate=True)
        cert, public_key = _certificate(der)
    except (binascii.Error, ValueError) as exc:
        raise SmevSignatureError("MALFORMED", f"unreadable certificate: {exc}") from None
    refused = frozenset(
        {
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
            "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
        }
    )
    try:
        verified = verify(signature, public_key=public_key, max_references=1, refused_algorithms=refused)
    except SignatureError as exc:
        version = version_of(etree.QName(target).namespace) or DEFAULT_VERSION
        if exc.code != "digest_mismatch":
            raise SmevSignatureError(_SIGNATURE_CODE[exc.code], exc.message) from None
        try:
            with namespace_aliases(_aliases(version)):
                verified = verify(
                    signature, public_key=public_key, max_references=1, refused_algorithms=refused
                )
        except SignatureError as again:
            raise SmevSignatureError(_SIGNATURE_CODE[again.code], again.message) from None
    if not verified.covers(target):
        raise SmevSignatureError("REFERENCE_INVALID", "the signature does not cover the signed element")
    when = at or dt.datetime.now(dt.UTC)
    try:
        _validated(check.trust, der, cert, when)
    except TrustError as exc:
        code = (
            "CERTIFICATE_EXPIRED" if exc.code in ("expired", "not_yet_valid") else "CERTIFICATE_NOT_TRUSTED"
        )
        raise SmevSignatureError(code, exc.message) from None
    if check.pinned is not None:
        from cryptography.hazmat.primitives import hashes

        if cert.fingerprint(hashes.SHA256()).hex() not in check.pinned:
            raise SmevSignatureError("CERTIFICATE_NOT_TRUSTED", "not the certificate expected here")
    return cert


#: how long a certificate found valid is not checked again (its chain signature is a GOST verification)
TRUST_CACHE_SECONDS: Final = 60
_trusted: weakref.WeakKeyDictionary[TrustStore, dict[bytes, float]] = weakref.WeakKeyDictionary()
_trusted_lock: Final = threading.Lock()


def _validated(trust: TrustStore, der: bytes, cert: x509.Certificate, when: dt.datetime) -> None:
    """``trust.validate``, remembered per trust store for a minute (the same few certificates sign
    every message; revocation is seen within that minute)."""
    now = when.timestamp()
    with _trusted_lock:
        seen = _trusted.get(trust, {}).get(der)
    if seen is not None and 0 <= now - seen < TRUST_CACHE_SECONDS:
        return
    trust.validate(cert, at=when)
    with _trusted_lock:
        known = _trusted.setdefault(trust, {})
        if len(known) > 1024:
            known.clear()
        known[der] = now


def signed_target(request: Any, name: str, *, basic: bool = False) -> tuple[Any, Any]:
    """(the element a caller signs, its CallerInformationSystemSignature) of a request body element."""
    target = child(request, name)
    holder = child(request, "CallerInformationSystemSignature")
    if target is None:
        raise SmevFault("InvalidContent", f"{etree.QName(request).localname} has no {name}")
    return target, holder


def read_delivery(answer: Any, check: CertificateCheck, *, verify_sender: bool = True) -> Delivered | None:
    """The message in a GetRequestResponse / GetResponseResponse, both signatures verified; None if empty."""
    local = etree.QName(answer).localname
    kind = "request" if local == "GetRequestResponse" else "response"
    holder = child(answer, "RequestMessage" if kind == "request" else "ResponseMessage")
    if holder is None:
        return None
    inner = child(holder, "Request" if kind == "request" else "Response")
    if inner is None or inner.get("Id") is None:
        raise SmevSignatureError("MALFORMED", f"{local} without a signed {kind}")
    if resolve_id(answer, inner.get("Id")) is not inner:
        raise SmevSignatureError("REFERENCE_INVALID", "the delivered message's Id is not unique")
    verify_detached(child(holder, "SMEVSignature"), inner, check)
    data = child(inner, "SenderProvidedRequestData" if kind == "request" else "SenderProvidedResponseData")
    if data is None:
        raise SmevSignatureError("MALFORMED", "no sender data in the delivered message")
    subject = problem = None
    if verify_sender:
        try:
            signer = verify_detached(child(inner, "SenderInformationSystemSignature"), data, check)
            subject = signer.subject.rfc4514_string()
        except SmevSignatureError as exc:
            problem = str(exc)
    meta = child(inner, "MessageMetadata")
    sender_el = child(meta, "Sender") if meta is not None else None
    rejected_el = child(data, "RequestRejected")
    rejected = None
    if rejected_el is not None:
        rejected = (
            text_of(rejected_el, "RejectionReasonCode") or "",
            text_of(rejected_el, "RejectionReasonDescription") or "",
        )
    return Delivered(
        kind=kind,
        message_id=text_of(data, "MessageID") or "",
        sender=(text_of(sender_el, "Mnemonic") if sender_el is not None else None) or "",
        content=primary_content(data),
        reply_to=text_of(inner, "ReplyTo"),
        original_message_id=text_of(inner, "OriginalMessageId"),
        rejected=rejected,
        sender_certificate=subject,
        sender_signature_problem=problem,
    )


def read_metadata(answer: Any, check: CertificateCheck) -> Mapping[str, str | None]:
    """The MessageMetadata of a SendRequestResponse / SendResponseResponse, СМЭВ's signature verified."""
    meta = child(answer, "MessageMetadata")
    if meta is None:
        raise SmevSignatureError("MALFORMED", "no MessageMetadata")
    verify_detached(child(answer, "SMEVSignature"), meta, check)
    return {"message_id": text_of(meta, "MessageId"), "status": text_of(meta, "Status")}
