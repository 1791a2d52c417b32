#!/usr/bin/env python3
"""The same call with no SOAP library: the envelope written as text, signed with python-xmlsec, posted with
requests, the answer's signature checked against the hub's certificate and read with lxml.

For integrators whose stack is not zeep (or not Python): this is every step the hub expects, in order.

    pip install -r examples/requirements.txt
    python examples/raw_client.py                        # identify Примерова Анна, then read her card
    python examples/raw_client.py --as smo-45002         # the same as an СМО that signs with ECDSA P-256

Defaults follow the hub's own settings: the URL from RSERZ_PORT (8080), the keys from RSERZ_VAR_DIR/pki.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import os
import sys
import uuid
from pathlib import Path
from xml.sax.saxutils import escape

import requests
import xmlsec
from lxml import etree

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
X509 = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3"
B64 = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary"
DS = "http://www.w3.org/2000/09/xmldsig#"
IDN = "urn:ru:rserz:soap:identification:v1"
CMN = "urn:ru:rserz:soap:common:v1"


def envelope(operation: str, cert_pem: bytes, ttl: int = 300) -> etree._Element:
    """A SOAP 1.1 envelope: Security header (token, Timestamp), the Body with an Id, not yet signed."""
    der = base64.b64encode(_der(cert_pem)).decode()
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    expires = now + dt.timedelta(seconds=ttl)
    ids = {
        "ts": f"TS-{uuid.uuid4().hex}",
        "body": f"id-{uuid.uuid4().hex}",
        "token": f"X509-{uuid.uuid4().hex}",
    }
    text = f"""<soap:Envelope xmlns:soap="{SOAP}" xmlns:wsse="{WSSE}" xmlns:wsu="{WSU}">
  <soap:Header>
    <wsse:Security soap:mustUnderstand="1">
      <wsse:BinarySecurityToken wsu:Id="{ids["token"]}" ValueType="{X509}" EncodingType="{B64}">{der}</wsse:BinarySecurityToken>
      <wsu:Timestamp wsu:Id="{ids["ts"]}">
        <wsu:Created>{now:%Y-%m-%dT%H:%M:%SZ}</wsu:Created>
        <wsu:Expires>{expires:%Y-%m-%dT%H:%M:%SZ}</wsu:Expires>
      </wsu:Timestamp>
    </wsse:Security>
  </soap:Header>
  <soap:Body wsu:Id="{ids["body"]}">{operation}</soap:Body>
</soap:Envelope>"""
    return etree.fromstring(text.encode())


def sign(env: etree._Element, key_pem: Path, cert_pem: Path) -> None:
    """Exclusive C14N, SHA-256 digests of the Body and the Timestamp, RSA-SHA256 or ECDSA-SHA256."""
    key = xmlsec.Key.from_file(str(key_pem), xmlsec.KeyFormat.PEM)
    method = xmlsec.constants.TransformEcdsaSha256 if _is_ec(key_pem) else xmlsec.constants.TransformRsaSha256
    security = env.find(f"{{{SOAP}}}Header/{{{WSSE}}}Security")
    signature = xmlsec.template.create(env, xmlsec.constants.TransformExclC14N, method, ns="ds")
    security.append(signature)
    for target in (env.find(f"{{{SOAP}}}Body"), security.find(f"{{{WSU}}}Timestamp")):
        ref = xmlsec.template.add_reference(
            signature, xmlsec.constants.TransformSha256, uri="#" + target.get(f"{{{WSU}}}Id")
        )
        xmlsec.template.add_transform(ref, xmlsec.constants.TransformExclC14N)
    # KeyInfo points at the BinarySecurityToken (WS-Security X.509 token profile)
    info = xmlsec.template.ensure_key_info(signature)
    str_ = etree.SubElement(info, f"{{{WSSE}}}SecurityTokenReference")
    token = security.find(f"{{{WSSE}}}BinarySecurityToken")
    reference = etree.SubElement(str_, f"{{{WSSE}}}Reference")
    reference.set("URI", "#" + token.get(f"{{{WSU}}}Id"))
    reference.set("ValueType", X509)
    ctx = xmlsec.SignatureContext()
    ctx.key = key
    for node in (env.find(f"{{{SOAP}}}Body"), security.find(f"{{{WSU}}}Timestamp")):
        ctx.register_id(node, "Id", WSU)
    ctx.sign(signature)


def verify(answer: etree._Element, hub_cert: Path) -> None:
    """The answer's signature checked with the hub's certificate, every reference's target registered."""
    signature = answer.find(f".//{{{DS}}}Signature")
    if signature is None:
        raise SystemExit(
            "the answer is not signed: not from the hub (or a refusal before the gate trusted us)"
        )
    ctx = xmlsec.SignatureContext()
    ctx.key = xmlsec.Key.from_file(str(hub_cert), xmlsec.KeyFormat.CERT_PEM)
    for node in answer.iter():
        if node.get(f"{{{WSU}}}Id"):
            ctx.register_id(node, "Id", WSU)
    ctx.verify(signature)  # raises xmlsec.VerificationError
    body_id = answer.find(f"{{{SOAP}}}Body").get(f"{{{WSU}}}Id")
    uris = {r.get("URI") for r in signature.iter(f"{{{DS}}}Reference")}
    if "#" + body_id not in uris:
        raise SystemExit("the answer's signature does not cover its Body")


