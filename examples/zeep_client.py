#!/usr/bin/env python3
"""Identify a person at the РС ЕРЗ hub with stock zeep and python-xmlsec — nothing of the hub imported.

What the contract asks of a request (docs/soap-contract.md, "Signing"): a WS-Security header with a signed
wsu:Timestamp, an X.509 BinarySecurityToken, RSA-SHA256 or ECDSA-SHA256 over SHA-256 digests of the Body and
the Timestamp. Stock zeep's BinarySignature signs with RSA-SHA1 and adds no Timestamp, so this subclass adds
the Timestamp and asks for SHA-256; it checks the hub's signature on every answer against the hub's
certificate (not the token the answer carries).

    pip install -r examples/requirements.txt
    python examples/zeep_client.py                       # the well-known demo person Примерова Анна
    python examples/zeep_client.py --enp 4550000000000000
    python examples/zeep_client.py Образцов Пётр Ильич 1979-11-03 --as smo-45001

Defaults follow the hub's own settings: the URL from RSERZ_PORT (8080), the keys from RSERZ_VAR_DIR/pki
(var/pki), the participant mo-450001 of the demo region.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from pathlib import Path

import xmlsec
import zeep
from zeep.wsse.signature import BinarySignature, verify_envelope
from zeep.wsse.utils import WSU, get_security_header, get_timestamp


class SignedWithTimestamp(BinarySignature):
    """zeep's BinarySignature as the hub wants it: a signed Timestamp, SHA-256, the answer verified."""

    def __init__(self, key: Path, cert: Path, hub_cert: Path, ttl: int = 300) -> None:
        ec = _is_ec(key)
        super().__init__(
            str(key),
            str(cert),
            signature_method=xmlsec.constants.TransformEcdsaSha256
            if ec
            else xmlsec.constants.TransformRsaSha256,
            digest_method=xmlsec.constants.TransformSha256,
        )
        self.hub_cert = str(hub_cert)
        self.ttl = ttl

    def apply(self, envelope, headers):  # type: ignore[no-untyped-def]
        now = dt.datetime.now(dt.UTC)
        get_security_header(envelope).append(
            WSU.Timestamp(
                WSU.Created(get_timestamp(now, zulu_timestamp=True)),
                WSU.Expires(get_timestamp(now + dt.timedelta(seconds=self.ttl), zulu_timestamp=True)),
            )
        )
        return super().apply(envelope, headers)  # signs the Body and the Timestamp

    def verify(self, envelope):  # type: ignore[no-untyped-def]
        verify_envelope(envelope, self.hub_cert)  # raises SignatureVerificationFailed
        return envelope


def _is_ec(key: Path) -> bool:
    """A PKCS#8 key does not say its type in its PEM header."""
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    return isinstance(load_pem_private_key(key.read_bytes(), None), ec.EllipticCurvePrivateKey)


def main(argv: list[str] | None = None) -> int:
    var = Path(os.environ.get("RSERZ_VAR_DIR", "var"))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("fio", nargs="*", metavar="FAM IM [OT] DR", help="the person's name and birth date")
    parser.add_argument("--enp", help="identify by ЕНП instead of name and birth date")
    parser.add_argument("--url", default=f"http://127.0.0.1:{os.environ.get('RSERZ_PORT', '8080')}")
    parser.add_argument("--pki", type=Path, default=var / "pki", help="the folder of the demo PKI")
    parser.add_argument(
        "--as", dest="participant", default="mo-450001", help="the participant's folder in --pki"
    )
    args = parser.parse_args(argv)

    folder = args.pki / args.participant
    wsse = SignedWithTimestamp(folder / "key.pem", folder / "cert.pem", args.pki / "hub" / "cert.pem")
    client = zeep.Client(f"{args.url}/soap/identification?wsdl", wsse=wsse)
    if args.enp:
        key = {"ENP": args.enp}
    else:
        fio = args.fio or ["Примерова", "Анна", "Сергеевна", "1985-04-12"]
        if len(fio) not in (3, 4):
            parser.error("give FAM IM [OT] DR")
        names = dict(zip(("FAM", "IM", "OT"), fio[:-1], strict=False))
        key = {"FIO": {**names, "DR": dt.date.fromisoformat(fio[-1])}}
    answer = client.service.identifyPerson(**key)
    if str(answer.ERR_CODE) != "0" or not answer.ZL:  # ERR_CODE is a code (a string), 0 = done
        print(f"not identified: {answer.ERR_CODE} {answer.ERR_TEXT}")
        return 1
    for zl in answer.ZL:
        p = zl.PERSON
        name = " ".join(x for x in (p.FAM, p.IM, p.OT) if x)
        insurance = zl.INSURANCE[0] if zl.INSURANCE else None
        policy = f"СМО {insurance.SMOCOD}" if insurance else "no policy"
        print(f"identified: ЕНП {zl.ENP} {name} {p.DR.isoformat()} {zl.STATUS} {policy}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
