"""Real СМЭВ 3 test-environment messages signed by CryptoPro systems (tests/data/smev3/README.md):
the ground truth no one on this project wrote. Every statement of that README is asserted here."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from lxml import etree

from rserz_soap.xmlsig import dsig
from rserz_soap.xmlsig.algorithms import get_signature_algorithm, public_key_from_certificate
from rserz_soap.xmlsig.c14n import DS_NS
from rserz_soap.xmlsig.gost.curves import CRYPTOPRO_XCHA
from rserz_soap.xmlsig.gost.sign import GostPublicKey
from rserz_soap.xmlsig.gost.xmldsig import GOST_256
from rserz_soap.xmlsig.smev import verify_signatures
from rserz_soap.xmlsig.smev_transform import namespace_aliases

DATA = Path(__file__).parent.parent / "data" / "smev3"
TYPES_11 = "urn://x-artefacts-smev-gov-ru/services/message-exchange/types/1.1"
TYPES_12 = "urn://x-artefacts-smev-gov-ru/services/message-exchange/types/1.2"


def _signatures(name: str) -> dict[str, Any]:
    root = etree.parse(str(DATA / name)).getroot()
    return {etree.QName(s.getparent()).localname: s for s in root.iter(f"{{{DS_NS}}}Signature")}


def _key(signature: Any) -> GostPublicKey:
    text = signature.find(f".//{{{DS_NS}}}X509Certificate").text
    key = public_key_from_certificate(x509.load_der_x509_certificate(base64.b64decode("".join(text.split()))))
    assert isinstance(key, GostPublicKey)
    return key


def test_smev_signature_of_the_gisgmp_response_verifies() -> None:
    signature = _signatures("gisgmp-reject-response.xml")["SMEVSignature"]
    key = _key(signature)
    assert key.param_oid == CRYPTOPRO_XCHA
    verified = dsig.verify(signature, public_key=key)
    assert verified.referenced_ids == ("SIGNED_BY_SMEV",) and verified.algorithm == GOST_256


def test_sender_signature_needs_the_explicit_namespace_alias() -> None:
    signature = _signatures("gisgmp-reject-response.xml")["SenderInformationSystemSignature"]
    with pytest.raises(dsig.SignatureError) as caught:
        dsig.verify(signature, public_key=_key(signature))
    assert caught.value.code == "digest_mismatch"  # as delivered (types/1.1), the sender's digest fails
    with namespace_aliases({TYPES_11: TYPES_12}):
        verified = dsig.verify(signature, public_key=_key(signature))
    assert verified.referenced_ids == ("Icd820751-9fd6-11ea-af75-0050568353ed",)
    with pytest.raises(dsig.SignatureError):  # the alias is scoped to its block, never left behind
        dsig.verify(signature, public_key=_key(signature))


@pytest.mark.parametrize("where", ["SenderInformationSystemSignature", "SMEVSignature"])
def test_edited_body_fails_on_its_reference_while_the_signature_value_holds(where: str) -> None:
    signature = _signatures("snils-response-edited-body.xml")[where]
    with pytest.raises(dsig.SignatureError) as caught:
        dsig.verify(signature, public_key=_key(signature))
    assert caught.value.code == "digest_mismatch"
    reports = {r.location: r for r in verify_signatures(signature)}
    report = reports[where]
    assert report.signature_ok and not report.ok
    assert [(ref.uri, ref.ok) for ref in report.references] == [
        ("#SIGNED_BY_CALLER" if where.startswith("Sender") else "#SIGNED_BY_SMEV", False)
    ]


def test_report_of_the_gisgmp_response() -> None:
    root = etree.parse(str(DATA / "gisgmp-reject-response.xml")).getroot()
    plain = {r.location: r for r in verify_signatures(root)}
    assert plain["SMEVSignature"].ok and not plain["SenderInformationSystemSignature"].ok
    aliased = {r.location: r for r in verify_signatures(root, namespace_aliases={TYPES_11: TYPES_12})}
    assert all(r.ok and r.signature_ok for r in aliased.values())
    assert aliased["SenderInformationSystemSignature"].references[0].aliased
    assert not aliased["SMEVSignature"].references[0].aliased  # per reference: СМЭВ signed 1.1 as is
    cert = aliased["SMEVSignature"].certificate
    assert cert is not None and "РТ Лабс" in cert.subject and not cert.valid_at_check_time  # expired 2020


def _json_signatures() -> list[dict[str, Any]]:
    return list(json.loads((DATA / "signatures.json").read_text(encoding="utf-8"))["signatures"])


@pytest.mark.parametrize("entry", _json_signatures(), ids=lambda e: f"{e['certificate_cn']}-{e['name']}")
def test_all_seven_signature_values_verify(entry: dict[str, Any]) -> None:
    certificate = x509.load_der_x509_certificate(base64.b64decode(entry["certificate_b64"]))
    key = public_key_from_certificate(certificate)
    method = get_signature_algorithm(GOST_256)
    value = base64.b64decode(entry["signature_value_b64"])
    signed_info = entry["signed_info_compact"].encode()
    assert method.verify(key, value, signed_info)
    assert not method.verify(key, value, signed_info.replace(b"><", b">\n<", 1))  # pretty-printed: no


def test_seven_signatures_are_listed() -> None:
    assert len(_json_signatures()) == 7