def call(url: str, pki: Path, participant: str, service: str, operation: str) -> etree._Element:
    folder = pki / participant
    env = envelope(operation, (folder / "cert.pem").read_bytes())
    sign(env, folder / "key.pem", folder / "cert.pem")
    resp = requests.post(
        f"{url}/soap/{service}",
        data=etree.tostring(env, xml_declaration=True, encoding="UTF-8"),
        headers={"Content-Type": "text/xml; charset=utf-8"},
        timeout=30,
    )
    answer = etree.fromstring(resp.content)
    if resp.status_code != 200:
        code = answer.findtext(f".//{{{CMN}}}CODE")
        raise SystemExit(f"refused: {code} {answer.findtext('.//faultstring')}")
    verify(answer, pki / "hub" / "cert.pem")
    return answer.find(f"{{{SOAP}}}Body")[0]


def main(argv: list[str] | None = None) -> int:
    var = Path(os.environ.get("RSERZ_VAR_DIR", "var"))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=f"http://127.0.0.1:{os.environ.get('RSERZ_PORT', '8080')}")
    parser.add_argument("--pki", type=Path, default=var / "pki")
    parser.add_argument("--as", dest="participant", default="mo-450001")
    parser.add_argument("--fam", default="Примерова")
    parser.add_argument("--im", default="Анна")
    parser.add_argument("--ot", default="Сергеевна")
    parser.add_argument("--dr", default="1985-04-12")
    args = parser.parse_args(argv)

    ot = f"<idn:OT>{escape(args.ot)}</idn:OT>" if args.ot else ""
    identify = (
        f'<idn:identifyPerson xmlns:idn="{IDN}"><idn:FIO><idn:FAM>{escape(args.fam)}</idn:FAM>'
        f"<idn:IM>{escape(args.im)}</idn:IM>{ot}<idn:DR>{escape(args.dr)}</idn:DR></idn:FIO></idn:identifyPerson>"
    )
    found = call(args.url, args.pki, args.participant, "identification", identify)
    enp = found.findtext(f"{{{IDN}}}ZL/{{{IDN}}}ENP")
    if enp is None:
        print(
            f"not identified: {found.findtext(f'{{{CMN}}}ERR_CODE')} {found.findtext(f'{{{CMN}}}ERR_TEXT')}"
        )
        return 1
    card = call(
        args.url,
        args.pki,
        args.participant,
        "identification",
        f'<idn:getPersonData xmlns:idn="{IDN}"><idn:ENP>{enp}</idn:ENP></idn:getPersonData>',
    )
    zl = card.find(f"{{{IDN}}}ZL")
    person = zl.find(f"{{{IDN}}}PERSON")
    name = " ".join(person.findtext(f"{{{CMN}}}{part}") or "" for part in ("FAM", "IM", "OT")).strip()
    smo = zl.findtext(f"{{{IDN}}}INSURANCE/{{{CMN}}}SMOCOD") or "—"
    print(
        f"identified: ЕНП {enp} {name} {person.findtext(f'{{{CMN}}}DR')} {zl.findtext(f'{{{IDN}}}STATUS')} СМО {smo}"
    )
    return 0


def _der(cert_pem: bytes) -> bytes:
    lines = [ln for ln in cert_pem.decode().splitlines() if ln and not ln.startswith("-----")]
    return base64.b64decode("".join(lines))


def _is_ec(key: Path) -> bool:
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    return isinstance(load_pem_private_key(key.read_bytes(), None), ec.EllipticCurvePrivateKey)


if __name__ == "__main__":
    sys.exit(main())
