"""A worker for the kill test: polls ЕГР ЗАГС through the real job until it is killed (SIGKILL).

Run as ``python -m tests.smev.poll_worker`` with the stand's environment."""

from __future__ import annotations

import contextlib

from rserz_soap.jobs import smev
from rserz_soap.usecases.smev_port import SmevUnavailable

if __name__ == "__main__":
    while True:
        with contextlib.suppress(SmevUnavailable):
            smev.poll_zags(limit=50)
