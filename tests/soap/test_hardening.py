"""The hardening front refuses hostile input with a coded Fault before anything interprets it."""

from __future__ import annotations

import io
import random

import pytest
from lxml import etree  # type: ignore[import-untyped, unused-ignore]

from rserz_soap.files.xmlfile import deeper_than as _deeper_than
from rserz_soap.soap.faults import COMMON_NS, FaultCode, SoapFault, fault_bytes
from rserz_soap.soap.hardening import (
    Limits,
    check_content_type,
    parse_envelope,
    read_body,
)


def _depth(root: object) -> int:
    """The reference: how deeply ``root``'s elements nest, counted by walking the tree in Python."""
    level = deepest = 0
    for event, _el in etree.iterwalk(root, events=("start", "end")):
        level += 1 if event == "start" else -1
        deepest = max(deepest, level)
    return deepest


ENV = "http://schemas.xmlsoap.org/soap/envelope/"
OK = f'<soap:Envelope xmlns:soap="{ENV}"><soap:Body><x xmlns="urn:t"/></soap:Body></soap:Envelope>'.encode()

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><x>&lol3;</x></soap:Body></soap:Envelope>"""
XXE = b"""<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><x>&xxe;</x></soap:Body></soap:Envelope>"""


def _code(exc: pytest.ExceptionInfo[SoapFault]) -> str:
    return exc.value.kind.code


def test_a_plain_envelope_passes() -> None:
    root = parse_envelope(OK, Limits())
    assert root.tag == f"{{{ENV}}}Envelope"


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        (BILLION_LAUGHS, FaultCode.DOCTYPE),
        (XXE, FaultCode.DOCTYPE),
        (b"<soap:Envelope", FaultCode.MALFORMED),
        (b"<a/>", FaultCode.NOT_SOAP),
        (OK.replace(ENV.encode(), b"http://www.w3.org/2003/05/soap-envelope"), FaultCode.NOT_SOAP),
        (OK.replace(b'<x xmlns="urn:t"/>', b""), FaultCode.NOT_SOAP),
    ],
)
def test_hostile_or_wrong_input_is_refused(raw: bytes, kind: FaultCode) -> None:
    with pytest.raises(SoapFault) as exc:
        parse_envelope(raw, Limits())
    assert exc.value.kind is kind


def test_xxe_never_reads_the_file() -> None:
    with pytest.raises(SoapFault) as exc:
        parse_envelope(XXE, Limits())
    assert "root:" not in str(exc.value)


def test_deep_nesting_is_refused() -> None:
    deep = b"<a>" * 100 + b"</a>" * 100
    raw = OK.replace(b'<x xmlns="urn:t"/>', deep)
    with pytest.raises(SoapFault) as exc:
        parse_envelope(raw, Limits(max_depth=64))
    assert _code(exc) == FaultCode.MALFORMED.code


def test_nesting_at_the_limit_passes_and_one_deeper_is_refused() -> None:
    for depth, refused in ((64, False), (65, True)):
        inner = b"<a>" * (depth - 3) + b"</a>" * (depth - 3)  # Envelope, Body, x: 3 levels already
        raw = OK.replace(b'<x xmlns="urn:t"/>', b'<x xmlns="urn:t">' + inner + b"</x>")
        if refused:
            with pytest.raises(SoapFault):
                parse_envelope(raw, Limits(max_depth=64))
        else:
            parse_envelope(raw, Limits(max_depth=64))


@pytest.mark.parametrize("seed", range(40))
def test_the_xpath_depth_check_agrees_with_walking_the_tree(seed: int) -> None:
    """The check libxml2 answers (``_deeper_than``) says what counting levels in Python says, for trees
    of every shape: wide, deep, with comments, PIs and text at the deepest level."""
    rnd = random.Random(seed)
    root = etree.Element("r")
    nodes = [root]
    for _ in range(rnd.randrange(1, 60)):
        parent = rnd.choice(nodes[-8:] if rnd.random() < 0.7 else nodes)
        kind = rnd.random()
        if kind < 0.1:
            parent.append(etree.Comment("c"))
        elif kind < 0.15:
            parent.append(etree.ProcessingInstruction("p"))
        elif kind < 0.25:
            parent.text = "t"
        else:
            nodes.append(etree.SubElement(parent, "e"))
    depth = _depth(root)
    for limit in range(1, depth + 3):
        assert _deeper_than(root, limit) == (depth > limit), (limit, depth)


def test_size_limit_is_enforced_without_reading_everything() -> None:
    limits = Limits(max_body_bytes=1000)
    with pytest.raises(SoapFault) as exc:
        read_body(io.BytesIO(b"x" * 5000), "5000", limits)
    assert exc.value.kind is FaultCode.TOO_LARGE
    with pytest.raises(SoapFault):  # a lying (missing) Content-Length is caught by reading limit + 1
        read_body(io.BytesIO(b"x" * 5000), None, limits)
    assert read_body(io.BytesIO(b"x" * 10), "10", limits) == b"x" * 10


@pytest.mark.parametrize("ct", [None, "application/json", "text/html; charset=utf-8"])
def test_content_type_must_be_soap_1_1(ct: str | None) -> None:
    with pytest.raises(SoapFault) as exc:
        check_content_type(ct, Limits())
    assert exc.value.kind is FaultCode.CONTENT_TYPE
    check_content_type('text/xml; charset="utf-8"', Limits())


def test_a_fault_names_its_code_and_correlation_id() -> None:
    raw = fault_bytes(SoapFault(FaultCode.SCHEMA, "ENP: pattern", field="ENP", parent="PERSON"), "corr-1")
    root = etree.fromstring(raw)
    detail = root.find(f".//{{{COMMON_NS}}}FaultDetail")
    assert detail is not None
    values = {etree.QName(c).localname: c.text for c in detail}
    assert values == {
        "CODE": "REQ-002",
        "TEXT": "the request does not match the schema: ENP: pattern",
        "FIELD": "ENP",
        "PARENT": "PERSON",
        "CORRELATION_ID": "corr-1",
    }
    assert root.findtext(".//faultcode") == "soap:Client"
