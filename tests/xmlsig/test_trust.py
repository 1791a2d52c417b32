"""X.509 trust (rserz_soap.xmlsig.trust) and key loading (rserz_soap.xmlsig.keys) on a devpki tree."""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from rserz_soap.xmlsig import devpki, keys
from rserz_soap.xmlsig.devpki import IssuedCertificate, ParticipantSpec
from rserz_soap.xmlsig.keys import KeyPair, load_keypair
from rserz_soap.xmlsig.trust import TrustError, TrustStore

SMO = ParticipantSpec("smo", "45001", "СМО Тест", "rsa")
MO = ParticipantSpec("mo", "450012", "МО Тест", "ec")


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pki")
    devpki.init_pki(root, [SMO, MO])
    return root


@pytest.fixture(scope="module")
def other_pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("other-pki")
    devpki.init_pki(root, [SMO])
    return root


def _cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def _issued(pki: Path, folder: str) -> x509.Certificate:
    return _cert(pki / folder / "cert.pem")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _code(store: TrustStore, cert: x509.Certificate, at: dt.datetime | None = None) -> str:
    with pytest.raises(TrustError) as info:
        store.validate(cert, at or _now())
    return info.value.code


# --- trust ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("folder", ["smo-45001", "mo-450012", "hub"])
def test_a_valid_certificate(pki: Path, folder: str) -> None:
    TrustStore.from_pki_dir(pki).validate(_issued(pki, folder), _now())


def test_a_certificate_from_another_ca(pki: Path, other_pki: Path) -> None:
    foreign = _issued(other_pki, "smo-45001")
    assert foreign.issuer == _issued(pki, "smo-45001").issuer  # same CA name, different key
    assert _code(TrustStore.from_pki_dir(pki), foreign) == "untrusted_issuer"


