"""The `rserz` command: every process and every operator task of the hub, one module per area."""

from rserz_soap.cli import (  # noqa: F401  (each registers)
    admin,
    extract,
    federal,
    files_import,
    military,
    nsi_update,
    processes,
    routine,
    snapshot,
    users,
    xmlsig,
)
from rserz_soap.cli.main import main

__all__ = ["main"]
