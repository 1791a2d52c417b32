"""What the register needs from the federal register (ФЕРЗЛ): the two failures every port shares.

Each use case names the few methods it needs as a protocol of its own (``outbox.ApplicationsPort``,
``federal_events.EventsPort``, ``reconcile.VitrinaPort``, ``military.MilitaryPort``,
``attachments_federal.AttachPort``); the adapter is ``rserz_soap.federal.mpi_client.MpiClient`` (ФОМС's
description v5.07: a token, SOAP, MTOM, a circuit breaker). Tests and the use cases see only the
protocols and these failures.
"""

from __future__ import annotations


class FederalUnavailable(Exception):
    """The federal register cannot answer now, or answered what cannot be trusted (network, timeout, outage,
    an open circuit, an answer to another request): try again later."""


class FederalError(Exception):
    """The federal register refused the request, or speaks another API version: trying again will not help."""

    def __init__(self, code: str, text: str) -> None:
        super().__init__(f"{code}: {text}")
        self.code = code
        self.text = text
