"""The ФЕРЗЛ emulator as a WSGI application: the document's services (``mpi.py``) and the stand's control API.

Routes (all under ``/ferzl``):

* ``POST /ferzl/auth/token``, ``…/api/t-foms/integration/ws/<version>/…`` — ФЕРЗЛ as ФОМС's description
  v5.07 describes it (``mpi.py``, ``mpi_methods.py``);
* ``/ferzl/_control/…`` — JSON over HTTP, no token, for tests and the operators of a stand:
  ``faults`` (GET/PUT: the fault switches), ``events`` (POST: a §5 event the federal register learnt
  elsewhere — ``{"enp", "event", …values}``, or a birth ``{"event": "1П", "person": {…}}``), ``token``
  (POST ``{"scope": "read", "ttl": 5}``: a token for the auth tests), ``planted`` (GET: the ground truth of
  the seeded divergences), ``health`` (GET).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any, Final

from sqlalchemy import Engine, func, select

from rserz_soap.config import Settings
from rserz_soap.emulators.control import (
    StartResponse,
    faults_route,
    json_reply,
    no_route,
    read_object,
    reply,
)
from rserz_soap.emulators.ferzl import store
from rserz_soap.emulators.ferzl.faults import FaultSwitch
from rserz_soap.emulators.ferzl.mpi import MpiApp, Tokens, read_password
from rserz_soap.emulators.ferzl.seed import planted_list
from rserz_soap.emulators.ferzl.service import fail_interrupted_operations
from rserz_soap.emulators.ferzl.store import fed_person

__all__ = ["MOUNT", "build_ferzl_app"]

log = logging.getLogger(__name__)

MOUNT: Final = "/ferzl"
CONTROL: Final = "/_control/"


def build_ferzl_app(
    settings: Settings,
    engine: Engine,
    *,
    versions: tuple[str, ...] | None = None,
    token_ttl: float = 3600.0,
) -> MpiApp:
    """The emulator over ``engine`` (its own database): the document's services for the served versions
    (``RSERZ_FERZL_SERVED_VERSIONS``) and the control API. The stand's credential is
    ``settings.ferzl_login`` with the password in ``settings.ferzl_password_file`` (made on first use);
    operations an earlier process left unfinished are marked FAILED (their thread is gone)."""
    store.create_schema(engine)
    fail_interrupted_operations(engine)
    faults = FaultSwitch(engine)
    tokens = Tokens(settings.ferzl_login, read_password(settings.ferzl_password_path), token_ttl)
    return MpiApp(
        engine,
        tokens,
        _methods(),
        versions=versions or settings.ferzl_versions,
        region_okato=settings.region_okato,
        region_code=settings.region_code,
        legacy=_StandControl(settings, engine, tokens, faults),
        faults=faults,
        mount=MOUNT,
    )


def _methods() -> dict[str, Any]:
    from rserz_soap.emulators.ferzl.mpi_methods import METHODS

    return dict(METHODS)


class _StandControl:
    """The control API (see the module docstring); anything else is 404."""

    def __init__(self, settings: Settings, engine: Engine, tokens: Tokens, faults: FaultSwitch) -> None:
        self.settings, self.engine, self.tokens, self.faults = settings, engine, tokens, faults

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if not path.startswith(MOUNT + CONTROL):
            text = "the ФЕРЗЛ emulator: /ferzl/api/t-foms/integration/ws/<version>/wsdl/<service>.wsdl\n".encode()
            return reply(start_response, "404 Not Found", text, "text/plain; charset=utf-8")
        name = path[len(MOUNT + CONTROL) :]
        try:
            if name == "faults":
                return faults_route(self.faults, method, environ, start_response)
            if name == "planted" and method == "GET":
                with self.engine.connect() as conn:
                    planted = [
                        {"index": m.index, "enp": m.enp, "kind": m.kind.value, "field": m.field}
                        | {"regional": m.regional, "federal": m.federal}
                        for m in planted_list(conn)
                    ]
                return json_reply(start_response, "200 OK", planted)
            if name == "health" and method == "GET":
                with self.engine.connect() as conn:
                    persons = conn.execute(select(func.count()).select_from(fed_person)).scalar_one()
                health = {"status": "ok", "versions": list(self.settings.ferzl_versions), "persons": persons}
                return json_reply(start_response, "200 OK", health)
            if name == "token" and method == "POST":
                asked = read_object(environ)
                token, ttl = self.tokens.make(str(asked.get("scope", "tfoms")), asked.get("ttl"))
                return json_reply(start_response, "200 OK", {"token": token, "expiresIn": ttl})
            if name == "records" and method == "POST":
                record = read_object(environ)
                if record.get("kind") not in ("nil", "nr", "legalrep"):
                    raise ValueError('expected {"kind": "nil" | "nr" | "legalrep", …}')
                with self.engine.begin() as conn:
                    conn.execute(store.fed_record.insert().values(kind=record.pop("kind"), data=record))
                return json_reply(start_response, "200 OK", {"stored": True})
            if name == "events" and method == "POST":
                return self._event(read_object(environ), start_response)
        except (ValueError, KeyError) as exc:
            return json_reply(start_response, "400 Bad Request", {"error": str(exc)})
        return no_route(start_response, method, name)

    def _event(self, body: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        from rserz_soap.emulators.ferzl.mpi_methods import apply_event, birth, known_event, record_event

        code = str(body.get("event", ""))
        if code == "1П" and isinstance(body.get("person"), dict):
            enp = birth(self.engine, self.settings.region_code, self.settings.region_okato, body["person"])
            return json_reply(start_response, "200 OK", {"enp": enp})
        if not code or not body.get("enp"):
            raise ValueError('expected {"enp": …, "event": …, …values}')
        if not known_event(code):  # an event §5 does not list: recorded as it is, nothing changed
            with self.engine.begin() as conn:
                event_id = record_event(conn, str(body["enp"]), self.settings.region_code, code)
            return json_reply(start_response, "200 OK", {"event_id": event_id})
        values = {k: v for k, v in body.items() if k not in ("enp", "event")}
        applied = apply_event(self.engine, str(body["enp"]), code, values)
        if applied is None:
            return json_reply(start_response, "404 Not Found", {"error": f"unknown ЕНП {body['enp']}"})
        return json_reply(start_response, "200 OK", {"event_id": applied})
