"""The development PKI: layout, chain, CRL, idempotence and the manifest other tools read."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from rserz_soap.xmlsig import devpki
from rserz_soap.xmlsig.devpki import (
    DEFAULT_HUB_SPEC,
    IssuedCertificate,
    ParticipantSpec,
    folder_name,
    init_pki,
    issue_certificate,
    load_issued,
    revoke,
)

SMO = ParticipantSpec(kind="smo", code="45001", name="АО «Страховая компания» (тест)")
MO = ParticipantSpec(kind="mo", code="450012", name="ГБУ Городская больница №2", key_type="ec")
ISZL = ParticipantSpec(kind="iszl", code=None, name="ИС ЗЛ")
PARTICIPANTS = (SMO, MO, ISZL)
# The manifest is read by other teams' tooling: these keys are a public interface.
MANIFEST_KEYS = frozenset(
    {"kind", "code", "name", "folder", "subject", "serial", "sha256", "not_before", "not_after", "key_type"}
)


def _cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def _reason(crl: x509.CertificateRevocationList, serial: int) -> x509.ReasonFlags:
    entry = crl.get_revoked_certificate_by_serial_number(serial)
    assert entry is not None
    return entry.extensions.get_extension_for_class(x509.CRLReason).value.reason


def _crl(root: Path) -> x509.CertificateRevocationList:
    return x509.load_pem_x509_crl((root / "ca" / "crl.pem").read_bytes())


def _ca_public_key(root: Path) -> rsa.RSAPublicKey:
    key = _cert(root / "ca" / "cert.pem").public_key()
    assert isinstance(key, rsa.RSAPublicKey)
    return key


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.pem"))}


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[IssuedCertificate]]:
    """One generated PKI per module: RSA key generation is the slow part of these tests."""
    root = tmp_path_factory.mktemp("pki") / "pki"
    return root, init_pki(root, PARTICIPANTS)


@pytest.fixture
def pki(template: tuple[Path, list[IssuedCertificate]], tmp_path: Path) -> Path:
    """A private copy of the template for tests that change it (copy2 keeps the 0600 modes)."""
    root = tmp_path / "pki"
    shutil.copytree(template[0], root, copy_function=shutil.copy2)
    return root


def test_layout(template: tuple[Path, list[IssuedCertificate]]) -> None:
    root, issued = template
    for rel in ("ca/cert.pem", "ca/key.pem", "ca/crl.pem", "participants.json"):
        assert (root / rel).is_file(), rel
    folders = [item.folder.name for item in issued]
    assert folders == ["hub", "smo-45001", "mo-450012", "iszl"]
    for item in issued:
        assert item.folder == root / folder_name(item.spec)
        assert item.cert_path == item.folder / "cert.pem" and item.cert_path.is_file()
        assert item.key_path == item.folder / "key.pem" and item.key_path.is_file()
    assert issued[0].spec == DEFAULT_HUB_SPEC


def test_folder_name() -> None:
    assert folder_name(SMO) == "smo-45001"
    assert folder_name(MO) == "mo-450012"
    assert folder_name(ISZL) == "iszl"
    assert folder_name(ParticipantSpec("smev", None, "СМЭВ")) == "smev"
    assert folder_name(DEFAULT_HUB_SPEC) == "hub"


def test_ca_certificate(template: tuple[Path, list[IssuedCertificate]]) -> None:
    root, _ = template
    ca = _cert(root / "ca" / "cert.pem")
    ca.verify_directly_issued_by(ca)
    assert ca.subject == ca.issuer
    key = ca.public_key()
    assert isinstance(key, rsa.RSAPublicKey) and key.key_size == 3072
    assert isinstance(ca.signature_hash_algorithm, hashes.SHA256)
    bc = ca.extensions.get_extension_for_class(x509.BasicConstraints)
    assert bc.critical and bc.value.ca and bc.value.path_length == 0
    ku = ca.extensions.get_extension_for_class(x509.KeyUsage).value
    assert ku.key_cert_sign and ku.crl_sign and not ku.digital_signature
    assert ca.not_valid_after_utc - ca.not_valid_before_utc >= dt.timedelta(days=3650)


def test_participant_certificates_chain_to_ca(template: tuple[Path, list[IssuedCertificate]]) -> None:
    root, issued = template
    ca = _cert(root / "ca" / "cert.pem")
    ca_ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    for item in issued:
        cert = _cert(item.cert_path)
        cert.verify_directly_issued_by(ca)
        assert isinstance(cert.signature_hash_algorithm, hashes.SHA256)
        assert item.serial == cert.serial_number
        assert item.sha256 == cert.fingerprint(hashes.SHA256()).hex()
        assert item.subject == cert.subject.rfc4514_string()
        assert (item.not_before, item.not_after) == (cert.not_valid_before_utc, cert.not_valid_after_utc)
        assert item.not_after - item.not_before == dt.timedelta(days=825)
        assert item.not_before <= dt.datetime.now(dt.UTC) < item.not_after

        ext = cert.extensions
        bc = ext.get_extension_for_class(x509.BasicConstraints)
        assert bc.critical and not bc.value.ca
        ku = ext.get_extension_for_class(x509.KeyUsage).value
        assert ku.digital_signature and ku.content_commitment and not ku.key_cert_sign
        eku = ext.get_extension_for_class(x509.ExtendedKeyUsage).value
        assert set(eku) == {ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.SERVER_AUTH}
        ski = ext.get_extension_for_class(x509.SubjectKeyIdentifier).value
        assert ski == x509.SubjectKeyIdentifier.from_public_key(cert.public_key())
        aki = ext.get_extension_for_class(x509.AuthorityKeyIdentifier).value
        assert aki.key_identifier == ca_ski.digest
        (point,) = ext.get_extension_for_class(x509.CRLDistributionPoints).value
        assert point.full_name == [x509.UniformResourceIdentifier("http://127.0.0.1:8080/pki/crl.pem")]


def test_subject_names(template: tuple[Path, list[IssuedCertificate]]) -> None:
    _, issued = template
    by_folder = {item.folder.name: _cert(item.cert_path).subject for item in issued}

    def attr(name: x509.Name, oid: x509.ObjectIdentifier) -> list[str]:
        return [str(a.value) for a in name.get_attributes_for_oid(oid)]

    smo = by_folder["smo-45001"]
    assert attr(smo, NameOID.COMMON_NAME) == [SMO.name]
    assert attr(smo, NameOID.ORGANIZATION_NAME) == ["SMO 45001"]
    assert attr(smo, NameOID.ORGANIZATIONAL_UNIT_NAME) == ["45001"]
    assert attr(by_folder["mo-450012"], NameOID.ORGANIZATION_NAME) == ["MO 450012"]
    iszl = by_folder["iszl"]
    assert attr(iszl, NameOID.ORGANIZATION_NAME) == ["ISZL"]
    assert attr(iszl, NameOID.ORGANIZATIONAL_UNIT_NAME) == []


def test_key_types_and_private_keys_match(template: tuple[Path, list[IssuedCertificate]]) -> None:
    _, issued = template
    spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    for item in issued:
        pem = item.key_path.read_bytes()
        assert pem.startswith(b"-----BEGIN " + b"PRIVATE KEY-----")  # PKCS#8, unencrypted (split: not a key)
        key = serialization.load_pem_private_key(pem, password=None)
        assert key.public_key().public_bytes(*spki) == _cert(item.cert_path).public_key().public_bytes(*spki)
        if item.spec.key_type == "ec":
            assert isinstance(key, ec.EllipticCurvePrivateKey)
            assert isinstance(key.curve, ec.SECP256R1)
        else:
            assert isinstance(key, rsa.RSAPrivateKey) and key.key_size == 2048
    assert [i.spec.key_type for i in issued] == ["rsa", "rsa", "ec", "rsa"]


def test_key_files_are_private(template: tuple[Path, list[IssuedCertificate]]) -> None:
    root, issued = template
    for path in [root / "ca" / "key.pem", *(item.key_path for item in issued)]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE((root / "ca" / "cert.pem").stat().st_mode) == 0o644
    assert not list(root.rglob("*.tmp"))


def test_initial_crl(template: tuple[Path, list[IssuedCertificate]]) -> None:
    root, _ = template
    crl = _crl(root)
    assert crl.is_signature_valid(_ca_public_key(root))
    assert crl.issuer == _cert(root / "ca" / "cert.pem").subject
    assert len(crl) == 0
    assert crl.next_update_utc is not None
    assert crl.next_update_utc - crl.last_update_utc == dt.timedelta(days=30)
    assert isinstance(crl.signature_hash_algorithm, hashes.SHA256)


def test_revoke_adds_serial_and_resigns(pki: Path) -> None:
    smo = next(item for item in load_issued(pki) if item.spec == SMO)
    number_before = _crl(pki).extensions.get_extension_for_class(x509.CRLNumber).value.crl_number

    revoke(pki, smo.serial)

    crl = _crl(pki)
    assert crl.is_signature_valid(_ca_public_key(pki))
    assert _reason(crl, smo.serial) is x509.ReasonFlags.key_compromise
    assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == number_before + 1

    revoke(pki, smo.serial, x509.ReasonFlags.superseded)  # idempotent: the first entry stays
    revoke(pki, 12345, x509.ReasonFlags.unspecified)
    crl = _crl(pki)
    assert crl.is_signature_valid(_ca_public_key(pki))
    assert sorted(e.serial_number for e in crl) == sorted([smo.serial, 12345])
    assert _reason(crl, smo.serial) is x509.ReasonFlags.key_compromise
    unspecified = crl.get_revoked_certificate_by_serial_number(12345)
    assert unspecified is not None and len(unspecified.extensions) == 0


def test_rerun_keeps_ca_and_certificates(template: tuple[Path, list[IssuedCertificate]], pki: Path) -> None:
    before = _snapshot(pki)
    manifest_before = (pki / "participants.json").read_bytes()

    again = init_pki(pki, PARTICIPANTS)

    assert _snapshot(pki) == before  # CA, keys, certificates and CRL byte for byte
    assert (pki / "participants.json").read_bytes() == manifest_before
    assert [i.sha256 for i in again] == [i.sha256 for i in template[1]]
    assert [i.serial for i in again] == [i.serial for i in template[1]]


def test_rerun_issues_only_what_is_missing_or_unusable(pki: Path) -> None:
    before = {item.folder.name: item for item in load_issued(pki)}
    ca_before = (pki / "ca" / "cert.pem").read_bytes()
    revoke(pki, before["smo-45001"].serial)
    (pki / "iszl" / "key.pem").unlink()
    ferzl = ParticipantSpec("ferzl", None, "ФЕРЗЛ")
    renamed_mo = ParticipantSpec("mo", "450012", "ГБУ Больница №2 (новое имя)", key_type="ec")

    after = {item.folder.name: item for item in init_pki(pki, [SMO, renamed_mo, ISZL, ferzl])}

    assert (pki / "ca" / "cert.pem").read_bytes() == ca_before
    assert after["hub"].sha256 == before["hub"].sha256
    assert after["smo-45001"].serial != before["smo-45001"].serial  # revoked -> re-issued
    assert after["mo-450012"].sha256 != before["mo-450012"].sha256  # spec changed -> re-issued
    assert after["iszl"].sha256 != before["iszl"].sha256  # key lost -> re-issued
    assert after["ferzl"].cert_path.is_file()
    assert [i.folder.name for i in load_issued(pki)] == ["hub", "smo-45001", "mo-450012", "iszl", "ferzl"]


def test_rerun_renews_an_outdated_crl_and_keeps_its_entries(pki: Path) -> None:
    ca_cert = _cert(pki / "ca" / "cert.pem")
    ca_key = serialization.load_pem_private_key((pki / "ca" / "key.pem").read_bytes(), password=None)
    assert isinstance(ca_key, rsa.RSAPrivateKey)
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=60)
    entry = x509.RevokedCertificateBuilder().serial_number(4242).revocation_date(long_ago).build()
    stale = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca_cert.subject)
        .last_update(long_ago)
        .next_update(long_ago + dt.timedelta(days=30))
        .add_revoked_certificate(entry)
        .sign(ca_key, hashes.SHA256())
    )
    (pki / "ca" / "crl.pem").write_bytes(stale.public_bytes(serialization.Encoding.PEM))

    init_pki(pki, PARTICIPANTS)

    crl = _crl(pki)
    assert crl.is_signature_valid(_ca_public_key(pki))
    assert crl.next_update_utc is not None and crl.next_update_utc > dt.datetime.now(dt.UTC)
    assert [e.serial_number for e in crl] == [4242]


def test_force_replaces_ca_and_everything(pki: Path) -> None:
    old_ca = (pki / "ca" / "cert.pem").read_bytes()
    old = {item.folder.name: item.sha256 for item in load_issued(pki)}
    revoke(pki, 777)

    fresh = init_pki(pki, [SMO], force=True)

    ca = _cert(pki / "ca" / "cert.pem")
    assert ca.public_bytes(serialization.Encoding.PEM) != old_ca
    assert len(_crl(pki)) == 0 and _crl(pki).is_signature_valid(_ca_public_key(pki))
    for item in fresh:
        assert item.sha256 != old[item.folder.name]
        _cert(item.cert_path).verify_directly_issued_by(ca)


def test_manifest_round_trips(template: tuple[Path, list[IssuedCertificate]]) -> None:
    root, issued = template
    assert load_issued(root) == issued
    raw = json.loads((root / "participants.json").read_text(encoding="utf-8"))
    assert isinstance(raw, list) and len(raw) == len(issued)
    smo = raw[1]
    assert set(smo) == MANIFEST_KEYS
    assert (smo["kind"], smo["code"], smo["folder"], smo["key_type"]) == ("smo", "45001", "smo-45001", "rsa")
    assert smo["not_before"].endswith("Z") and len(smo["sha256"]) == 64
    assert raw[3]["code"] is None and raw[3]["folder"] == "iszl"


def test_issue_expired_certificate_into_side_folder(pki: Path) -> None:
    manifest_before = (pki / "participants.json").read_bytes()
    now = dt.datetime.now(dt.UTC)
    last_week, yesterday = now - dt.timedelta(days=10), now - dt.timedelta(days=1)
    expired = issue_certificate(pki, SMO, not_before=last_week, not_after=yesterday, folder="smo-expired")

    assert expired.folder == pki / "smo-expired"
    cert = _cert(expired.cert_path)
    cert.verify_directly_issued_by(_cert(pki / "ca" / "cert.pem"))
    assert cert.not_valid_after_utc < now
    assert stat.S_IMODE(expired.key_path.stat().st_mode) == 0o600
    assert (pki / "participants.json").read_bytes() == manifest_before

    future = issue_certificate(pki, SMO, not_before=now + dt.timedelta(days=1), folder="smo-future")
    assert future.not_after - future.not_before == dt.timedelta(days=825)


def test_issue_into_participant_folder_updates_manifest_and_is_replaced_when_expired(pki: Path) -> None:
    now = dt.datetime.now(dt.UTC)
    last_week, yesterday = now - dt.timedelta(days=10), now - dt.timedelta(days=1)
    expired = issue_certificate(pki, SMO, not_before=last_week, not_after=yesterday)
    assert expired.folder == pki / "smo-45001"
    by_folder = {item.folder.name: item for item in load_issued(pki)}
    assert by_folder["smo-45001"] == expired

    renewed = {item.folder.name: item for item in init_pki(pki, PARTICIPANTS)}["smo-45001"]
    assert renewed.serial != expired.serial and renewed.not_after > now


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "tfoms", "code": None, "name": "x"}, "kind"),
        ({"kind": "smo", "code": None, "name": "x"}, "needs a code"),
        ({"kind": "smo", "code": "../45", "name": "x"}, "code"),
        ({"kind": "hub", "code": "1", "name": "x"}, "hub"),
        ({"kind": "mo", "code": "450012", "name": "x", "key_type": "gost"}, "key type"),
        ({"kind": "mo", "code": "450012", "name": "x" * 201}, "1-200"),
    ],
)
def test_spec_validation(kwargs: dict[str, str | None], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ParticipantSpec(**kwargs)  # type: ignore[arg-type]


def test_argument_validation(pki: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="share the folder"):
        init_pki(pki, [SMO, SMO])
    with pytest.raises(ValueError, match="at most one hub"):
        init_pki(pki, [DEFAULT_HUB_SPEC, ParticipantSpec("hub", None, "other hub")])
    with pytest.raises(ValueError, match="timezone-aware"):
        issue_certificate(pki, SMO, not_before=dt.datetime(2030, 1, 1))
    with pytest.raises(ValueError, match="folder"):
        issue_certificate(pki, SMO, folder="../elsewhere")
    with pytest.raises(ValueError, match="folder"):
        issue_certificate(pki, SMO, folder="ca")
    with pytest.raises(FileNotFoundError):
        issue_certificate(tmp_path / "nowhere", SMO)
    with pytest.raises(FileNotFoundError):
        load_issued(tmp_path / "nowhere")


def test_half_written_ca_is_not_silently_replaced(pki: Path) -> None:
    (pki / "ca" / "key.pem").unlink()
    with pytest.raises(FileNotFoundError, match="force"):
        init_pki(pki, PARTICIPANTS)
    assert devpki.CRL_DISTRIBUTION_URL.endswith("/pki/crl.pem")


def test_a_long_cyrillic_name_fits_the_common_name(tmp_path: Path) -> None:
    """X.520 counts bytes: 40 Cyrillic letters are 80 bytes of UTF-8, cut to 64 on a letter boundary."""
    name = "Государственное бюджетное учреждение здравоохранения «Городская поликлиника № 1»"
    spec = ParticipantSpec("mo", "450001", name)
    (issued,) = [c for c in init_pki(tmp_path, [spec]) if c.spec.kind == "mo"]
    cn = (
        x509.load_pem_x509_certificate(issued.cert_path.read_bytes())
        .subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0]
        .value
    )
    assert len(str(cn).encode()) <= 64 and name.startswith(str(cn))
    again = [c for c in init_pki(tmp_path, [spec]) if c.spec.kind == "mo"]
    assert again[0].sha256 == issued.sha256  # a long name does not make every start re-issue the certificate
