"""Prometheus metrics that work under several gunicorn workers (multiprocess mode)."""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

REQUESTS = Counter("rserz_http_requests_total", "HTTP requests served", ["area", "status"])
LATENCY = Histogram(
    "rserz_http_request_seconds",
    "HTTP request latency",
    ["area"],
    buckets=(0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0),
)
HEALTH_FAILURES = Counter("rserz_health_failures_total", "failed dependency checks", ["dependency"])


def render() -> tuple[bytes, str]:
    """The exposition of every worker process (or of this process when not under gunicorn)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    from prometheus_client import REGISTRY

    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


SOAP_SERVICES = frozenset({"identification", "register", "changes", "attachment"})


def area_of(path: str) -> str:
    """Label requests by area, never by raw path: a label from a URL an attacker chose would grow the
    series without bound."""
    if path.startswith("/soap/"):
        name = path[6:].split("/")[0]
        return f"soap:{name}" if name in SOAP_SERVICES else "soap:other"
    for prefix in ("/admin", "/healthz", "/metrics", "/xsd"):
        if path.startswith(prefix):
            return prefix.strip("/")
    return "other"
