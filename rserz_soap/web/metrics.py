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


def area_of(path: str) -> str:
    """Label requests by area, never by raw path (bounded cardinality)."""
    for prefix in ("/soap/", "/admin", "/healthz", "/metrics"):
        if path.startswith(prefix):
            return prefix.strip("/").split("/")[0] if prefix != "/soap/" else "soap:" + path[6:].split("/")[0]
    return "other"
