"""The signature tests' development PKI: a CA, the hub, an СМО with an RSA key and an МО with an EC key."""

from __future__ import annotations

from pathlib import Path

import pytest

from rserz_soap.xmlsig import devpki
from rserz_soap.xmlsig.keys import KeyPair, load_keypair


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pki")
    devpki.init_pki(
        root,
        [
            devpki.ParticipantSpec("smo", "45001", "СМО Тест", "rsa"),
            devpki.ParticipantSpec("mo", "450012", "МО Тест", "ec"),
        ],
    )
    return root


def pki_keypair(pki: Path, folder: str) -> KeyPair:
    """The key pair in ``folder`` of the PKI (``hub``, ``smo-45001``, ``mo-450012``, ``hub/gost``)."""
    return load_keypair(pki / folder / "key.pem", pki / folder / "cert.pem")
