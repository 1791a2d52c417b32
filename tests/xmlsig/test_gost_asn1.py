"""GOST keys and certificates in DER/PEM, the key loaders of the core, GOST-signed chains in the trust
store, and the GOST half of the development PKI."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from rserz_soap.xmlsig.devpki import ParticipantSpec, init_pki
from rserz_soap.xmlsig.devpki_gost import GOST_MANIFEST_NAME, load_gost_issued, revoke_gost
from rserz_soap.xmlsig.gost.asn1 import (
    CertificateProfile,
    build_certificate,
    build_crl,
    certificate_public_key,
    private_key_from_pem,
    private_key_pem,
    private_key_to_pkcs8,
    public_key_from_spki,
    public_key_to_spki,
)
from rserz_soap.xmlsig.gost.curves import CRYPTOPRO_XCHA, TC26_256_A, TC26_512_A, TC26_512_C
from rserz_soap.xmlsig.gost.sign import GostPrivateKey, generate_private_key
from rserz_soap.xmlsig.keys import KeyPair, clear_cache, load_keypair
from rserz_soap.xmlsig.trust import TrustError, TrustStore

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
CA_NAME = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "GOST test CA")])
CA_PROFILE = CertificateProfile(ca=True, key_usage=frozenset({"key_cert_sign", "crl_sign"}))
LEAF_PROFILE = CertificateProfile(ca=False, key_usage=frozenset({"digital_signature", "non_repudiation"}))


def _ca(key: GostPrivateKey) -> x509.Certificate:
    return build_certificate(
        subject=CA_NAME,
        subject_key=key.public_key(),
        issuer=CA_NAME,
        issuer_key=key,
        serial=1,
        not_before=NOW - dt.timedelta(days=1),
        not_after=NOW + dt.timedelta(days=30),
        profile=CA_PROFILE,
    )


def _leaf(ca_key: GostPrivateKey, key: GostPrivateKey, serial: int = 2) -> x509.Certificate:
    return build_certificate(
        subject=x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "leaf")]),
        subject_key=key.public_key(),
        issuer=CA_NAME,
        issuer_key=ca_key,
        serial=serial,
        not_before=NOW - dt.timedelta(days=1),
        not_after=NOW + dt.timedelta(days=10),
        profile=LEAF_PROFILE,
    )


@pytest.mark.parametrize("oid", [CRYPTOPRO_XCHA, TC26_256_A, TC26_512_A, TC26_512_C])
def test_spki_and_pkcs8_round_trip(oid: str) -> None:
    key = generate_private_key(oid)
    assert public_key_from_spki(public_key_to_spki(key.public_key())) == key.public_key()
    again = private_key_from_pem(private_key_pem(key))
    assert again is not None and again.d == key.d and again.param_oid == oid
    assert private_key_from_pem(private_key_pem(key), b"password") is None  # encrypted keys: not ours


def test_other_key_types_are_not_ours() -> None:
    from cryptography.hazmat.primitives.asymmetric import ec as crypto_ec

    other = crypto_ec.generate_private_key(crypto_ec.SECP256R1())
    pem = other.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    assert private_key_from_pem(pem) is None
    spki = other.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert public_key_from_spki(spki) is None


def test_digest_parameter_as_the_engine_writes_it() -> None:
    # XchA and 512-A carry the Streebog OID in the key parameters; tc26 256-A and 512-C do not.
    with_digest = private_key_to_pkcs8(generate_private_key(CRYPTOPRO_XCHA))
    without = private_key_to_pkcs8(generate_private_key(TC26_256_A))
    streebog_oid = bytes.fromhex("06082a85030701010202")
    assert streebog_oid in with_digest and streebog_oid not in without


def test_certificate_chain_and_crl_in_the_trust_store() -> None:
    ca_key, leaf_key = generate_private_key(), generate_private_key(TC26_512_A)
    ca, leaf = _ca(ca_key), _leaf(ca_key, leaf_key)
    assert certificate_public_key(leaf) == leaf_key.public_key()
    store = TrustStore(
        [ca],
        [
            build_crl(
                issuer=CA_NAME,
                issuer_key=ca_key,
                this_update=NOW,
                next_update=NOW + dt.timedelta(days=1),
                number=1,
            )
        ],
    )
    store.validate(leaf, NOW)
    revoked = TrustStore(
        [ca],
        [
            build_crl(
                issuer=CA_NAME,
                issuer_key=ca_key,
                this_update=NOW,
                next_update=NOW + dt.timedelta(days=1),
                number=2,
                revoked=[(2, NOW - dt.timedelta(hours=1))],
            )
        ],
    )
    with pytest.raises(TrustError) as caught:
        revoked.validate(leaf, NOW)
    assert caught.value.code == "revoked"
    impostor = _leaf(generate_private_key(), leaf_key)  # same issuer name, another CA key
    with pytest.raises(TrustError) as caught:
        store.validate(impostor, NOW)
    assert caught.value.code == "untrusted_issuer"
    with pytest.raises(ValueError, match="not signed by a trusted CA"):
        TrustStore(
            [ca], [build_crl(issuer=CA_NAME, issuer_key=leaf_key, this_update=NOW, next_update=NOW, number=1)]
        )


def test_keypair_loads_through_the_core_and_refuses_a_foreign_certificate(tmp_path: Path) -> None:
    ca_key, key = generate_private_key(), generate_private_key()
    (tmp_path / "key.pem").write_bytes(private_key_pem(key))
    (tmp_path / "cert.pem").write_bytes(_leaf(ca_key, key).public_bytes(serialization.Encoding.PEM))
    clear_cache()
    pair = load_keypair(tmp_path / "key.pem", tmp_path / "cert.pem")
    assert isinstance(pair.private_key, GostPrivateKey) and pair.private_key.d == key.d
    foreign = _leaf(ca_key, generate_private_key()).public_bytes(serialization.Encoding.PEM)
    with pytest.raises(ValueError, match="does not belong"):
        KeyPair.from_pem(private_key_pem(key), foreign)


# --- the development PKI ----------------------------------------------------------------------------------


def test_dev_pki_issues_gost_beside_rsa(tmp_path: Path) -> None:
    root = tmp_path / "pki"
    smo = ParticipantSpec("smo", "45001", "СМО «Тест»")
    init_pki(root, [smo])
    for rel in (
        "gost-ca/cert.pem",
        "gost-ca/key.pem",
        "gost-ca/crl.pem",
        "hub/gost/key.pem",
        "smev/gost/cert.pem",
    ):
        assert (root / rel).is_file(), rel
    assert (root / "hub" / "gost" / "key.pem").stat().st_mode & 0o777 == 0o600
    issued = load_gost_issued(root)
    assert [str(i.folder.relative_to(root)) for i in issued] == ["hub/gost", "smo-45001/gost", "smev/gost"]
    store = TrustStore.from_pki_dir(root)  # RSA CA and GOST CA, both CRLs
    for item in issued:
        cert = x509.load_pem_x509_certificate(item.cert_path.read_bytes())
        store.validate(cert, dt.datetime.now(dt.UTC))
        pair = load_keypair(item.key_path, item.cert_path)
        assert isinstance(pair.private_key, GostPrivateKey)
    manifest = json.loads((root / GOST_MANIFEST_NAME).read_text(encoding="utf-8"))
    assert manifest[1]["folder"] == "smo-45001/gost" and manifest[1]["key_type"] == "gost2012-256"

    before = {p: p.read_bytes() for p in sorted(root.rglob("*.pem"))}
    init_pki(root, [smo])  # a re-run keeps every GOST file byte for byte
    assert {p: p.read_bytes() for p in sorted(root.rglob("*.pem"))} == before

    revoke_gost(root, issued[1].serial)
    again = load_gost_issued(root)
    assert again[1].serial == issued[1].serial  # revoked, not yet re-issued
    init_pki(root, [smo])
    assert load_gost_issued(root)[1].serial != issued[1].serial  # revoked -> re-issued
    assert load_gost_issued(root)[0].serial == issued[0].serial
