"""The notification on the wire (``contract/iszl.xsd``): one description for the hub's client and the
emulator. Both sides sign with WS-Security (the hub's key for the request, the ИСЗЛ's for the answer)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any, Final

from lxml import etree  # type: ignore[import-untyped, unused-ignore]

from rserz_soap.domain.iszl import Event

NS: Final = "urn:ru:rserz:iszl:v1"
SOAP: Final = "http://schemas.xmlsoap.org/soap/envelope/"
ACTION: Final = f"{NS}:notifyChanges"
CONTRACT: Final = Path(__file__).resolve().parent / "contract"

_schema: Any = None


def schema() -> Any:
    global _schema
    if _schema is None:
        _schema = etree.XMLSchema(etree.parse(str(CONTRACT / "iszl.xsd")))
    return _schema


def envelope(body: Any) -> Any:
    env = etree.Element(f"{{{SOAP}}}Envelope", nsmap={"soap": SOAP})
    etree.SubElement(env, f"{{{SOAP}}}Body").append(body)
    return env


def notify_changes(events: Sequence[Event]) -> Any:
    root = etree.Element(f"{{{NS}}}notifyChanges", nsmap={"iszl": NS})
    for e in events:
        ev = etree.SubElement(root, f"{{{NS}}}EVENT")
        for name, value in (
            ("ID", e.id),
            ("KIND", e.kind),
            ("ENP", e.enp),
            ("OPERATION", e.operation),
            ("DATE", e.valid_from.isoformat()),
            ("RECORDED", e.recorded_at.isoformat()),
            ("SMOCOD", e.smo_code),
        ):
            if value is not None:
                etree.SubElement(ev, f"{{{NS}}}{name}").text = str(value)
        for mo in e.mo_codes:
            etree.SubElement(ev, f"{{{NS}}}MO").text = mo
    return root


def read_events(body: Any) -> list[Event]:
    """The events of a ``notifyChanges`` element that passed the schema."""
    out = []
    for ev in body.findall(f"{{{NS}}}EVENT"):
        out.append(
            Event(
                id=int(ev.findtext(f"{{{NS}}}ID")),
                kind=str(ev.findtext(f"{{{NS}}}KIND")),
                enp=str(ev.findtext(f"{{{NS}}}ENP")),
                operation=str(ev.findtext(f"{{{NS}}}OPERATION")),
                valid_from=date.fromisoformat(str(ev.findtext(f"{{{NS}}}DATE"))),
                recorded_at=datetime.fromisoformat(str(ev.findtext(f"{{{NS}}}RECORDED"))),
                smo_code=ev.findtext(f"{{{NS}}}SMOCOD"),
                mo_codes=tuple(str(m.text) for m in ev.findall(f"{{{NS}}}MO")),
            )
        )
    return out


def response(accepted: int, duplicates: int) -> Any:
    root = etree.Element(f"{{{NS}}}notifyChangesResponse", nsmap={"iszl": NS})
    etree.SubElement(root, f"{{{NS}}}ACCEPTED").text = str(accepted)
    etree.SubElement(root, f"{{{NS}}}DUPLICATES").text = str(duplicates)
    return root
