"""The hostile-input corpus of the file intakes (tests/data/hostile/files/cases.toml): every package or
directory file an attacker or a broken program could hand in gets its coded error, changes nothing in the
database, and writes nothing but its protocol into the output folder. New cases are data: a file (made by
tools/make_file_samples.py) and a line in cases.toml."""

from __future__ import annotations

import shutil
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from lxml import etree  # type: ignore[import-untyped, unused-ignore]
from sqlalchemy import Engine, text

from rserz_soap.cli.files_import import import_file
from rserz_soap.config import Settings
from rserz_soap.db.engine import make_engine
from rserz_soap.db.participants import upsert_participant
from rserz_soap.db.tables import metadata
from rserz_soap.files.nsi import NsiFormatError
from rserz_soap.jobs.nsi import update_from
from tests.harness import Register, cloned_database

CORPUS = Path(__file__).resolve().parents[1] / "data" / "hostile" / "files"
PACKAGE = "i45001_01_122601.zip"


@dataclass(frozen=True)
class Case:
    name: str
    file: str
    expect: str
    intake: str = "oplist"
    as_: str | None = None


def _cases() -> list[Case]:
    raw = tomllib.loads((CORPUS / "cases.toml").read_text(encoding="utf-8"))["case"]
    return [Case(**{("as_" if k == "as" else k): v for k, v in c.items()}) for c in raw]


CASES = _cases()


def test_the_corpus_is_complete() -> None:
    files = {p.name for p in CORPUS.iterdir() if p.suffix in (".zip", ".xml")}
    assert files == {c.file for c in CASES}, "every file has a case and every case a file"
    assert len(CASES) >= 14
    assert {c.expect for c in CASES if c.intake == "oplist"} == {"801", "802", "803", "804"}


@pytest.fixture(scope="module")
def registry(
    db_engine: Engine, database_url: str, template_database: str, settings: Settings
) -> Iterator[Register]:
    """One database for the whole corpus: no case may change it, so they can share it."""
    with cloned_database(db_engine, database_url, template_database, "hostile") as url:
        engine = make_engine(url)
        with engine.begin() as conn:
            upsert_participant(conn, "smo", "45001", "СМО 45001")
        yield Register.of(engine, settings)
        engine.dispose()


def _state(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            t: int(conn.execute(text(f'SELECT count(*) FROM "{t}"')).scalar_one()) for t in metadata.tables
        }


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_a_hostile_file_gets_its_code_and_changes_nothing(
    registry: Register, tmp_path: Path, case: Case
) -> None:
    before = _state(registry.engine)
    inbox = tmp_path / "in"
    inbox.mkdir()
    given = inbox / (case.as_ or PACKAGE)
    shutil.copyfile(CORPUS / case.file, given)

    if case.intake == "nsi":
        with pytest.raises(NsiFormatError) as refused:
            update_from(registry.db, str(inbox))
        assert case.expect == "nsi-format" and given.name in str(refused.value)
        assert "root:" not in str(refused.value)
        assert _files(tmp_path) == {f"in/{given.name}"}
    else:
        report = import_file(registry.db, registry.intake, given, out=tmp_path / "out")
        assert report.code == case.expect, report
        (written,) = report.written
        assert _files(tmp_path) == {f"in/{given.name}", f"out/{written.name}"}
        flk = etree.fromstring(written.read_bytes())
        (pr,) = flk.iter("PR")
        assert pr.findtext("OSHIB") == case.expect and pr.findtext("COMMENT")
        assert b"root:" not in written.read_bytes()  # nothing of /etc/passwd, nothing expanded
    assert _state(registry.engine) == before
