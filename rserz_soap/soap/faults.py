"""Every way a request can be refused, with its code, and the SOAP 1.1 Fault that says so.

Codes are stable strings a participant's software can branch on; the text is for people. A Fault is
answered with HTTP 500 (WS-I Basic Profile), always as XML, never as an HTML error page.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from lxml import etree  # type: ignore[import-untyped, unused-ignore]

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
#: Namespace of the FaultDetail element; the contract (xsd/common.xsd) declares it.
COMMON_NS = "urn:ru:rserz:soap:common:v1"


class FaultCode(Enum):
    # the hardening front, before anything is parsed for meaning
    CONTENT_TYPE = ("SEC-001", "Client", "Content-Type must be text/xml (SOAP 1.1)")
    TOO_LARGE = ("SEC-002", "Client", "the request is larger than allowed")
    DOCTYPE = ("SEC-003", "Client", "a DOCTYPE or entity declaration is not allowed")
    MALFORMED = ("SEC-004", "Client", "the request is not well-formed XML")
    NOT_SOAP = ("SEC-005", "Client", "the request is not a SOAP 1.1 envelope")
    METHOD = ("SEC-006", "Client", "use POST for SOAP requests and GET ?wsdl for the contract")
    # WS-Security and trust
    UNSIGNED = ("SEC-101", "Client", "the request is not signed (WS-Security X.509 token profile)")
    BAD_SIGNATURE = (
        "SEC-102",
        "Client",
        "the signature does not verify: the message was changed or mis-signed",
    )
    NOT_SIGNED_PARTS = ("SEC-103", "Client", "the signature must cover soap:Body and wsu:Timestamp")
    STALE = ("SEC-104", "Client", "the timestamp is missing, expired or in the future")
    REPLAY = ("SEC-105", "Client", "this signed message was already received")
    UNTRUSTED = ("SEC-111", "Client", "the certificate is not issued by a trusted CA")
    EXPIRED = ("SEC-112", "Client", "the certificate is outside its validity period")
    REVOKED = ("SEC-113", "Client", "the certificate is revoked")
    UNKNOWN_CERT = ("SEC-114", "Client", "the certificate is not registered to a participant")
    FORBIDDEN = ("SEC-121", "Client", "this participant may not call this operation")
    # the contract
    UNKNOWN_OPERATION = ("REQ-001", "Client", "no such operation in this service")
    SCHEMA = ("REQ-002", "Client", "the request does not match the schema")
    WRONG_NAMESPACE = ("REQ-003", "Client", "the request is in a namespace this service does not serve")
    IDEMPOTENCY_CONFLICT = ("REQ-010", "Client", "this REQUEST_ID was already used for a different request")
    NOT_FOUND = ("REQ-020", "Client", "nothing found for the given key")
    INVALID = ("REQ-030", "Client", "the request is not acceptable")
    SEARCH_TOO_BROAD = (
        "REQ-031",
        "Client",
        "a search needs a surname and a birth date range of at most a year",
    )
    # ours
    UNAVAILABLE = ("SRV-001", "Server", "the service is temporarily unavailable")
    INTERNAL = ("SRV-002", "Server", "internal error; the correlation id identifies it in the hub's journal")

    @property
    def code(self) -> str:
        return self.value[0]

    @property
    def side(self) -> str:
        return self.value[1]

    @property
    def text(self) -> str:
        return self.value[2]


@dataclass
class SoapFault(Exception):
    """Raised anywhere in request handling; the edge turns it into a Fault response."""

    kind: FaultCode
    detail: str | None = None
    field: str | None = None
    parent: str | None = None

    def __post_init__(self) -> None:
        super().__init__(f"{self.kind.code}: {self.message}")

    @property
    def message(self) -> str:
        return f"{self.kind.text}: {self.detail}" if self.detail else self.kind.text


def fault_envelope(fault: SoapFault, correlation_id: str) -> etree._Element:
    """The Fault as an envelope element (the response signer may add a Security header to it)."""
    env = etree.Element(etree.QName(SOAP_ENV, "Envelope"), nsmap={"soap": SOAP_ENV})
    body = etree.SubElement(env, etree.QName(SOAP_ENV, "Body"))
    f = etree.SubElement(body, etree.QName(SOAP_ENV, "Fault"))
    etree.SubElement(f, "faultcode").text = f"soap:{fault.kind.side}"
    etree.SubElement(f, "faultstring").text = fault.message
    detail = etree.SubElement(f, "detail")
    d = etree.SubElement(detail, etree.QName(COMMON_NS, "FaultDetail"), nsmap={"c": COMMON_NS})
    for name, value in (
        ("CODE", fault.kind.code),
        ("TEXT", fault.message),
        ("FIELD", fault.field),
        ("PARENT", fault.parent),
        ("CORRELATION_ID", correlation_id),
    ):
        if value is not None:
            etree.SubElement(d, etree.QName(COMMON_NS, name)).text = value
    return env


def fault_bytes(fault: SoapFault, correlation_id: str) -> bytes:
    return bytes(
        etree.tostring(fault_envelope(fault, correlation_id), xml_declaration=True, encoding="UTF-8")
    )
