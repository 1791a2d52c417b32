"""A client that shares nothing with the hub: stock zeep's xmlsec ``BinarySignature`` (RSA-SHA256,
SHA-256 digests, a signed Timestamp) and raw XML over ``requests``, the answer's signature checked by
xmlsec against the hub's certificate. What an СМО or МО integrator would write."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import requests
from lxml import etree  # type: ignore[import-untyped, unused-ignore]

ENV = "http://schemas.xmlsoap.org/soap/envelope/"
CMN = "urn:ru:rserz:soap:common:v1"
SERVICES = {
    "urn:ru:rserz:soap:identification:v1": "identification",
    "urn:ru:rserz:soap:register:v1": "register",
    "urn:ru:rserz:soap:changes:v1": "changes",
    "urn:ru:rserz:soap:attachment:v1": "attachment",
}


def call(url: str, pki: Path, folder: str, operation: str | Any) -> tuple[int, Any]:
    """Sign ``operation`` (XML text or an element) as participant ``folder`` of ``pki`` and post it;
    returns the HTTP status and the answer's Body child, after checking the hub's signature on it."""
    xmlsec = pytest.importorskip("xmlsec", reason="the xmlsec wheel is needed for the independent client")
    from zeep.wsse.signature import BinarySignature
    from zeep.wsse.utils import WSU, get_security_header, get_timestamp

    element = etree.fromstring(operation.encode()) if isinstance(operation, str) else operation
    envelope = etree.fromstring(
        f'<soap:Envelope xmlns:soap="{ENV}"><soap:Header/><soap:Body/></soap:Envelope>'
    )
    envelope[1].append(element)
    now = dt.datetime.now(dt.UTC)
    get_security_header(envelope).append(
        WSU.Timestamp(
            WSU.Created(get_timestamp(now, zulu_timestamp=True)),
            WSU.Expires(get_timestamp(now + dt.timedelta(minutes=5), zulu_timestamp=True)),
        )
    )
    ec = _is_ec(pki / folder / "key.pem")
    BinarySignature(
        str(pki / folder / "key.pem"),
        str(pki / folder / "cert.pem"),
        signature_method=xmlsec.constants.TransformEcdsaSha256 if ec else xmlsec.constants.TransformRsaSha256,
        digest_method=xmlsec.constants.TransformSha256,
    ).apply(envelope, {})
    service = SERVICES[etree.QName(element).namespace]
    resp = requests.post(
        f"{url}/soap/{service}",
        data=etree.tostring(envelope),
        headers={"Content-Type": "text/xml; charset=utf-8"},
        timeout=30,
    )
    answer = etree.fromstring(resp.content)
    BinarySignature(str(pki / "hub" / "key.pem"), str(pki / "hub" / "cert.pem")).verify(answer)
    return resp.status_code, answer.find(f"{{{ENV}}}Body")[0]


def _is_ec(path: Path) -> bool:
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    return isinstance(load_pem_private_key(path.read_bytes(), None), ec.EllipticCurvePrivateKey)


def fault_code(body: Any) -> str | None:
    code = body.findtext(f".//{{{CMN}}}CODE")
    return None if code is None else str(code)


def err_code(body: Any) -> str | None:
    code = body.findtext(f"{{{CMN}}}ERR_CODE")
    return None if code is None else str(code)
