"""Building the SOAP endpoint of a hub process from its settings: keys, trust, services."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from rserz_soap.config import Settings
from rserz_soap.db.participants import participant_by_certificate
from rserz_soap.soap.hardening import Limits
from rserz_soap.soap.security import Gate, ReloadingTrust, ReplayCache
from rserz_soap.soap.server import Service, SoapApp
from rserz_soap.soap.services import attachment, changes, identification, register
from rserz_soap.xmlsig.keys import load_keypair

SERVICES: tuple[Service, ...] = (
    identification.SERVICE,
    register.SERVICE,
    changes.SERVICE,
    attachment.SERVICE,
)


def build_soap_app(
    settings: Settings,
    engine: Engine,
    redis: Any,
    *,
    validate_responses: bool = False,
    trust_reload_seconds: float = 30.0,
) -> SoapApp:
    """The hub signs with var/pki/hub and trusts the CA (and CRL) of var/pki/ca; keys are read once."""
    pki = settings.pki_dir
    keypair = load_keypair(pki / "hub" / "key.pem", pki / "hub" / "cert.pem")
    trust = ReloadingTrust(pki, interval=trust_reload_seconds)

    def find(sha: str) -> Any:
        with engine.connect() as conn:
            return participant_by_certificate(conn, sha)

    gate = Gate(trust, find, ReplayCache(redis))
    from rserz_soap.registry.service import build_registry

    resources = {"redis": redis, "registry": build_registry(engine, settings)}
    return SoapApp(
        settings,
        engine,
        gate,
        keypair,
        SERVICES,
        limits=Limits(),
        resources=resources,
        validate_responses=validate_responses,
    )
