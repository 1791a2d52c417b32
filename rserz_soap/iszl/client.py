"""The hub's client of the ИСЗЛ's notification endpoint: a signed request, a verified answer, a timeout.

The request is signed with the hub's key (the ИСЗЛ checks it is the hub); the answer must carry a valid
signature of the ИСЗЛ — pinned to its certificate (``var/pki/iszl/cert.pem``, or ``RSERZ_ISZL_CERT``)
when that file exists, else any certificate the hub's CAs trust. Anything else — no answer, a timeout, an
HTTP error, a Fault, an answer whose signature does not hold — is ``IszlUnavailable``: the events stay
where they are and are sent again later (usecases/iszl.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import requests
from cryptography import x509
from lxml import etree  # type: ignore[import-untyped, unused-ignore]

from rserz_soap.config import Settings
from rserz_soap.domain.iszl import Event
from rserz_soap.files.xmlfile import hardened_parser
from rserz_soap.iszl import wire
from rserz_soap.usecases.iszl import IszlUnavailable
from rserz_soap.xmlsig.keys import KeyPair, load_keypair
from rserz_soap.xmlsig.trust import TrustStore
from rserz_soap.xmlsig.wsse import sign_envelope, verify_envelope


class IszlClient:
    def __init__(
        self,
        url: str,
        keypair: KeyPair,
        *,
        pinned: x509.Certificate | None = None,
        trust: TrustStore | None = None,
        timeout: float = 30.0,
        session: requests.Session | None = None,
    ) -> None:
        self.url = url
        self.keypair = keypair
        self.pinned = pinned
        self.trust = trust
        self.timeout = timeout
        self.session = session or requests.Session()

    @classmethod
    def from_settings(cls, settings: Settings) -> IszlClient:
        pki = settings.pki_dir
        pin_path = Path(settings.iszl_cert) if settings.iszl_cert else pki / "iszl" / "cert.pem"
        pinned = x509.load_pem_x509_certificate(pin_path.read_bytes()) if pin_path.exists() else None
        trust = None if pinned is not None else TrustStore.from_pki_dir(pki, require_crl=True)
        return cls(
            settings.iszl_endpoint,
            load_keypair(pki / "hub" / "key.pem", pki / "hub" / "cert.pem"),
            pinned=pinned,
            trust=trust,
            timeout=settings.iszl_timeout,
        )

    def notify(self, events: Sequence[Event]) -> int:
        env = wire.envelope(wire.notify_changes(events))
        sign_envelope(env, self.keypair)
        try:
            resp = self.session.post(
                self.url,
                data=etree.tostring(env, xml_declaration=True, encoding="UTF-8"),
                headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{wire.ACTION}"'},
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            raise IszlUnavailable(f"ИСЗЛ unreachable: {type(exc).__name__}") from None
        if resp.status_code != 200:
            raise IszlUnavailable(f"ИСЗЛ answered HTTP {resp.status_code}")
        return self._accepted(resp.content)

    def _accepted(self, content: bytes) -> int:
        try:
            answer = etree.fromstring(content, parser=hardened_parser())
            verified = verify_envelope(answer, max_age=600)
            self._check_signer(verified.certificate)
            body: Any = verified.body
            result = body[0] if len(body) else None
            if result is None or result.tag != f"{{{wire.NS}}}notifyChangesResponse":
                raise ValueError("not a notifyChangesResponse")
            return int(result.findtext(f"{{{wire.NS}}}ACCEPTED"))
        except IszlUnavailable:
            raise
        except Exception as exc:  # noqa: BLE001 — whatever is wrong with the answer, it is not an acknowledgement
            raise IszlUnavailable(f"the ИСЗЛ's answer cannot be trusted: {type(exc).__name__}") from None

    def _check_signer(self, cert: x509.Certificate) -> None:
        if self.pinned is not None:
            if cert != self.pinned:
                raise IszlUnavailable("the answer is signed by another certificate than the ИСЗЛ's")
            return
        if self.trust is None:
            raise IszlUnavailable("no way to trust the ИСЗЛ's answer (no pinned certificate, no CA)")
        self.trust.validate(cert, dt.datetime.now(dt.UTC))
