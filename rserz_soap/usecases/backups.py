"""Backups of the register: ``pg_dump`` in custom format with a sha256 and a JSON manifest, retention, and
a restore that refuses a file whose checksum does not match and proves the result against the manifest.

A backup is three files in the backup folder, named by the database and the UTC time:
``rserz-<db>-<YYYYMMDDTHHMMSSZ>.dump``, ``….dump.sha256`` (``sha256sum -c`` reads it) and
``….dump.manifest.json`` (time, database, server version, Alembic revision, bytes, sha256, and the row
counts and content checksums of the main tables as they were when the dump began … and ended: the two
agree unless the register changed meanwhile, which the manifest then says).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rserz_soap.db import backup as pg
from rserz_soap.files import output

NAME = re.compile(r"^rserz-(?P<db>.+)-(?P<at>\d{8}T\d{6}Z)\.dump$")


class BackupError(RuntimeError):
    """A backup cannot be made, verified or restored; the message says why and changes nothing."""


@dataclass(frozen=True)
class Backup:
    path: Path
    manifest: dict[str, Any]
    removed: list[Path]


def _facts(tables: dict[str, pg.TableFacts]) -> dict[str, dict[str, Any]]:
    return {name: {"rows": f.rows, "md5": f.md5} for name, f in sorted(tables.items())}


def backup(
    url: str,
    out_dir: Path,
    *,
    keep: int,
    now: datetime | None = None,
    on_table: Callable[[str], object] | None = None,
) -> Backup:
    """Dump the database at ``url`` into ``out_dir``, write its checksum and manifest, keep ``keep`` newest."""
    if keep < 1:
        raise BackupError("RSERZ_BACKUP_KEEP must be at least 1")
    at = (now or datetime.now(UTC)).astimezone(UTC)
    name = pg.database_name(url)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"rserz-{name}-{at:%Y%m%dT%H%M%SZ}.dump"
    part = path.with_name(f".{path.name}.part")
    try:
        version, revision, before = pg.facts_of(url)
        pg.dump(url, part, on_table=on_table)
        _v, _r, after = pg.facts_of(url)
        part.replace(path)
    except pg.BackupToolError as exc:
        raise BackupError(str(exc)) from None
    finally:
        part.unlink(missing_ok=True)
    digest = output.sha256_of(path)
    manifest: dict[str, Any] = {
        "kind": "backup",
        "file": path.name,
        "format": "pg_dump custom",
        "bytes": path.stat().st_size,
        "sha256": digest,
        "created_at": at.isoformat(timespec="seconds"),
        "database": name,
        "server_version": version,
        "alembic_revision": revision,
        "tables": _facts(before),
        "changed_during_dump": sorted(t for t in before if after.get(t) != before[t]),
    }
    output.write_manifest(path, manifest)
    output.write_atomically(path.with_name(path.name + ".sha256"), [f"{digest}  {path.name}\n".encode()])
    return Backup(path, manifest, prune(out_dir, keep))


def backups(out_dir: Path) -> list[Path]:
    """The backups in ``out_dir``, oldest first."""
    if not out_dir.is_dir():
        return []
    found = [p for p in out_dir.iterdir() if NAME.match(p.name)]
    return sorted(found, key=lambda p: (NAME.match(p.name).group("at"), p.name))  # type: ignore[union-attr]


def prune(out_dir: Path, keep: int) -> list[Path]:
    """Remove all but the ``keep`` newest backups (with their checksum and manifest files)."""
    removed: list[Path] = []
    for old in backups(out_dir)[:-keep]:
        for p in (old, old.with_name(old.name + ".sha256"), output.manifest_path(old)):
            if p.exists():
                p.unlink()
                removed.append(p)
    return removed


def verify(path: Path) -> dict[str, Any]:
    """The backup's manifest, after checking the file's sha256 against it and against ``.sha256``."""
    if not path.is_file():
        raise BackupError(f"{path}: no such backup file")
    manifest = output.read_manifest(path)
    if manifest is None or manifest.get("kind") != "backup":
        raise BackupError(f"{path}: its manifest {output.manifest_path(path).name} is missing or unreadable")
    actual = output.sha256_of(path)
    sidecar = path.with_name(path.name + ".sha256")
    listed = sidecar.read_text(encoding="utf-8").split()[0] if sidecar.exists() else manifest.get("sha256")
    if actual != manifest.get("sha256") or actual != listed:
        raise BackupError(
            f"{path}: checksum mismatch — the file's sha256 is {actual}, its manifest says {manifest.get('sha256')};"
            " the backup is damaged and is not restored"
        )
    return manifest


@dataclass(frozen=True)
class Restored:
    url: str
    database: str
    manifest: dict[str, Any]
    differences: dict[str, tuple[Any, Any]]  # table → (in the manifest, in the restored database)


def restore(
    path: Path, into: str, *, server_url: str, on_step: Callable[[str], object] | None = None
) -> Restored:
    """Verify ``path``, restore it into ``into`` (a URL of an empty database, or the name of a database to
    create on the configured server), and compare the main tables with the manifest."""
    step = on_step or (lambda _s: None)
    manifest = verify(path)
    step("verified")
    is_url = "://" in into
    url = into if is_url else pg.with_database(server_url, into)
    try:
        pg.prepare_target(url, create=not is_url)
        step("target ready")
        pg.restore(path, url)
        step("restored")
        _v, _r, tables = pg.facts_of(url)
    except pg.BackupToolError as exc:
        raise BackupError(str(exc)) from None
    step("compared")
    now = _facts(tables)
    expected = manifest.get("tables", {})
    changed = set(manifest.get("changed_during_dump", []))
    differences = {
        t: (expected.get(t), now.get(t))
        for t in sorted(set(expected) | set(now))
        if t not in changed and expected.get(t) != now.get(t)
    }
    return Restored(url, pg.database_name(url), manifest, differences)
