"""A real zeep client signing and verifying with our core (rserz_soap.xmlsig.zeep_plugin).

The "hub" here is a function behind a zeep transport: it verifies the request with ``verify_envelope``
and the trust store, answers from the verified Body, and signs its answer — so both directions of the
plugin run through zeep's own request/response path, with no network.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
import zeep
import zeep.exceptions
from cryptography.hazmat.primitives import hashes
from lxml import etree

from rserz_soap.xmlsig import devpki
from rserz_soap.xmlsig.keys import KeyPair, load_keypair
from rserz_soap.xmlsig.trust import TrustError, TrustStore
from rserz_soap.xmlsig.wsse import SOAP11_NS, WsseError, sign_envelope, verify_envelope
from rserz_soap.xmlsig.zeep_plugin import WsseSigner

WSDL = Path(__file__).parent.parent / "data" / "wsse" / "echo.wsdl"
ECHO = "urn:rserz:test:echo"


@pytest.fixture(scope="module")
def foreign_pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("foreign")
    devpki.init_pki(root, [])
    return root


def _keypair(root: Path, folder: str) -> KeyPair:
    return load_keypair(root / folder / "key.pem", root / folder / "cert.pem")


@dataclass
class FakeHub:
    """Verifies like the hub will, answers ``EchoResponse``; what it answers with is configurable."""

    trust: TrustStore
    signer: KeyPair | None
    tamper: bool = False
    fault: bool = False
    seen: list[str] = field(default_factory=list)  # sha256 of every verified request certificate

    def __call__(self, request: bytes) -> tuple[int, bytes]:
        envelope = etree.fromstring(request)
        verified = verify_envelope(envelope)
        self.trust.validate(verified.certificate, dt.datetime.now(dt.UTC))
        self.seen.append(verified.certificate.fingerprint(hashes.SHA256()).hex())
        echo = verified.body[0]  # read from the verified element, never by path
        return (500, _fault()) if self.fault else (200, self._answer(echo))

    def _answer(self, echo: Any) -> bytes:
        response = etree.fromstring(
            f'<soap:Envelope xmlns:soap="{SOAP11_NS}"><soap:Body>'
            f'<e:EchoResponse xmlns:e="{ECHO}"><e:FAM/><e:IM/></e:EchoResponse>'
            "</soap:Body></soap:Envelope>".encode()
        )
        answer = response[0][0]
        answer[0].text = echo.findtext(f"{{{ECHO}}}FAM")
        answer[1].text = echo.findtext(f"{{{ECHO}}}IM")
        if self.signer is not None:
            sign_envelope(response, self.signer)
        if self.tamper:
            answer[0].text = "Подменено"
        return bytes(etree.tostring(response, xml_declaration=True, encoding="utf-8"))


def _fault() -> bytes:
    return (
        f'<soap:Envelope xmlns:soap="{SOAP11_NS}"><soap:Body><soap:Fault>'
        "<faultcode>soap:Client</faultcode><faultstring>refused by the front</faultstring>"
        "</soap:Fault></soap:Body></soap:Envelope>"
    ).encode()


class _Transport(zeep.Transport):  # type: ignore[misc]  # zeep is untyped
    """Hands the serialised request to ``handler`` instead of the network."""

    def __init__(self, handler: Callable[[bytes], tuple[int, bytes]]) -> None:
        super().__init__()
        self.handler = handler

    def post_xml(self, address: str, envelope: Any, headers: dict[str, str]) -> requests.Response:
        status, content = self.handler(etree.tostring(envelope))
        response = requests.Response()
        response.status_code = status
        response._content = content
        response.headers["Content-Type"] = "text/xml; charset=utf-8"
        response.encoding = "utf-8"
        return response


def _client(handler: Callable[[bytes], tuple[int, bytes]], signer: WsseSigner) -> Any:
    return zeep.Client(str(WSDL), transport=_Transport(handler), wsse=signer)


@pytest.fixture
def smo(pki: Path) -> KeyPair:
    return _keypair(pki, "smo-45001")


@pytest.fixture
def hub(pki: Path) -> KeyPair:
    return _keypair(pki, "hub")


def test_zeep_signs_requests_and_verifies_responses(pki: Path, smo: KeyPair, hub: KeyPair) -> None:
    server = FakeHub(TrustStore.from_pki_dir(pki), signer=hub)
    signer = WsseSigner(
        smo, trust=TrustStore.from_pki_dir(pki), expected_signers={hub.certificate_sha256.upper()}
    )
    result = _client(server, signer).service.Echo(FAM="Иванова", IM="Мария")
    assert (result.FAM, result.IM) == ("Иванова", "Мария")
    assert server.seen == [smo.certificate_sha256]


def test_a_response_signed_by_another_participant_is_refused_when_pinned(
    pki: Path, smo: KeyPair, hub: KeyPair
) -> None:
    server = FakeHub(TrustStore.from_pki_dir(pki), signer=_keypair(pki, "mo-450012"))
    signer = WsseSigner(smo, trust=TrustStore.from_pki_dir(pki), expected_signers={hub.certificate_sha256})
    with pytest.raises(WsseError) as info:
        _client(server, signer).service.Echo(FAM="Иванова", IM="Мария")
    assert info.value.code == "unexpected_signer"


def test_a_response_signed_under_another_ca_is_untrusted(pki: Path, foreign_pki: Path, smo: KeyPair) -> None:
    server = FakeHub(TrustStore.from_pki_dir(pki), signer=_keypair(foreign_pki, "hub"))
    signer = WsseSigner(smo, trust=TrustStore.from_pki_dir(pki))
    with pytest.raises(TrustError) as info:
        _client(server, signer).service.Echo(FAM="Иванова", IM="Мария")
    assert info.value.code == "untrusted_issuer"


def test_a_tampered_response_is_refused(pki: Path, smo: KeyPair, hub: KeyPair) -> None:
    server = FakeHub(TrustStore.from_pki_dir(pki), signer=hub, tamper=True)
    signer = WsseSigner(smo, trust=TrustStore.from_pki_dir(pki))
    with pytest.raises(WsseError) as info:
        _client(server, signer).service.Echo(FAM="Иванова", IM="Мария")
    assert info.value.code == "digest_mismatch"


def test_an_unsigned_response_is_refused(pki: Path, smo: KeyPair) -> None:
    server = FakeHub(TrustStore.from_pki_dir(pki), signer=None)
    signer = WsseSigner(smo, trust=TrustStore.from_pki_dir(pki))
    with pytest.raises(WsseError) as info:
        _client(server, signer).service.Echo(FAM="Иванова", IM="Мария")
    assert info.value.code == "no_security"


def test_unsigned_faults_pass_only_when_allowed(pki: Path, smo: KeyPair) -> None:
    server = FakeHub(TrustStore.from_pki_dir(pki), signer=None, fault=True)
    strict = WsseSigner(smo, trust=TrustStore.from_pki_dir(pki))
    with pytest.raises(WsseError):
        _client(server, strict).service.Echo(FAM="Иванова", IM="Мария")
    lenient = WsseSigner(smo, trust=TrustStore.from_pki_dir(pki), accept_unsigned_faults=True)
    with pytest.raises(zeep.exceptions.Fault, match="refused by the front"):
        _client(server, lenient).service.Echo(FAM="Иванова", IM="Мария")


def test_verification_can_be_switched_off(pki: Path, smo: KeyPair) -> None:
    server = FakeHub(TrustStore.from_pki_dir(pki), signer=None)
    signer = WsseSigner(smo, verify_response=False)
    assert _client(server, signer).service.Echo(FAM="Иванова", IM="Мария").FAM == "Иванова"


def test_verifying_without_trust_or_pin_is_refused(smo: KeyPair) -> None:
    with pytest.raises(ValueError, match="trust store or pinned"):
        WsseSigner(smo)


def test_verify_envelope_returns_the_verified_body(pki: Path, smo: KeyPair, hub: KeyPair) -> None:
    response = etree.fromstring(
        FakeHub(TrustStore.from_pki_dir(pki), signer=hub)._answer(
            etree.fromstring(
                f'<e:EchoRequest xmlns:e="{ECHO}"><e:FAM>А</e:FAM><e:IM>Б</e:IM></e:EchoRequest>'
            )
        )
    )
    signer = WsseSigner(smo, expected_signers=[hub.certificate_sha256])
    verified = signer.verify_envelope(response)
    assert verified.body is response[1]
    assert signer.verify(response) is response
