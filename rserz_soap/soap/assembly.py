"""Building the SOAP endpoint of a hub process from its settings: keys, trust, services."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rserz_soap.config import Settings
from rserz_soap.db.participants import Participant
from rserz_soap.db.uow import Database
from rserz_soap.soap.hardening import Limits
from rserz_soap.soap.security import Gate, ReloadingTrust, ReplayCache
from rserz_soap.soap.server import Hub, Service, SoapApp
from rserz_soap.soap.services import attachment, changes, identification, register
from rserz_soap.usecases.wiring import build_intake
from rserz_soap.xmlsig.keys import load_keypair

SERVICES: tuple[Service, ...] = (
    identification.SERVICE,
    register.SERVICE,
    changes.SERVICE,
    attachment.SERVICE,
)


def build_soap_app(
    settings: Settings,
    db: Database,
    redis: Any,
    *,
    validate_responses: bool = False,
    trust_reload_seconds: float = 30.0,
    federal_waiting: Callable[[], None] | None = None,
) -> SoapApp:
    """The hub signs with var/pki/hub and trusts the CA (and CRL) of var/pki/ca; keys are read once."""
    pki = settings.pki_dir
    keypair = load_keypair(pki / "hub" / "key.pem", pki / "hub" / "cert.pem")
    trust = ReloadingTrust(pki, interval=trust_reload_seconds)

    def find(sha: str) -> Participant | None:
        with db.reading() as uow:
            return uow.participants.by_certificate(sha)

    gate = Gate(
        trust, find, ReplayCache(redis), max_clock_skew=settings.clock_skew, max_age=settings.message_max_age
    )
    hub = Hub(db, build_intake(db.unit_of_work(), settings), settings, federal_waiting)
    gost = pki / "hub" / "gost"
    gost_keypair = load_keypair(gost / "key.pem", gost / "cert.pem") if (gost / "key.pem").exists() else None
    return SoapApp(
        hub,
        gate,
        keypair,
        SERVICES,
        limits=Limits(),
        validate_responses=validate_responses,
        gost_keypair=gost_keypair,
    )
