"""Our WS-Security as a zeep ``wsse`` object, so zeep clients sign and verify with the one core.

    client = zeep.Client(wsdl, wsse=WsseSigner(keypair, trust=TrustStore.from_pki_dir("var/pki"),
                                               expected_signers={hub_sha256}))

zeep calls ``apply`` on every outgoing envelope and ``verify`` on every response before it reads it.
zeep's own ``zeep.wsse.signature`` needs the native ``xmlsec`` library and verifies against one configured
certificate only; this one needs nothing native, checks the chain and CRL, and can pin the peer.

Pinning matters: every participant's certificate chains to the same CA, so a trust store alone accepts a
response signed by *any* СМО. A client of the hub should pin the hub's certificate (its ``sha256`` from
``participants.json``) with ``expected_signers``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection
from typing import Any

from cryptography.hazmat.primitives import hashes
from lxml import etree  # type: ignore[import-untyped, unused-ignore]  # lxml ships no stubs

from rserz_soap.xmlsig.keys import KeyPair
from rserz_soap.xmlsig.trust import TrustStore
from rserz_soap.xmlsig.wsse import VerifiedEnvelope, WsseError, sign_envelope, verify_envelope

__all__ = ["WsseSigner"]


class WsseSigner:
    """Signs requests with ``keypair``; verifies responses against ``trust`` and/or ``expected_signers``.

    ``verify`` raises ``WsseError`` (bad or missing signature, unexpected signer) or ``trust.TrustError``
    (certificate not trusted) and returns the envelope unchanged otherwise. ``accept_unsigned_faults``
    lets through a response whose Body is a bare SOAP Fault without a Security header — front ends refuse
    malformed requests before anything can sign — so the caller sees zeep's Fault instead of a signature
    error; no data is trusted from such a response either way.
    """

    def __init__(
        self,
        keypair: KeyPair,
        *,
        trust: TrustStore | None = None,
        expected_signers: Collection[str] | None = None,
        verify_response: bool = True,
        timestamp_ttl: float = 300,
        max_clock_skew: float = 300,
        accept_unsigned_faults: bool = False,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        if verify_response and trust is None and not expected_signers:
            # A signature checked against the key it carries proves nothing about who sent it.
            raise ValueError("verifying responses needs a trust store or pinned expected_signers")
        self.keypair = keypair
        self.trust = trust
        self.expected_signers = frozenset(s.lower() for s in expected_signers or ())
        self.verify_response = verify_response
        self.timestamp_ttl = timestamp_ttl
        self.max_clock_skew = max_clock_skew
        self.accept_unsigned_faults = accept_unsigned_faults
        self._clock = clock or (lambda: dt.datetime.now(dt.UTC))

    def apply(self, envelope: Any, headers: dict[str, str]) -> tuple[Any, dict[str, str]]:
        sign_envelope(envelope, self.keypair, timestamp_ttl=self.timestamp_ttl, now=self._clock())
        return envelope, headers

    def verify(self, envelope: Any) -> Any:
        if not self.verify_response:
            return envelope
        try:
            self.verify_envelope(envelope)
        except WsseError as exc:
            if not (exc.code == "no_security" and self.accept_unsigned_faults and _is_fault(envelope)):
                raise
        return envelope

    def verify_envelope(self, envelope: Any) -> VerifiedEnvelope:
        """The full check with its result, for callers that want the verified Body or the certificate."""
        now = self._clock()
        verified = verify_envelope(envelope, now=now, max_clock_skew=self.max_clock_skew)
        if self.expected_signers:
            fingerprint = verified.certificate.fingerprint(hashes.SHA256()).hex()
            if fingerprint not in self.expected_signers:
                raise WsseError("unexpected_signer", f"response signed by certificate {fingerprint}")
        if self.trust is not None:
            self.trust.validate(verified.certificate, at=now)
        return verified


def _is_fault(envelope: Any) -> bool:
    soap_ns = etree.QName(envelope).namespace
    body = envelope.find(f"{{{soap_ns}}}Body")
    parts = [child for child in body if isinstance(child.tag, str)] if body is not None else []
    return len(parts) == 1 and parts[0].tag == f"{{{soap_ns}}}Fault"
