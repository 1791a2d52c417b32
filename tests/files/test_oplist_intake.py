"""`rserz files import`: a СМО's OPLIST package through the same ФЛК and buffer as submitOperations, answered
with REPLIST and FLK_P files; each F012 package error (801–805) produced; applied exactly once."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from lxml import etree  # type: ignore[import-untyped, unused-ignore]
from sqlalchemy import Engine, text

from rserz_soap.cli import main
from rserz_soap.cli.files_import import ImportReport, answer_file, import_file
from rserz_soap.config import Settings
from rserz_soap.db.participants import upsert_participant
from rserz_soap.domain.federal import FederalAnswer
from rserz_soap.runtime.services import ServiceUrls
from tests.conftest import data_path
from tests.harness import Register

GOOD = "i45001_01_122601.zip"  # windows-1251, I_Policies' form, six records all valid
SPOILED = "i45001_01_122602.zip"  # windows-1251, records 1–3 broken in three ways
UTF8 = "i45002_01_122601.zip"  # UTF-8, the contract's element header
TABLES = ("buffer_entry", "person", "person_data", "intake_package", "idempotency_key")


@pytest.fixture
def registry(fresh_engine: Engine, settings: Settings) -> Register:
    with fresh_engine.begin() as conn:
        for code in ("45001", "45002"):
            upsert_participant(conn, "smo", code, f"СМО {code}")
    return Register.of(fresh_engine, settings)


def _package(tmp_path: Path, sample: str, name: str | None = None, folder: str = "in") -> Path:
    source = (
        data_path("files", sample)
        if (data_path("files", sample)).exists()
        else data_path("hostile", "files", sample)
    )
    target = tmp_path / folder / (name or sample)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    return target


def _import(registry: Register, path: Path, out: Path, **kw: Any) -> ImportReport:
    return import_file(registry.db, registry.intake, path, out=out, **kw)


def _counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in TABLES}


def _read(path: Path) -> Any:
    return etree.fromstring(path.read_bytes())


def _prs(flk_p: Any) -> list[tuple[str | None, ...]]:
    return [(pr.findtext("N_REC"), pr.findtext("OSHIB"), pr.findtext("IM_POL")) for pr in flk_p.iter("PR")]


def test_a_windows_1251_package_round_trips_to_replist_and_flk_p(registry: Register, tmp_path: Path) -> None:
    out = tmp_path / "out"
    report = _import(registry, _package(tmp_path, GOOD), out)

    assert report.code is None and (report.records, report.accepted, report.rejected) == (6, 6, 0), report
    replist_path, flk_path = out / "p45001_01_122601.xml", out / "f45001_01_122601.xml"
    assert report.written == [replist_path, flk_path]
    raw = replist_path.read_bytes()
    assert raw.startswith(b"<?xml version='1.0' encoding='windows-1251'?>")
    replist = _read(replist_path)
    header = [c.tag for c in replist if c.tag != "REP"]
    assert header == ["VERS", "FILENAME", "SMOCOD", "PRZCOD", "NRECORDS", "NERR"]  # rt.srz REPLIST.xsd
    assert [replist.findtext(t) for t in header[1:]] == ["p45001_01_122601", "45001", "4500101", "6", "0"]
    reps = {int(r.findtext("N_REC")): r for r in replist.iter("REP")}
    assert sorted(reps) == [1, 2, 3, 4, 5, 6]
    assert {r.findtext("CODE_ERP") for r in reps.values()} == {"AA"}
    assert [c.tag for c in reps[1]] == ["N_REC", "ID", "CODE_ERP", "COMMENT", "INSURANCE"]
    assert all(len(r.findtext("INSURANCE/ENP") or "") == 16 for r in reps.values())
    assert (
        reps[1].findtext("INSURANCE/SMOCOD") == "45001" and reps[1].find("INSURANCE/POLIS/NPOLIS") is not None
    )
    flk = _read(flk_path)
    assert (flk.findtext("FNAME"), flk.findtext("FNAME_I")) == ("f45001_01_122601", "i45001_01_122601")
    for pr in flk.iter("PR"):  # warnings only, each PR with the five elements of rt.srz FLK_P.xsd
        assert [c.tag for c in pr] == ["OSHIB", "IM_POL", "BAS_EL", "N_REC", "COMMENT"]
    with registry.engine.connect() as conn:  # the Cyrillic of windows-1251 reached the register intact
        names = set(conn.execute(text("SELECT fam FROM person_data WHERE superseded_at IS NULL")).scalars())
        package = conn.execute(text("SELECT name, encoding, nrecords, accepted FROM intake_package")).one()
    assert {"Лаврентьева", "Белозёров", "Горбатюк"} <= names
    assert tuple(package) == ("i45001_01_122601", "windows-1251", 6, 6)


def test_broken_records_get_their_f012_and_flk_codes_and_the_others_apply(
    registry: Register, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    report = _import(registry, _package(tmp_path, SPOILED), out)

    assert report.code is None and (report.records, report.accepted, report.rejected) == (6, 3, 3), report
    replist = _read(out / "p45001_01_122602.xml")
    codes = {int(r.findtext("N_REC")): r.findtext("CODE_ERP") for r in replist.iter("REP")}
    assert codes == {1: "AE", 2: "AE", 3: "AE", 4: "AA", 5: "AA", 6: "AA"}
    assert replist.findtext("NERR") == "3"
    assert [r.find("INSURANCE") is None for r in replist.iter("REP")] == [
        True,
        True,
        True,
        False,
        False,
        False,
    ]
    found = set(_prs(_read(out / "f45001_01_122602.xml")))
    assert {("1", "904", "W"), ("2", "119", "DR"), ("3", "903", "SS")} <= found, found
    assert "318-204-5X" not in (out / "f45001_01_122602.xml").read_text(encoding="windows-1251")


def test_a_utf8_package_is_answered_in_utf8(registry: Register, tmp_path: Path) -> None:
    out = tmp_path / "out"
    report = _import(registry, _package(tmp_path, UTF8), out)
    assert report.code is None and report.records == 3, report
    raw = (out / "p45002_01_122601.xml").read_bytes()
    assert raw.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    assert [r.findtext("N_REC") for r in _read(out / "p45002_01_122601.xml").iter("REP")] == ["1", "2", "3"]


@pytest.mark.parametrize(
    ("sample", "name", "smo", "code"),
    [
        ("not-a-zip.zip", GOOD, None, "801"),
        (GOOD, "oplist-december.zip", None, "802"),
        (GOOD, GOOD, "45002", "802"),
        ("missing-file.zip", GOOD, None, "803"),
        ("header-nrecords.zip", GOOD, None, "804"),
    ],
    ids=["801-not-a-zip", "802-wrong-name", "802-another-smo", "803-file-missing", "804-wrong-value"],
)
def test_a_package_refused_whole_gets_its_f012_code_and_changes_nothing(
    registry: Register, tmp_path: Path, sample: str, name: str, smo: str | None, code: str
) -> None:
    before = _counts(registry.engine)
    out = tmp_path / "out"
    report = _import(registry, _package(tmp_path, sample, name), out, smo=smo)

    assert report.code == code, report
    assert _counts(registry.engine) == before
    (written,) = report.written
    assert written.parent == out and written.name.endswith(".xml")
    (pr,) = _read(written).iter("PR")
    assert pr.findtext("OSHIB") == code and pr.findtext("COMMENT")
    assert registry.intake.directory.get(code).message in pr.findtext("COMMENT")  # type: ignore[union-attr]


def test_805_a_package_handed_in_again_is_applied_once(registry: Register, tmp_path: Path) -> None:
    first = _import(registry, _package(tmp_path, GOOD), tmp_path / "out1")
    assert first.code is None
    before = _counts(registry.engine)

    again = _import(registry, _package(tmp_path, GOOD, folder="again"), tmp_path / "out1")

    assert again.code == "805", again
    assert _counts(registry.engine) == before
    (pr,) = _read(tmp_path / "out1" / "f45001_01_122601-2.xml").iter("PR")
    assert pr.findtext("OSHIB") == "805" and "уже зарегистрирован" in pr.findtext("COMMENT")
    first_flk = _read(tmp_path / "out1" / "f45001_01_122601.xml")  # the first answer is kept
    assert [p.findtext("OSHIB") for p in first_flk.iter("PR")] != ["805"]
    assert (tmp_path / "out1" / "p45001_01_122601.xml").exists()


def test_the_same_package_imported_concurrently_is_applied_once(registry: Register, tmp_path: Path) -> None:
    paths = [_package(tmp_path, GOOD, folder=f"in{i}") for i in range(3)]
    reports: list[ImportReport] = []
    start = threading.Barrier(len(paths))

    def run(path: Path) -> None:
        start.wait()
        reports.append(_import(registry, path, path.parent / "out"))

    threads = [threading.Thread(target=run, args=(p,)) for p in paths]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)

    assert sorted(str(r.code) for r in reports) == ["805", "805", "None"], reports
    counts = _counts(registry.engine)
    assert (counts["buffer_entry"], counts["intake_package"]) == (6, 1)


def test_the_command_imports_and_reports(
    registry: Register, tmp_path: Path, settings: Settings, services: ServiceUrls
) -> None:
    url = registry.engine.url.render_as_string(hide_password=False)
    env = {
        "RSERZ_DATABASE_URL": url,
        "RSERZ_REDIS_URL": services.redis_url,
        "RSERZ_VAR_DIR": settings.var_dir,
    }
    env["RSERZ_FEDERAL_FIRST"] = "0"
    good, bad = _package(tmp_path, GOOD), _package(tmp_path, "not-a-zip.zip", "i45001_01_122609.zip")
    result = CliRunner().invoke(
        main, ["files", "import", str(good), str(bad), "--out", str(tmp_path / "o")], env=env
    )

    assert result.exit_code == 1, result.output  # one package refused
    assert "6 records: 6 accepted, 0 rejected" in result.output
    assert "refused, 801" in result.output
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == [
        "f45001_01_122601.xml",
        "f45001_01_122609.xml",
        "p45001_01_122601.xml",
    ]


def test_records_waiting_for_ferzl_get_their_final_answer_later(
    fresh_engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    with fresh_engine.begin() as conn:
        upsert_participant(conn, "smo", "45001", "СМО 45001")
    registry = Register.of(fresh_engine, settings, federal_first=True)
    first = _import(registry, _package(tmp_path, GOOD), tmp_path / "out")
    assert first.code is None and first.pending > 0, first
    waiting = _read(tmp_path / "out" / "p45001_01_122601.xml")
    assert sum(r.find("CODE_ERP") is None for r in waiting.iter("REP")) == first.pending

    for _round in range(3):  # ФЕРЗЛ refuses each application pushed to it
        for entry_id in registry.pending_pushes():
            registry.federal_answered(entry_id, FederalAnswer(False, errors=(("E-001", "отказ"),)))

    again = answer_file(registry.db, "i45001_01_122601", out=tmp_path / "later")
    assert again is not None and again.pending == 0 and again.rejected == first.pending + first.rejected
    final = _read(tmp_path / "later" / "p45001_01_122601.xml")
    assert all(r.findtext("CODE_ERP") in ("AA", "AE") for r in final.iter("REP"))
    assert final.findtext("PRZCOD") == "4500101"
    assert answer_file(registry.db, "i45001_01_122699", out=tmp_path / "none") is None
