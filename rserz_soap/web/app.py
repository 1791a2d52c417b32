"""The WSGI application served by gunicorn (`rserz serve`)."""

from __future__ import annotations

import dataclasses
import ipaddress
import time
import uuid
from typing import Any

import redis
from flask import Flask, Response, g, jsonify, request

from rserz_soap import __version__
from rserz_soap.admin import ConsoleDeps, create_console
from rserz_soap.config import Settings, load_settings
from rserz_soap.db.uow import Database
from rserz_soap.federal.mpi_client import MpiClient
from rserz_soap.jobs.redis_conn import redis_from_url
from rserz_soap.soap.faults import FaultCode, SoapFault, fault_bytes
from rserz_soap.web import health, metrics

#: seconds the console waits for one ФЕРЗЛ answer (a lookup beside a search, a card's comparison)
CONSOLE_FERZL_TIMEOUT = 10.0


def _observed(endpoint: Any, environ: dict[str, Any], start_response: Any) -> Any:
    """Metrics for the SOAP endpoint (it runs beside Flask, not inside it)."""
    started = time.perf_counter()
    area = metrics.area_of(environ.get("PATH_INFO", ""))  # before a mounted app moves PATH_INFO
    status_holder: list[str] = []

    def capture(status: str, headers: Any, exc_info: Any = None) -> Any:
        status_holder.append(status)
        return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

    try:
        return endpoint(environ, capture)
    finally:
        metrics.REQUESTS.labels(area, (status_holder or ["500"])[0].split()[0]).inc()
        metrics.LATENCY.labels(area).observe(time.perf_counter() - started)


def soap_fault(fault: SoapFault, status: int = 500) -> Response:
    """A SOAP 1.1 Fault: participants get a coded Fault, never an HTML error page."""
    return Response(fault_bytes(fault, str(uuid.uuid4())), status=status, mimetype="text/xml")


def _console_federal(settings: Settings, rds: redis.Redis, db: Database) -> MpiClient:
    """The console's ФЕРЗЛ client: the hub's, with a timeout a person at a screen will wait for."""
    quick = dataclasses.replace(settings, ferzl_timeout=min(settings.ferzl_timeout, CONSOLE_FERZL_TIMEOUT))
    return MpiClient.from_settings(quick, rds, db)


def create_app(
    settings: Settings | None = None,
    *,
    db: Database | None = None,
    redis_client: redis.Redis | None = None,
    soap_app: Any = None,
) -> Flask:
    settings = settings or load_settings()
    if not settings.database_url or not settings.redis_url:
        raise RuntimeError("the web app needs RSERZ_DATABASE_URL and RSERZ_REDIS_URL (rserz up sets them)")
    app = Flask("rserz_soap")
    db = db or Database.connect(
        settings.database_url,
        replica_url=settings.database_replica_url,
        application_name="rserz-web",
        pre_ping=False,
    )
    rds = redis_client or redis_from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
    app.extensions["rserz"] = {"settings": settings, "db": db, "redis": rds}

    @app.before_request
    def _start_timer() -> None:
        g.started = time.perf_counter()

    @app.after_request
    def _observe(response: Response) -> Response:
        area = metrics.area_of(request.path)
        metrics.REQUESTS.labels(area, str(response.status_code)).inc()
        metrics.LATENCY.labels(area).observe(time.perf_counter() - g.get("started", time.perf_counter()))
        return response

    @app.get("/healthz")
    def healthz() -> tuple[Any, int]:
        checks = [health.check_postgres(db), health.check_redis(rds)]
        replica = health.check_replica(db)
        if replica is not None:
            checks.append(replica)
        if soap_app is not None:  # certificates: a missing or broken CRL refuses every request
            checks.append(health.check_trust(soap_app.gate.trust_health()))
        for c in checks:
            if not c.ok:
                metrics.HEALTH_FAILURES.labels(c.name).inc()
        ok = all(c.ok for c in checks)
        body = {
            "status": "ok" if ok else "unavailable",
            "version": __version__,
            "checks": {c.name: {"ok": c.ok, "latency_ms": c.latency_ms, "error": c.error} for c in checks},
        }
        return jsonify(body), 200 if ok else 503

    allowed = [
        ipaddress.ip_network(a.strip(), strict=False) for a in settings.metrics_allow.split(",") if a.strip()
    ]

    @app.get("/metrics")
    def prometheus() -> Response:
        try:
            peer = ipaddress.ip_address(request.remote_addr or "")
        except ValueError:
            peer = None
        if peer is None or not any(peer in net for net in allowed):
            return Response("forbidden\n", status=403, mimetype="text/plain")
        payload, content_type = metrics.render()
        return Response(payload, mimetype=content_type.split(";")[0], content_type=content_type)

    # /admin is the ТФОМС console: a Flask app of its own (its cookies, CSRF and headers stay there)
    console = create_console(
        ConsoleDeps(settings, db, rds, federal=lambda: _console_federal(settings, rds, db))
    )
    flask_wsgi = app.wsgi_app

    def console_app(environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + "/admin"
        environ["PATH_INFO"] = path[len("/admin") :] or "/"
        return console.wsgi_app(environ, start_response)

    def mounted(environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        if path == "/admin" or path.startswith("/admin/"):
            return _observed(console_app, environ, start_response)
        return flask_wsgi(environ, start_response)

    if soap_app is None and settings.pki_dir.joinpath("hub", "key.pem").exists():
        from rserz_soap.jobs.federal import push_soon
        from rserz_soap.soap.assembly import build_soap_app

        push_now = (lambda: push_soon(rds)) if settings.federal_first else None
        soap_app = build_soap_app(settings, db, rds, federal_waiting=push_now)
    if soap_app is not None:
        # /soap/<service> and the schemas its WSDL imports are answered by the SOAP endpoint
        endpoint = soap_app

        def dispatch(environ: dict[str, Any], start_response: Any) -> Any:
            path = environ.get("PATH_INFO", "")
            if path.startswith(("/soap/", "/xsd/")):
                return _observed(endpoint, environ, start_response)
            return mounted(environ, start_response)

        app.wsgi_app = dispatch  # type: ignore[method-assign]
    else:
        app.wsgi_app = mounted  # type: ignore[method-assign]

        @app.route("/soap/<service>", methods=["GET", "POST"])
        def soap(service: str) -> Response:
            return soap_fault(
                SoapFault(
                    FaultCode.UNAVAILABLE, "the SOAP endpoint needs the hub's keys: run `rserz certs init`"
                ),
                503,
            )

    return app