def test_a_self_made_certificate_naming_our_ca_as_issuer(pki: Path) -> None:
    ca = _cert(pki / "ca" / "cert.pem")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = (
        x509.CertificateBuilder()
        .subject_name(x509.Name.from_rfc4514_string("CN=Forged"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - dt.timedelta(days=1))
        .not_valid_after(_now() + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    assert _code(TrustStore.from_pki_dir(pki), forged) == "untrusted_issuer"


def test_expired(pki: Path) -> None:
    issued = devpki.issue_certificate(
        pki,
        SMO,
        not_before=_now() - dt.timedelta(days=900),
        not_after=_now() - dt.timedelta(days=1),
        folder="smo-45001-expired",
    )
    store = TrustStore.from_pki_dir(pki)
    assert _code(store, _cert(issued.cert_path)) == "expired"
    store.validate(_cert(issued.cert_path), _now() - dt.timedelta(days=2))  # valid when it was used


def test_not_yet_valid(pki: Path) -> None:
    issued = devpki.issue_certificate(
        pki, MO, not_before=_now() + dt.timedelta(days=1), folder="mo-450012-future"
    )
    assert _code(TrustStore.from_pki_dir(pki), _cert(issued.cert_path)) == "not_yet_valid"


def test_revoked(pki: Path) -> None:
    issued = devpki.issue_certificate(
        pki, SMO, not_before=_now() - dt.timedelta(days=1), folder="smo-45001-revoked"
    )
    cert = _cert(issued.cert_path)
    TrustStore.from_pki_dir(pki).validate(cert, _now())
    devpki.revoke(pki, issued.serial)
    store = TrustStore.from_pki_dir(pki)  # the CRL is read when the store is built
    assert _code(store, cert, _now() + dt.timedelta(seconds=1)) == "revoked"
    store.validate(cert, _now() - dt.timedelta(hours=1))  # a signature made before the revocation


def test_a_ca_certificate_cannot_sign_messages(pki: Path) -> None:
    assert _code(TrustStore.from_pki_dir(pki), _cert(pki / "ca" / "cert.pem")) == "bad_key_usage"


def test_key_usage_without_digital_signature(pki: Path) -> None:
    cert = _issue_with_key_usage(pki, digital_signature=False, content_commitment=False)
    assert _code(TrustStore.from_pki_dir(pki), cert) == "bad_key_usage"
    TrustStore.from_pki_dir(pki).validate(_issue_with_key_usage(pki, False, True), _now())


def _issue_with_key_usage(pki: Path, digital_signature: bool, content_commitment: bool) -> x509.Certificate:
    ca = _cert(pki / "ca" / "cert.pem")
    ca_key = serialization.load_pem_private_key((pki / "ca" / "key.pem").read_bytes(), password=None)
    assert isinstance(ca_key, rsa.RSAPrivateKey)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name.from_rfc4514_string("CN=Encryption only"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - dt.timedelta(days=1))
        .not_valid_after(_now() + dt.timedelta(days=1))
        .add_extension(
            x509.KeyUsage(
                digital_signature=digital_signature,
                content_commitment=content_commitment,
                key_encipherment=True,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )


def test_a_stale_crl_is_used_and_reported_once(pki: Path, caplog: pytest.LogCaptureFixture) -> None:
    issued = devpki.issue_certificate(pki, SMO, folder="smo-45001-stale")
    devpki.revoke(pki, issued.serial)
    store = TrustStore.from_pki_dir(pki)
    later = _now() + dt.timedelta(days=devpki.CRL_VALIDITY_DAYS + 10)
    with caplog.at_level(logging.WARNING, logger="rserz_soap.xmlsig.trust"):
        assert _code(store, _cert(issued.cert_path), later) == "revoked"
        store.validate(_issued(pki, "smo-45001"), later)
    stale = [r for r in caplog.records if "stale" in r.getMessage()]
    assert len(stale) == 1


def test_a_crl_signed_by_another_ca_is_refused(pki: Path, other_pki: Path) -> None:
    foreign_crl = x509.load_pem_x509_crl((other_pki / "ca" / "crl.pem").read_bytes())
    with pytest.raises(ValueError, match="not signed by a trusted CA"):
        TrustStore([_cert(pki / "ca" / "cert.pem")], [foreign_crl])


def test_without_a_crl_revocation_is_not_checked_and_said_so(
    pki: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "ca").mkdir()
    shutil.copy(pki / "ca" / "cert.pem", tmp_path / "ca" / "cert.pem")
    with caplog.at_level(logging.WARNING, logger="rserz_soap.xmlsig.trust"):
        store = TrustStore.from_pki_dir(tmp_path)
    assert "revocation is not checked" in caplog.text
    store.validate(_issued(pki, "smo-45001"), _now())


def test_two_anchors_in_one_bundle(pki: Path, other_pki: Path, tmp_path: Path) -> None:
    (tmp_path / "ca").mkdir()
    bundle = (pki / "ca" / "cert.pem").read_bytes() + (other_pki / "ca" / "cert.pem").read_bytes()
    (tmp_path / "ca" / "cert.pem").write_bytes(bundle)
    shutil.copy(other_pki / "ca" / "crl.pem", tmp_path / "ca" / "crl.pem")
    store = TrustStore.from_pki_dir(tmp_path)
    assert len(store.ca_certs) == 2
    store.validate(_issued(pki, "smo-45001"), _now())
    store.validate(_issued(other_pki, "smo-45001"), _now())


def test_naive_time_and_empty_store_are_programming_errors(pki: Path) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        TrustStore.from_pki_dir(pki).validate(_issued(pki, "hub"), dt.datetime.now())
    with pytest.raises(ValueError, match="at least one CA"):
        TrustStore([])


# --- keys (loaded once per process) ---------------------------------------------------------------------


def test_a_key_pair_is_parsed_once_and_reloaded_when_replaced(pki: Path) -> None:
    keys.clear_cache()
    issued = devpki.issue_certificate(pki, SMO, folder="smo-45001-keys")
    first = load_keypair(issued.key_path, issued.cert_path)
    assert load_keypair(issued.key_path, issued.cert_path) is first
    assert first.certificate_sha256 == issued.sha256
    assert first.certificate_der == _cert(issued.cert_path).public_bytes(serialization.Encoding.DER)
    reissued = devpki.issue_certificate(pki, SMO, folder="smo-45001-keys")  # atomic replace: new inode
    second = load_keypair(str(reissued.key_path), os.fspath(reissued.cert_path))
    assert second is not first
    assert second.certificate_sha256 == reissued.sha256


def test_a_key_that_is_not_the_certificates_is_refused(pki: Path) -> None:
    smo: IssuedCertificate = devpki.load_issued(pki)[1]
    with pytest.raises(ValueError, match="does not belong"):
        KeyPair.from_pem((pki / "hub" / "key.pem").read_bytes(), smo.cert_path.read_bytes())


def test_a_long_crl_is_read_once_and_answers_as_cryptography_does(pki: Path, tmp_path: Path) -> None:
    """A region's CRL can list tens of thousands of serials: the store reads each CRL's entries once, so a
    check costs a lookup, not a scan of the list (≈ 0.5 ms at 10,000 entries with cryptography's own
    search), and answers as that search does — the first entry of a serial listed twice counts."""
    copy = tmp_path / "pki"
    shutil.copytree(pki, copy)
    ca = load_keypair(copy / "ca" / "key.pem", copy / "ca" / "cert.pem")
    good, revoked = _issued(copy, "smo-45001"), _issued(copy, "mo-450012")
    now = _now()
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca.certificate.subject)
        .last_update(now - dt.timedelta(hours=1))
        .next_update(now + dt.timedelta(days=1))
    )
    serials = [10**9 + i for i in range(20_000)]
    serials.insert(10_000, revoked.serial_number)
    for serial in serials:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(serial)
            .revocation_date(now + dt.timedelta(minutes=1))
            .build()
        )
    builder = builder.add_revoked_certificate(  # the same serial again, revoked later: the first entry counts
        x509.RevokedCertificateBuilder()
        .serial_number(revoked.serial_number)
        .revocation_date(now + dt.timedelta(days=1))
        .build()
    )
    assert isinstance(ca.private_key, rsa.RSAPrivateKey)  # the dev CA's key
    crl = builder.sign(ca.private_key, hashes.SHA256())
    (copy / "ca" / "crl.pem").write_bytes(crl.public_bytes(serialization.Encoding.PEM))
    store = TrustStore.from_pki_dir(copy, require_crl=True)
    entry = crl.get_revoked_certificate_by_serial_number(revoked.serial_number)
    assert entry is not None and entry.revocation_date_utc < now + dt.timedelta(minutes=2)
    assert _code(store, revoked, now + dt.timedelta(minutes=2)) == "revoked"
    store.validate(revoked, now)  # signed before its revocation
    started = time.process_time()
    for _ in range(1000):
        store.validate(good, now)
    assert time.process_time() - started < 0.5  # a scan of 20,001 entries per check would take ≈ 1 s
