"""The `rserz` command: every process and every operator task of the hub, one module per area."""

from rserz_soap.cli import admin, extract, federal, military, processes, snapshot, users, xmlsig  # noqa: F401  (each registers)
from rserz_soap.cli.main import main

__all__ = ["main"]
