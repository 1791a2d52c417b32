"""The nightly backup: ``pg_dump`` with a checksum and a manifest into ``RSERZ_BACKUP_DIR``, keeping the
``RSERZ_BACKUP_KEEP`` newest. Re-running it makes one more backup and prunes again — harmless; its last run
is in ``rserz status`` and the console's jobs page."""

from __future__ import annotations

import logging

from rserz_soap.config import load_settings
from rserz_soap.jobs.housekeeping import note_routine
from rserz_soap.usecases import backups

log = logging.getLogger(__name__)


def nightly() -> str:
    settings = load_settings()
    assert settings.database_url, "workers get RSERZ_DATABASE_URL from rserz up or the environment"
    try:
        done = backups.backup(settings.database_url, settings.backup_path, keep=settings.backup_keep)
    except backups.BackupError as exc:
        note_routine("backup", ok=False, result=str(exc))
        raise
    result = f"{done.path.name}: {done.manifest['bytes']} bytes, sha256 {done.manifest['sha256'][:16]}…"
    if done.removed:
        result += f"; removed {len([p for p in done.removed if p.suffix == '.dump'])} old"
    note_routine("backup", ok=True, result=result)
    log.info("backup %s", result)
    return result
