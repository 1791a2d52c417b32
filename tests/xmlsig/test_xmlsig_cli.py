"""`rserz xmlsig verify` / `sign`: per-signature reports, exit codes, and round trips — no database."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import etree

from rserz_soap.cli import main
from rserz_soap.xmlsig import dsig, wsse
from rserz_soap.xmlsig.c14n import DS_NS
from rserz_soap.xmlsig.devpki import ParticipantSpec, init_pki
from rserz_soap.xmlsig.gost.sign import GostPublicKey
from rserz_soap.xmlsig.keys import load_keypair

DATA = Path(__file__).parent.parent / "data" / "smev3"
ALIAS = (
    "urn://x-artefacts-smev-gov-ru/services/message-exchange/types/1.1="
    "urn://x-artefacts-smev-gov-ru/services/message-exchange/types/1.2"
)
REQUEST = b"""<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>
<m:SendRequestRequest xmlns:m="urn://x-artefacts-smev-gov-ru/services/message-exchange/types/1.2">
<m:SenderProvidedRequestData Id="SIGNED_BY_CALLER"><m:MessageID>1</m:MessageID>
<m:Text>a &amp; b &lt; c</m:Text></m:SenderProvidedRequestData></m:SendRequestRequest></soap:Body></soap:Envelope>"""


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["xmlsig", *args])
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def gost_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("pki") / "pki"
    init_pki(root, [ParticipantSpec("smo", "45001", "СМО")])
    return root / "smo-45001" / "gost" / "key.pem", root / "smo-45001" / "gost" / "cert.pem"


def test_verify_reports_each_signature_separately() -> None:
    code, out = _run("verify", str(DATA / "gisgmp-reject-response.xml"))
    assert code == 1  # the sender's digest fails as delivered
    assert "signature 1 of 2 in SenderInformationSystemSignature" in out
    assert "reference #Icd820751-9fd6-11ea-af75-0050568353ed: digest MISMATCH" in out
    assert "signature 2 of 2 in SMEVSignature" in out and "reference #SIGNED_BY_SMEV: digest ok" in out
    assert out.count("signature value: ok") == 2
    assert "certificate subject: CN=Федеральное казначейство" in out
    assert "UTC: NOT VALID at" in out  # expired, reported apart from the mathematics
    assert "1 of 2 signatures verify" in out


def test_verify_with_the_namespace_alias() -> None:
    code, out = _run("verify", "--smev", "--ns-alias", ALIAS, str(DATA / "gisgmp-reject-response.xml"))
    assert code == 0, out
    assert "digest ok (only with the --ns-alias namespaces)" in out and "2 of 2 signatures verify" in out
    code, out = _run(
        "verify", "--require-valid-cert", "--ns-alias", ALIAS, str(DATA / "gisgmp-reject-response.xml")
    )
    assert code == 1  # the mathematics holds, the certificates expired in 2020-2021
    code, _ = _run(
        "verify",
        "--at",
        "2020-06-01",
        "--require-valid-cert",
        "--ns-alias",
        ALIAS,
        str(DATA / "gisgmp-reject-response.xml"),
    )
    assert code == 0


def test_verify_names_the_failing_references_of_the_edited_message() -> None:
    code, out = _run("verify", str(DATA / "snils-response-edited-body.xml"))
    assert code == 1
    assert "reference #SIGNED_BY_CALLER: digest MISMATCH" in out
    assert "reference #SIGNED_BY_SMEV: digest MISMATCH" in out
    assert out.count("signature value: ok") == 2 and "0 of 2 signatures verify" in out


def test_verify_without_signatures_and_bad_alias(tmp_path: Path) -> None:
    plain = tmp_path / "plain.xml"
    plain.write_bytes(b"<a/>")
    assert _run("verify", str(plain))[0] == 2
    code, out = _run("verify", "--ns-alias", "nonsense", str(plain))
    assert code == 2 and "FROM=TO" in out


def test_sign_smev_profile_round_trip(tmp_path: Path, gost_pair: tuple[Path, Path]) -> None:
    source, signed = tmp_path / "request.xml", tmp_path / "signed.xml"
    source.write_bytes(REQUEST)
    key, cert = gost_pair
    code, out = _run("sign", str(source), "--key", str(key), "--cert", str(cert), "-o", str(signed))
    assert code == 0, out
    root = etree.parse(str(signed)).getroot()
    signature = root.find(f".//{{*}}CallerInformationSystemSignature/{{{DS_NS}}}Signature")
    assert signature is not None  # created after SenderProvidedRequestData, in its parent's namespace
    assert signature.getparent().getprevious().get("Id") == "SIGNED_BY_CALLER"
    public = load_keypair(key, cert).private_key.public_key()  # type: ignore[attr-defined]
    assert isinstance(public, GostPublicKey)
    assert dsig.verify(signature, public_key=public).referenced_ids == ("SIGNED_BY_CALLER",)
    code, out = _run("verify", "--smev", "--require-valid-cert", str(signed))
    assert code == 0, out
    tampered = tmp_path / "tampered.xml"
    tampered.write_bytes(signed.read_bytes().replace(b"<m:MessageID>1<", b"<m:MessageID>2<"))
    code, out = _run("verify", str(tampered))
    assert code == 1 and "reference #SIGNED_BY_CALLER: digest MISMATCH" in out


def test_sign_into_an_existing_element_under_another_ds_prefix(
    tmp_path: Path, gost_pair: tuple[Path, Path]
) -> None:
    """The caution of the fixtures' README: ancestors bind the XMLDSig namespace to another prefix."""
    source, signed = tmp_path / "request.xml", tmp_path / "signed.xml"
    source.write_bytes(
        REQUEST.replace(
            b"<soap:Body>", b'<soap:Body xmlns:dsig="http://www.w3.org/2000/09/xmldsig#">'
        ).replace(b"</m:SenderProvidedRequestData>", b"</m:SenderProvidedRequestData><m:Holder/>")
    )
    key, cert = gost_pair
    code, out = _run(
        "sign", str(source), "--key", str(key), "--cert", str(cert), "--into", "Holder", "-o", str(signed)
    )
    assert code == 0, out
    assert _run("verify", str(signed))[0] == 0


def test_sign_wsse_profile(tmp_path: Path, gost_pair: tuple[Path, Path]) -> None:
    source, signed = tmp_path / "envelope.xml", tmp_path / "signed.xml"
    source.write_bytes(REQUEST)
    key, cert = gost_pair
    code, out = _run(
        "sign", "--profile", "wsse", str(source), "--key", str(key), "--cert", str(cert), "-o", str(signed)
    )
    assert code == 0, out
    verified = wsse.verify_envelope(etree.parse(str(signed)).getroot())
    assert verified.signed_body and verified.signed_timestamp
    assert _run("verify", str(signed))[0] == 0


def test_sign_refuses_an_rsa_key_for_the_smev_profile(tmp_path: Path) -> None:
    root = tmp_path / "pki"
    init_pki(root, [])
    source = tmp_path / "request.xml"
    source.write_bytes(REQUEST)
    code, out = _run(
        "sign", str(source), "--key", str(root / "hub" / "key.pem"), "--cert", str(root / "hub" / "cert.pem")
    )
    assert code == 1 and "GOST" in out
    assert not (tmp_path / "signed.xml").exists()
    shutil.rmtree(root)
