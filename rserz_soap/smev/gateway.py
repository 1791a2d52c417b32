"""The ports of ``usecases/smev_port.py`` over the СМЭВ client: ЕГР ЗАГС pushes and СФР СНИЛС answers.

The message type selector keeps the two flows apart in one queue of the ТФОМС: the ЗАГС poll takes
only ``FATALZPRequest`` and ``ROGDZPRequest`` (one selector each, deaths first), the СФР poll only the
answers to the СНИЛС requests.
"""

from __future__ import annotations

from typing import Any

from lxml import etree  # type: ignore[import-untyped, unused-ignore]

from rserz_soap.domain.civil import CivilPerson
from rserz_soap.smev import sfr, zags
from rserz_soap.smev.client import SmevClient
from rserz_soap.smev.wire import Delivered
from rserz_soap.usecases.smev_port import IncomingZags, SfrAnswer

#: (namespace, root element) of what the ЗАГС poll takes, in this order
ZAGS_SELECTORS = (
    (zags.FATALZP_NS, "FATALZPRequest"),
    (zags.ROGDZP_NS, "ROGDZPRequest"),
)


class ZagsGateway:
    def __init__(self, client: SmevClient) -> None:
        self.client = client
        self._last = ZAGS_SELECTORS[0]

    def next_incoming(self) -> IncomingZags | None:
        # the selector that delivered last is asked first: a run of births costs one GetRequest each
        for namespace, root in sorted(ZAGS_SELECTORS, key=lambda s: s != self._last):
            delivered = self.client.get_request(namespace=namespace, root=root)
            if delivered is not None:
                self._last = (namespace, root)
                return self._read(delivered)
        return None

    def _read(self, delivered: Delivered) -> IncomingZags:
        content = delivered.content
        root = etree.QName(content).localname if content is not None else "?"
        record_id = content.get("ИдСвед") if content is not None else None
        base = IncomingZags(delivered.message_id, delivered.reply_to or "", root, record_id or "")
        if delivered.sender_signature_problem is not None:
            return _replace(
                base, unreadable=f"the sender's signature does not hold: {delivered.sender_signature_problem}"
            )
        if content is None:
            return _replace(base, unreadable="no MessagePrimaryContent")
        try:
            if root == "FATALZPRequest":
                return _replace(base, deaths=tuple(zags.parse_deaths(content, delivered.message_id)))
            if root == "ROGDZPRequest":
                return _replace(base, births=tuple(zags.parse_births(content, delivered.message_id)))
        except zags.ZagsFormatError as exc:
            return _replace(base, unreadable=str(exc))
        return _replace(base, unreadable=f"not a ЗАГС push: {root}")

    def send_receipt(self, incoming: IncomingZags, receipt_message_id: str, *, taken: bool) -> None:
        # the receipt names the push by its root and ИдСвед: what the inbox keeps, so a resend after a
        # restart is the same receipt
        ns = zags.FATALZP_NS if incoming.root == "FATALZPRequest" else zags.ROGDZP_NS
        content = etree.Element(f"{{{ns}}}{incoming.root}", ИдСвед=incoming.record_id)
        self.client.send_response(
            incoming.reply_to, receipt_message_id, content=zags.receipt(content, taken=taken)
        )

    def ack(self, message_id: str) -> None:
        self.client.ack(message_id)


class SfrGateway:
    def __init__(self, client: SmevClient) -> None:
        self.client = client

    def send(self, message_id: str, kind: str, person: CivilPerson, snils: str | None = None) -> None:
        self.client.send_request(sfr.request(kind, person, snils=snils), message_id)

    def next_answer(self) -> SfrAnswer | None:
        for kind, ns in sfr.ROOTS.items():
            delivered = self.client.get_response(namespace=ns, root=kind.replace("Request", "Response"))
            if delivered is None:
                continue
            original = delivered.original_message_id or ""
            if delivered.sender_signature_problem is not None:
                return SfrAnswer(
                    delivered.message_id,
                    original,
                    None,
                    rejected=f"signature: {delivered.sender_signature_problem}",
                )
            if delivered.rejected is not None:
                return SfrAnswer(delivered.message_id, original, None, rejected=" ".join(delivered.rejected))
            if delivered.content is None:
                return SfrAnswer(delivered.message_id, original, None, rejected="no content")
            return SfrAnswer(delivered.message_id, original, sfr.parse_answer(delivered.content))
        return None

    def ack(self, message_id: str) -> None:
        self.client.ack(message_id)


def _replace(base: IncomingZags, **changes: Any) -> IncomingZags:
    import dataclasses

    return dataclasses.replace(base, **changes)
