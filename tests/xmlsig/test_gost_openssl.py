"""Cross-checks with OpenSSL's GOST engine (Debian libengine-gost-openssl), an implementation written
independently of ours: each side signs what the other verifies, and the engine reads our keys,
certificates and CRLs. Skipped, saying why, where the engine is not installed."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from rserz_soap.xmlsig.algorithms import public_key_from_certificate
from rserz_soap.xmlsig.devpki import ParticipantSpec, init_pki
from rserz_soap.xmlsig.gost import openssl
from rserz_soap.xmlsig.gost.asn1 import private_key_from_pem, private_key_pem, public_key_pem
from rserz_soap.xmlsig.gost.curves import CRYPTOPRO_XCHA, TC26_256_A, TC26_512_A, TC26_512_C
from rserz_soap.xmlsig.gost.sign import GostPublicKey, generate_private_key
from rserz_soap.xmlsig.gost.streebog import pure_streebog256 as streebog256
from rserz_soap.xmlsig.gost.streebog import pure_streebog512 as streebog512

pytestmark = pytest.mark.skipif(not openssl.engine_available(), reason=openssl.INSTALL_HINT)

DATA = Path(__file__).parent.parent / "data" / "smev3"
# The engine's names for parameter sets (openssl genpkey -pkeyopt paramset:NAME).
_ENGINE_SETS = [
    ("gost2012_256", "XA", CRYPTOPRO_XCHA),
    ("gost2012_256", "TCA", TC26_256_A),
    ("gost2012_512", "A", TC26_512_A),
    ("gost2012_512", "C", TC26_512_C),
]


@pytest.mark.parametrize("length", [0, 1, 63, 64, 65, 1000])
def test_streebog_matches_the_engine(length: int) -> None:
    data = os.urandom(length)
    assert openssl.streebog(data, 32) == streebog256(data)
    assert openssl.streebog(data, 64) == streebog512(data)


@pytest.mark.parametrize(("algorithm", "paramset", "oid"), _ENGINE_SETS)
def test_engine_signs_we_verify(tmp_path: Path, algorithm: str, paramset: str, oid: str) -> None:
    key_file = tmp_path / "key.pem"
    openssl.openssl(
        "genpkey",
        "-engine",
        "gost",
        "-algorithm",
        algorithm,
        "-pkeyopt",
        f"paramset:{paramset}",
        "-out",
        str(key_file),
    )
    key = private_key_from_pem(key_file.read_bytes())  # we read the engine's PKCS#8
    assert key is not None and key.param_oid == oid
    assert private_key_pem(key) == key_file.read_bytes()  # and write it back byte for byte
    data = os.urandom(300)
    signature = openssl.sign(key_file, data, key.size)
    assert key.public_key().verify(signature, data)
    assert not key.public_key().verify(signature, data + b"!")


@pytest.mark.parametrize("oid", [CRYPTOPRO_XCHA, TC26_256_A, TC26_512_A, TC26_512_C])
def test_we_sign_engine_verifies(tmp_path: Path, oid: str) -> None:
    key = generate_private_key(oid)
    public = tmp_path / "public.pem"
    public.write_bytes(public_key_pem(key.public_key()))
    (tmp_path / "key.pem").write_bytes(private_key_pem(key))
    data = os.urandom(300)
    assert openssl.verify(public, key.sign(data), data, key.size)
    assert not openssl.verify(public, key.sign(data), data + b"!", key.size)
    text = openssl.openssl(
        "pkey", "-engine", "gost", "-in", str(tmp_path / "key.pem"), "-noout", "-text"
    ).decode()
    assert f"{key.d:X}" in text.replace("\n", "")  # the engine prints it without leading zeros


def test_engine_verifies_the_smev_fixtures_as_we_do(tmp_path: Path) -> None:
    for number, entry in enumerate(
        json.loads((DATA / "signatures.json").read_text(encoding="utf-8"))["signatures"]
    ):
        certificate = x509.load_der_x509_certificate(base64.b64decode(entry["certificate_b64"]))
        key = public_key_from_certificate(certificate)
        assert isinstance(key, GostPublicKey)
        pem = tmp_path / f"cert{number}.pem"
        pem.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        value = base64.b64decode(entry["signature_value_b64"])
        signed_info = entry["signed_info_compact"].encode()
        assert openssl.verify(pem, value, signed_info) and key.verify(value, signed_info)


def test_engine_reads_and_chains_the_dev_pki(tmp_path: Path) -> None:
    root = tmp_path / "pki"
    init_pki(root, [ParticipantSpec("smo", "45001", "СМО")])
    ca, crl = root / "gost-ca" / "cert.pem", root / "gost-ca" / "crl.pem"
    for folder in ("hub", "smo-45001", "smev"):
        cert = root / folder / "gost" / "cert.pem"
        text = openssl.openssl("x509", "-engine", "gost", "-in", str(cert), "-noout", "-text").decode()
        assert "GOST R 34.10-2012 with 256 bit modulus" in text and "XchA" in text
        out = openssl.openssl(
            "verify", "-engine", "gost", "-crl_check", "-CAfile", str(ca), "-CRLfile", str(crl), str(cert)
        )
        assert out.strip().endswith(b"OK")
        key_text = openssl.openssl(
            "pkey", "-engine", "gost", "-in", str(root / folder / "gost" / "key.pem"), "-noout", "-text"
        )
        assert b"Private key" in key_text
    with pytest.raises(subprocess.CalledProcessError):  # the engine refuses a certificate of another CA
        openssl.openssl(
            "verify",
            "-engine",
            "gost",
            "-CAfile",
            str(root / "ca" / "cert.pem"),
            str(root / "hub" / "gost" / "cert.pem"),
        )
    assert dt.datetime.now(dt.UTC) < x509.load_pem_x509_crl(crl.read_bytes()).next_update_utc  # type: ignore[operator]
