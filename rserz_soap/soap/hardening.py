"""The hardening front: what a request must be before anything interprets it.

Named limits (not magic numbers in handlers), checked in order of cost: method and content type, size
(read at most the limit plus one byte), then a parse with DTDs, entities and network off — a DOCTYPE is
refused outright, so billion-laughs and XXE never reach a parser that would expand them. The result is
the parsed envelope, handed on so that nothing parses the body twice.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any

from lxml import etree  # type: ignore[import-untyped, unused-ignore]

from rserz_soap.files.xmlfile import deeper_than, hardened_parser
from rserz_soap.soap.faults import SOAP_ENV, FaultCode, SoapFault


@dataclass(frozen=True)
class Limits:
    max_body_bytes: int = 4 * 1024 * 1024  # a 1,000-record OPLIST batch is ≈ 2 MB
    max_depth: int = 64  # the deepest legitimate element is ≈ 10 levels down
    content_types: tuple[str, ...] = ("text/xml",)


_PARSERS = threading.local()


def _parser() -> Any:
    """The hardened parser of this thread: lxml parsers are reusable, but not across threads."""
    parser = getattr(_PARSERS, "parser", None)
    if parser is None:
        parser = _PARSERS.parser = hardened_parser()
    return parser


def check_content_type(content_type: str | None, limits: Limits) -> None:
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media not in limits.content_types:
        raise SoapFault(FaultCode.CONTENT_TYPE)


def read_body(stream: Any, content_length: str | None, limits: Limits) -> bytes:
    """At most ``max_body_bytes``; a longer or lying Content-Length is refused without reading it all."""
    try:
        declared = int(content_length) if content_length else None
    except ValueError:
        raise SoapFault(FaultCode.TOO_LARGE, "invalid Content-Length") from None
    if declared is not None and declared > limits.max_body_bytes:
        raise SoapFault(FaultCode.TOO_LARGE, f"{declared} bytes, the limit is {limits.max_body_bytes}")
    raw = stream.read(
        min(declared, limits.max_body_bytes + 1) if declared is not None else limits.max_body_bytes + 1
    )
    if len(raw) > limits.max_body_bytes:
        raise SoapFault(FaultCode.TOO_LARGE, f"the limit is {limits.max_body_bytes} bytes")
    return bytes(raw)


_DECLARED_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*\sencoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")


def check_encoding(raw: bytes) -> None:
    """UTF-8 only, as the contract says: a UTF-16/32 body (a NUL byte, or another declared encoding) is
    refused before any parser sees it, so that no byte-level check can be stepped around by re-encoding."""
    if b"\x00" in raw[:4096] or raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise SoapFault(FaultCode.MALFORMED, "the request must be UTF-8")
    declared = _DECLARED_ENCODING.match(raw[:256])
    if declared and declared.group(1).lower().replace(b"_", b"-") not in (b"utf-8", b"utf8"):
        raise SoapFault(FaultCode.MALFORMED, "the request must be UTF-8")


def parse_envelope(raw: bytes, limits: Limits) -> Any:
    """The SOAP 1.1 envelope element of ``raw``, or a SoapFault saying why not."""
    check_encoding(raw)
    head = raw[:2048].lower()
    if b"<!doctype" in head or b"<!entity" in raw.lower():
        raise SoapFault(FaultCode.DOCTYPE)
    try:
        root = etree.fromstring(raw, parser=_parser())
    except etree.XMLSyntaxError as exc:
        raise SoapFault(FaultCode.MALFORMED, f"line {exc.lineno}") from None
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise SoapFault(FaultCode.DOCTYPE)
    if root.tag != f"{{{SOAP_ENV}}}Envelope":
        raise SoapFault(FaultCode.NOT_SOAP)
    body = root.find(f"{{{SOAP_ENV}}}Body")
    if body is None or len(body) != 1:
        raise SoapFault(FaultCode.NOT_SOAP, "soap:Body must hold exactly one element")
    if deeper_than(root, limits.max_depth):
        raise SoapFault(FaultCode.MALFORMED, f"nested deeper than {limits.max_depth} elements")
    return root
