"""Writing an export: the bytes go to a temporary file beside the target, hashed on the way, and are renamed
into place only when complete (a reader never sees half a file); a JSON manifest names the file, its size
and sha256. Shared by snapshot exports, the daily СМО packages and backups."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Written:
    path: Path
    size: int
    sha256: str


def write_atomically(path: Path, chunks: Iterable[bytes]) -> Written:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    digest = hashlib.sha256()
    size = 0
    try:
        with tmp.open("wb") as f:
            for chunk in chunks:
                digest.update(chunk)
                size += len(chunk)
                f.write(chunk)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return Written(path, size, digest.hexdigest())


def write_many(targets: dict[str, Path], parts: Iterable[dict[str, bytes]]) -> dict[str, Written]:
    """Several files from one stream of parts (key → bytes), each written as :func:`write_atomically` does."""
    digests = {k: hashlib.sha256() for k in targets}
    sizes = dict.fromkeys(targets, 0)
    tmps = {k: p.with_name(f".{p.name}.{os.getpid()}.part") for k, p in targets.items()}
    files = {}
    try:
        for k, p in targets.items():
            p.parent.mkdir(parents=True, exist_ok=True)
            files[k] = tmps[k].open("wb")
        for part in parts:
            for k, chunk in part.items():
                digests[k].update(chunk)
                sizes[k] += len(chunk)
                files[k].write(chunk)
        for k, f in files.items():
            f.flush()
            os.fsync(f.fileno())
            f.close()
            os.replace(tmps[k], targets[k])
    finally:
        for f in files.values():
            f.close()
        for tmp in tmps.values():
            tmp.unlink(missing_ok=True)
    return {k: Written(targets[k], sizes[k], digests[k].hexdigest()) for k in targets}


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def manifest_path(path: Path) -> Path:
    return path.with_name(path.name + ".manifest.json")


def write_manifest(path: Path, manifest: dict[str, Any]) -> Path:
    """``<file>.manifest.json`` beside ``path``: sorted keys, so the same facts give the same bytes."""
    target = manifest_path(path)
    body = json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True, default=str) + "\n"
    write_atomically(target, [body.encode("utf-8")])
    return target


def read_manifest(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(manifest_path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def is_intact(path: Path, manifest: dict[str, Any] | None) -> bool:
    """Is ``path`` the file its manifest describes (present, same size and sha256)?"""
    if manifest is None or not path.exists():
        return False
    return path.stat().st_size == manifest.get("bytes") and sha256_of(path) == manifest.get("sha256")
