"""The daily СМО package: REPLIST, STOPLIST and RECLIST of a day in a ZIP, in the СМО's encoding, saying what
getProtocol, getStopList and getCorrections say; byte-identical when written again; the CLI and the job."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import date
from pathlib import Path

import pytest
import redis
from click.testing import CliRunner
from lxml import etree
from rq import Queue, SimpleWorker
from sqlalchemy import Engine, text

from rserz_soap.config import Settings
from rserz_soap.db.participants import upsert_participant
from rserz_soap.db.uow import Database
from rserz_soap.domain.buffer import Submitter
from rserz_soap.domain.records import PolicyInput
from rserz_soap.jobs import files as files_job
from rserz_soap.jobs.housekeeping import ROUTINE_KEY
from rserz_soap.runtime.services import ServiceUrls
from rserz_soap.usecases import change_files, manual, notices, participants
from tests import builders
from tests.harness import Register, uow

SMO1, SMO2 = "45001", "45002"


@pytest.fixture
def day_of_changes(fresh_engine: Engine, settings: Settings) -> tuple[date, int]:
    """A day on which СМО 1 sent a good and a bad record, СМО 2 took the person over (a stop for СМО 1)
    and the ТФОМС corrected the person (a correction for СМО 2); returns (the day, the person)."""
    registry = Register.of(fresh_engine, settings)
    with fresh_engine.begin() as conn:
        one = Submitter(upsert_participant(conn, "smo", SMO1, "СМО 1"), "smo", SMO1)
        two = Submitter(upsert_participant(conn, "smo", SMO2, "СМО 2"), "smo", SMO2)
        upsert_participant(conn, "mo", "450001", "МО 1")
    good = builders.record("П010", smo=SMO1)
    bad = builders.record(
        "П010", smo=SMO1, n_rec=2, person=builders.person_data(fam="Q1", dr=date(2031, 1, 1))
    )
    first, refused = registry.submit(one, [good, bad])
    assert first.code_erp == "AA" and refused.code_erp != "AA"
    vs = PolicyInput(vpolis=2, npolis="450077777", dbeg=date(2025, 9, 1), dend=None)
    rec = builders.record("П034", smo=SMO2, enp=first.enp, dvizit=date(2025, 9, 1), rsmo=2, policy=vs)
    (moved,) = registry.submit(two, [rec])
    assert moved.code_erp == "AA", moved
    assert first.person_id is not None
    with fresh_engine.begin() as conn:
        manual.apply_federal(
            uow(conn),
            first.person_id,
            {"mr": "г. Озёрск"},
            actor="op",
            reason="данные ФЕРЗЛ",
            respect_pins=False,
            valid_from=date(2025, 9, 2),
        )
        today = conn.execute(text("SELECT current_date")).scalar_one()
    participants.set_file_encoding(Database(fresh_engine).unit_of_work(), "smo", SMO1, "windows-1251")
    return today, first.person_id


def _xml(z: zipfile.ZipFile, kind: str, day: date, smo: str):  # type: ignore[no-untyped-def]
    return etree.fromstring(z.read(f"{kind}_T45000_S{smo}_{day:%Y%m%d}.xml"))


def test_packages_say_what_the_services_say(
    fresh_engine: Engine, day_of_changes: tuple[date, int], tmp_path: Path
) -> None:
    day, _pid = day_of_changes
    db = Database(fresh_engine)
    done = {p.smo: p for p in change_files.export_day(db.reading, day, tmp_path, okato="45000")}
    assert set(done) == {SMO1, SMO2}
    one, two = done[SMO1], done[SMO2]
    assert one.path.name == f"T45000_S{SMO1}_{day:%Y%m%d}.zip" and one.path.parent.name == day.isoformat()
    assert (one.encoding, two.encoding) == ("windows-1251", "utf-8")
    assert one.counts == {"REPLIST": 2, "STOPLIST": 1, "RECLIST": 0}
    assert two.counts == {"REPLIST": 1, "STOPLIST": 0, "RECLIST": 1}

    with zipfile.ZipFile(one.path) as z:
        assert sorted(z.namelist()) == sorted(
            f"{k}_T45000_S{SMO1}_{day:%Y%m%d}.xml" for k in ("REPLIST", "STOPLIST", "RECLIST")
        )
        raw = z.read(f"STOPLIST_T45000_S{SMO1}_{day:%Y%m%d}.xml")
        assert raw.startswith(b"<?xml version='1.0' encoding='windows-1251'?>")
        assert "Смирнова".encode("cp1251") in raw and "Смирнова".encode() not in raw
        rep, stop = _xml(z, "REPLIST", day, SMO1), _xml(z, "STOPLIST", day, SMO1)
    # REPLIST: the protocol of the batch, line by line
    assert rep.findtext("NRECORDS") == "2" and rep.findtext("NERR") == "1"
    good, bad = rep.findall("REP")
    assert (good.findtext("N_REC"), good.findtext("CODE_ERP"), good.findtext("INSURANCE/ENP")) == (
        "1",
        "AA",
        good.findtext("ENP"),
    )
    assert bad.findtext("N_REC") == "2" and bad.findtext("CODE_ERP") != "AA" and bad.findall("OSHIB")
    # STOPLIST: getStopList's lines
    served = notices.stop_list(db.reading(), SMO1, day, day, page=1, size=100)
    (s,) = stop.findall("STOP")
    (line,) = served.lines
    assert (s.findtext("ID"), s.findtext("REASON"), s.findtext("ENP"), s.findtext("DSTOP")) == (
        str(line.stop.id),
        "4",
        line.stop.enp,
        "2025-09-01",
    )
    assert s.findtext("PERSON/FAM") == "Смирнова" and s.findtext("DOC/DOCNUM")
    with zipfile.ZipFile(two.path) as z:
        rec = _xml(z, "RECLIST", day, SMO2)
        assert z.read(f"RECLIST_T45000_S{SMO2}_{day:%Y%m%d}.xml").startswith(
            b"<?xml version='1.0' encoding='UTF-8'?>"
        )
    corrections = notices.corrections(db.reading(), SMO2, day, day, page=1, size=100)
    (r,) = rec.findall("REC")
    assert (r.findtext("ID"), r.findtext("IS_ACTIVE"), r.findtext("START_DATE")) == (
        str(corrections.lines[0].correction.id),
        "1",
        None,
    )
    assert rec.findtext("START_DATE") == rec.findtext("END_DATE") == day.isoformat()
    assert r.findtext("PERSON/MR") == "г. Озёрск"

    # manifests, and the same bytes when written again
    manifest = json.loads(one.manifest.read_text(encoding="utf-8"))
    assert manifest["sha256"] == one.sha256 and manifest["records"] == one.counts
    again = change_files.export_day(db.reading, day, tmp_path / "again", okato="45000", smo=SMO1)
    assert [p.path.read_bytes() for p in again] == [one.path.read_bytes()]

    # a day without changes: empty lists, still a package
    (empty,) = change_files.export_day(db.reading, date(2020, 1, 1), tmp_path, okato="45000", smo=SMO2)
    assert empty.counts == {"REPLIST": 0, "STOPLIST": 0, "RECLIST": 0}
    with zipfile.ZipFile(io.BytesIO(empty.path.read_bytes())) as z:
        assert _xml(z, "STOPLIST", date(2020, 1, 1), SMO2).findtext("NRECORDS") == "0"
    with pytest.raises(change_files.UnknownSmo):
        change_files.export_day(db.reading, day, tmp_path, okato="45000", smo="45999")
    with pytest.raises(participants.ParticipantError):
        participants.set_file_encoding(db.unit_of_work(), "smo", SMO1, "koi8-r")


def test_the_cli_and_the_daily_job_write_the_packages(
    fresh_engine: Engine,
    day_of_changes: tuple[date, int],
    services: ServiceUrls,
    redis_conn: redis.Redis,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from rserz_soap.cli import main

    day, _pid = day_of_changes
    monkeypatch.setenv("RSERZ_DATABASE_URL", fresh_engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("RSERZ_REDIS_URL", services.redis_url)
    monkeypatch.setenv("RSERZ_VAR_DIR", str(tmp_path / "var"))
    runner = CliRunner()
    assert "REPLIST" in runner.invoke(main, ["files", "export", "--help"]).output
    out = runner.invoke(
        main, ["files", "export", "--date", day.isoformat(), "--smo", SMO2, "--out", str(tmp_path / "o")]
    )
    assert out.exit_code == 0, out.output
    (package,) = (tmp_path / "o" / day.isoformat()).glob("*.zip")
    assert package.name == f"T45000_S{SMO2}_{day:%Y%m%d}.zip" and "RECLIST 1" in out.output
    unknown = runner.invoke(main, ["files", "export", "--date", day.isoformat(), "--smo", "45999"])
    assert unknown.exit_code != 0 and "no active СМО 45999" in unknown.output
    assert runner.invoke(main, ["files", "encoding", "45999", "utf-8"]).exit_code != 0

    redis_conn.delete(ROUTINE_KEY)
    queue = Queue("test-files", connection=redis_conn)
    job = queue.enqueue(files_job.daily, day.isoformat())
    SimpleWorker([queue], connection=redis_conn).work(burst=True)
    assert job.get_status(refresh=True) == "finished", job.exc_info
    written = tmp_path / "var" / "exports" / "smo" / day.isoformat() / package.name
    assert written.read_bytes() == package.read_bytes()  # the job and the CLI write the same package
    status = redis_conn.hgetall(ROUTINE_KEY)
    assert b"smo-files:last_ok_at" in status and b"2 packages" in status[b"smo-files:last_result"]
    from rserz_soap.runtime.status import _routine

    (line,) = [x for x in _routine(redis_conn) if x.startswith("smo files")]
    assert f"{day}: 2 packages" in line and "FAILED" not in line
