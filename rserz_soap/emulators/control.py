"""What the emulators' control APIs (``<mount>/_control/…``, JSON over HTTP, no token) share: the WSGI
reply, reading a JSON body, the ``faults`` route (GET: the switches; PUT: replaced by the body's, every
switch not named back to its default) and the answer for a route that does not exist."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from rserz_soap.emulators.faults import FaultSwitch

__all__ = ["StartResponse", "faults_route", "json_reply", "no_route", "read_json", "read_object", "reply"]

StartResponse = Callable[..., Any]

MAX_BODY = 1024 * 1024


def reply(start_response: StartResponse, status: str, body: bytes, content_type: str) -> list[bytes]:
    start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(body)))])
    return [body]


def json_reply(start_response: StartResponse, status: str, data: Any) -> list[bytes]:
    body = json.dumps(data, ensure_ascii=False, indent=1, default=str).encode("utf-8")
    return reply(start_response, status, body, "application/json; charset=utf-8")


def read_json(environ: dict[str, Any]) -> Any:
    """The request's JSON body (``{}`` when empty); ValueError when it is not JSON or larger than 1 MB."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise ValueError("invalid Content-Length") from None
    if length > MAX_BODY:
        raise ValueError("the body is larger than 1 MB")
    raw = environ["wsgi.input"].read(length) if length else b""
    try:
        return json.loads(raw or b"{}")
    except json.JSONDecodeError as exc:
        raise ValueError(f"the body is not JSON: {exc}") from None


def read_object(environ: dict[str, Any]) -> dict[str, Any]:
    data = read_json(environ)
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object")
    return data


def faults_route(
    switch: FaultSwitch[Any], method: str, environ: dict[str, Any], start_response: StartResponse
) -> list[bytes]:
    if method == "GET":
        return json_reply(start_response, "200 OK", switch.read().to_json())
    if method == "PUT":
        faults = switch.kind.from_json(read_json(environ))
        switch.replace(faults)
        return json_reply(start_response, "200 OK", faults.to_json())
    return no_route(start_response, method, "faults")


def no_route(start_response: StartResponse, method: str, name: str) -> list[bytes]:
    return json_reply(start_response, "404 Not Found", {"error": f"no control route {method} {name}"})
