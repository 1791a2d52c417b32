"""The ИСЗЛ emulator at ``/iszl``: the notification endpoint of ``rserz_soap/iszl/contract/iszl.wsdl``.

* ``POST /iszl`` — a ``notifyChanges`` signed by the hub (pinned to ``var/pki/hub/cert.pem``), checked
  against the schema; each event stored once by its id (a repeat only counts), answered with the numbers
  accepted and repeated, signed with the ИСЗЛ's key (``var/pki/iszl/``).
* ``GET /iszl?wsdl`` — the contract, with this address.
* ``/iszl/_control/health``, ``/iszl/_control/faults`` (GET; POST JSON ``{"outage": true, "error_rate":
  0.2, "latency_ms": 50}``), ``/iszl/_control/events`` (JSON: every event in order of first arrival, with
  ``times``), ``/iszl/_control/reset`` (POST: forget everything received).
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from cryptography import x509
from lxml import etree  # type: ignore[import-untyped, unused-ignore]
from sqlalchemy import Engine, func, select, text
from sqlalchemy.dialects.postgresql import insert

from rserz_soap.config import Settings
from rserz_soap.emulators.control import reply
from rserz_soap.emulators.iszl import store
from rserz_soap.files.xmlfile import hardened_parser
from rserz_soap.iszl import wire
from rserz_soap.xmlsig.keys import load_keypair
from rserz_soap.xmlsig.wsse import sign_envelope, verify_envelope

MOUNT = "/iszl"
Start = Callable[..., Any]


def prepare_iszl(engine: Engine) -> None:
    store.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(insert(store.faults).values(id=1).on_conflict_do_nothing())


class IszlApp:
    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.settings = settings
        self.engine = engine
        pki = settings.pki_dir
        self.keypair = load_keypair(pki / "iszl" / "key.pem", pki / "iszl" / "cert.pem")
        self.hub_cert = x509.load_pem_x509_certificate((pki / "hub" / "cert.pem").read_bytes())
        self._arrival_lock = threading.Lock()
        self._rnd = random.Random()  # noqa: S311 — emulated failures, not secrets

    def __call__(self, environ: dict[str, Any], start_response: Start) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")[len(MOUNT) :]
        method = environ.get("REQUEST_METHOD", "GET")
        if path.startswith("/_control/"):
            return self._control(path.removeprefix("/_control/"), method, environ, start_response)
        if method == "GET" and environ.get("QUERY_STRING", "").lower() in ("wsdl", "wsdl="):
            wsdl = (wire.CONTRACT / "iszl.wsdl").read_text(encoding="utf-8")
            host = environ.get("HTTP_HOST", "127.0.0.1")
            body = wsdl.replace("http://localhost:8090/iszl", f"http://{host}{MOUNT}").encode()
            return reply(start_response, "200 OK", body, "text/xml; charset=utf-8")
        if method == "GET" and environ.get("QUERY_STRING", "").startswith("xsd"):
            return reply(start_response, "200 OK", (wire.CONTRACT / "iszl.xsd").read_bytes(), "text/xml")
        if method != "POST":
            return reply(start_response, "405 Method Not Allowed", b"POST a notifyChanges\n", "text/plain")
        return self._notify(environ, start_response)

    # -- the endpoint ------------------------------------------------------------------------------------

    def _notify(self, environ: dict[str, Any], start_response: Start) -> Iterable[bytes]:
        f = self._faults()
        if f["latency_ms"]:
            time.sleep(f["latency_ms"] / 1000)
        if f["outage"]:
            return reply(
                start_response,
                "503 Service Unavailable",
                b"the ISZL is down (emulated outage)\n",
                "text/plain",
            )
        if f["error_rate"] and self._rnd.random() < f["error_rate"]:
            return self._fault(start_response, "Server", "emulated failure")
        size = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(min(size, 8 * 1024 * 1024))
        try:
            env = etree.fromstring(raw, parser=hardened_parser())
            verified = verify_envelope(env, max_age=600)
        except Exception as exc:  # noqa: BLE001 — any defect of the message is the sender's
            return self._fault(start_response, "Client", f"not a signed SOAP request: {type(exc).__name__}")
        if verified.certificate != self.hub_cert:
            return self._fault(start_response, "Client", "not signed by the hub")
        body = verified.body[0] if len(verified.body) else None
        if body is None or body.tag != f"{{{wire.NS}}}notifyChanges" or not wire.schema().validate(body):
            return self._fault(start_response, "Client", "not a notifyChanges of the contract")
        accepted, duplicates = self._store(wire.read_events(body))
        answer = wire.envelope(wire.response(accepted, duplicates))
        sign_envelope(answer, self.keypair)
        return reply(start_response, "200 OK", etree.tostring(answer), "text/xml; charset=utf-8")

    def _store(self, events: list[Any]) -> tuple[int, int]:
        new = 0
        with self._arrival_lock, self.engine.begin() as conn:
            arrival = conn.execute(select(func.coalesce(func.max(store.received.c.arrival), 0))).scalar_one()
            for e in events:
                arrival += 1
                stmt = insert(store.received).values(
                    event_id=e.id,
                    kind=e.kind,
                    enp=e.enp,
                    operation=e.operation,
                    valid_from=e.valid_from,
                    recorded_at=e.recorded_at,
                    smo_code=e.smo_code,
                    mo_codes=" ".join(e.mo_codes) or None,
                    arrival=arrival,
                )
                upsert = stmt.on_conflict_do_update(
                    index_elements=[store.received.c.event_id],
                    set_={"times": store.received.c.times + 1},
                ).returning(text("(xmax = 0) AS inserted"))
                if conn.execute(upsert).scalar_one():
                    new += 1
        return new, len(events) - new

    def _fault(self, start_response: Start, who: str, text_: str) -> Iterable[bytes]:
        body = (
            f'<soap:Envelope xmlns:soap="{wire.SOAP}"><soap:Body><soap:Fault><faultcode>soap:{who}</faultcode>'
            f"<faultstring>{text_}</faultstring></soap:Fault></soap:Body></soap:Envelope>"
        ).encode()
        return reply(start_response, "500 Internal Server Error", body, "text/xml; charset=utf-8")

    # -- control -----------------------------------------------------------------------------------------

    def _faults(self) -> dict[str, Any]:
        with self.engine.connect() as conn:
            row = conn.execute(select(store.faults).where(store.faults.c.id == 1)).one()
        return {"outage": row.outage, "error_rate": row.error_rate, "latency_ms": row.latency_ms}

    def _control(
        self, name: str, method: str, environ: dict[str, Any], start_response: Start
    ) -> Iterable[bytes]:
        if name == "health":
            return _json(start_response, {"ok": True})
        if name == "faults":
            if method == "POST":
                size = int(environ.get("CONTENT_LENGTH") or 0)
                data = json.loads(environ["wsgi.input"].read(size) or b"{}")
                values = {k: data[k] for k in ("outage", "error_rate", "latency_ms") if k in data}
                with self.engine.begin() as conn:
                    conn.execute(store.faults.update().where(store.faults.c.id == 1).values(**values))
            return _json(start_response, self._faults())
        if name == "events":
            with self.engine.connect() as conn:
                rows = conn.execute(select(store.received).order_by(store.received.c.arrival)).all()
            return _json(
                start_response,
                [
                    {
                        "id": r.event_id,
                        "kind": r.kind,
                        "enp": r.enp,
                        "operation": r.operation,
                        "times": r.times,
                    }
                    for r in rows
                ],
            )
        if name == "reset" and method == "POST":
            with self.engine.begin() as conn:
                conn.execute(store.received.delete())
            return _json(start_response, {"ok": True})
        return reply(start_response, "404 Not Found", b"no such control\n", "text/plain")


def _json(start_response: Start, data: Any) -> Iterable[bytes]:
    return reply(start_response, "200 OK", json.dumps(data, default=str).encode(), "application/json")
