"""Queue names, one per kind of work, so a slow reconciliation never delays a federal push."""

from __future__ import annotations

DEFAULT = "default"
FEDERAL = "federal"
SMEV = "smev"
EXPORTS = "exports"

ALL = (FEDERAL, SMEV, DEFAULT, EXPORTS)  # priority order for a worker that listens to all
