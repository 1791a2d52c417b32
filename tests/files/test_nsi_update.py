"""НСИ updates (`rserz nsi update`, the hourly job): new versions imported from a folder or a URL, effect
dates respected (a change from tomorrow is not seen by today's checks), a report of what changed, and a
re-run that changes nothing."""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, text

from rserz_soap.cli import main
from rserz_soap.config import Settings
from rserz_soap.db import nsi as repo
from rserz_soap.db.reference import NsiCache
from rserz_soap.db.uow import Database
from rserz_soap.files.nsi import NsiFormatError, NsiRecord
from rserz_soap.jobs.nsi import update_from
from rserz_soap.runtime.services import ServiceUrls
from tests.harness import Register

TODAY = date.today()
TOMORROW, YESTERDAY = TODAY + timedelta(days=1), TODAY - timedelta(days=1)


def _d(day: date) -> str:
    return day.strftime("%d.%m.%Y")


def _f002(records: list[NsiRecord], version: str) -> bytes:
    """A F002 file of these records (flat ``zap`` with DATEBEG/DATEEND), as an update would bring it."""
    zaps = []
    for r in records:
        fields = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in r.data.items())
        end = _d(r.date_end) if r.date_end else ""
        zaps.append(
            f"<zap><smocod>{r.code}</smocod>{fields}<DATEBEG>{_d(r.date_beg)}</DATEBEG><DATEEND>{end}</DATEEND></zap>"
        )
    head = f"<zglv><type>F002</type><version>{version}</version><date>{_d(TODAY)}</date></zglv>"
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<packet>{head}{"".join(zaps)}</packet>'.encode()


def _current(engine: Engine) -> list[NsiRecord]:
    with engine.connect() as conn:
        return repo.latest_records(conn, "F002")


def _next_version(engine: Engine) -> list[NsiRecord]:
    """The bundled F002 with 45001 renamed from tomorrow, 45002 closed yesterday and 45009 new tomorrow."""
    out: list[NsiRecord] = []
    for r in _current(engine):
        data = {k: v for k, v in r.data.items() if k != "smocod"}
        if r.code == "45001" and r.date_end is None:
            out.append(NsiRecord("F002", r.code, r.date_beg, TODAY, data))
            out.append(NsiRecord("F002", r.code, TOMORROW, None, {**data, "nam_smok": "АО СК «Новое имя»"}))
        elif r.code == "45002" and r.date_end is None:
            out.append(NsiRecord("F002", r.code, r.date_beg, YESTERDAY, data))
        else:
            out.append(NsiRecord("F002", r.code, r.date_beg, r.date_end, data))
    new = dict(out[0].data) | {"nam_smok": "ООО СК «Девятая»", "Ogrn": "1020000099990"}
    out.append(NsiRecord("F002", "45009", TOMORROW, None, new))
    return out


@pytest.fixture
def folder(fresh_engine: Engine, tmp_path: Path) -> Path:
    folder = tmp_path / "incoming"
    folder.mkdir()
    (folder / "F002_2026_2.xml").write_bytes(_f002(_next_version(fresh_engine), "2026.2"))
    return folder


def _versions(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM nsi_version")).scalar_one())


def test_an_update_reports_what_changed_and_tomorrows_change_waits_for_tomorrow(
    fresh_engine: Engine, settings: Settings, folder: Path
) -> None:
    registry = Register.of(fresh_engine, settings, nsi=NsiCache(ttl=0))
    report = update_from(registry.db, str(folder), TODAY)

    (f002,) = report.directories
    assert (f002.directory, f002.version, f002.already_loaded) == ("F002", "2026.2", False)
    assert [(c.code, c.effective, c.pending) for c in f002.added] == [("45009", TOMORROW, True)]
    assert [(c.code, c.effective, c.pending) for c in f002.changed] == [("45001", TOMORROW, True)]
    assert [(c.code, c.effective, c.pending) for c in f002.closed] == [("45002", TODAY, False)]
    assert "added 1 [45009 from" in f002.summary() and "2 take effect later" in f002.summary()

    with registry.uow() as uow:  # what ФЛК asks (rule 401: the СМО in F002 on the event date)
        ref = registry.intake.reference(uow)
        assert ref.smo("45009", TODAY) is None and ref.smo("45009", TOMORROW) is not None
        assert ref.smo("45002", TODAY) is None and ref.smo("45002", YESTERDAY) is not None
        today_name = uow.nsi.record_on("F002", "45001", TODAY)
        tomorrow_name = uow.nsi.record_on("F002", "45001", TOMORROW)
    assert today_name is not None and tomorrow_name is not None
    assert (
        today_name.data["nam_smok"] != "АО СК «Новое имя»"
        and tomorrow_name.data["nam_smok"] == "АО СК «Новое имя»"
    )


def test_a_rerun_changes_nothing(fresh_engine: Engine, folder: Path) -> None:
    db = Database(fresh_engine)
    update_from(db, str(folder), TODAY)
    before = _versions(fresh_engine)
    again = update_from(db, str(folder), TODAY)
    assert [d.already_loaded for d in again.directories] == [True] and again.imported == 0
    assert _versions(fresh_engine) == before
    assert "loaded before" in again.directories[0].summary()


@pytest.fixture
def served(folder: Path) -> Iterator[str]:
    (folder / "index.txt").write_text("# НСИ of the region\nF002_2026_2.xml\n", encoding="utf-8")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_an_update_from_a_url_index(fresh_engine: Engine, served: str) -> None:
    report = update_from(Database(fresh_engine), f"{served}/index.txt", TODAY)
    assert [(d.directory, len(d.added)) for d in report.directories] == [("F002", 1)]
    single = update_from(Database(fresh_engine), f"{served}/F002_2026_2.xml", TODAY)
    assert [d.already_loaded for d in single.directories] == [True]


def test_one_bad_file_refuses_the_whole_update(fresh_engine: Engine, folder: Path) -> None:
    (folder / "F003_broken.xml").write_bytes(b"<packet><zglv><type>F003</type></zglv><zap>")
    before = _versions(fresh_engine)
    with pytest.raises(NsiFormatError, match=r"F003_broken\.xml"):
        update_from(Database(fresh_engine), str(folder), TODAY)
    assert _versions(fresh_engine) == before  # the good F002 beside it was not imported either


def test_the_command_prints_the_report(
    fresh_engine: Engine, folder: Path, settings: Settings, services: ServiceUrls
) -> None:
    env = {
        "RSERZ_DATABASE_URL": fresh_engine.url.render_as_string(hide_password=False),
        "RSERZ_REDIS_URL": services.redis_url,
        "RSERZ_VAR_DIR": settings.var_dir,
    }
    result = CliRunner().invoke(main, ["nsi", "update", "--from", str(folder)], env=env)
    assert result.exit_code == 0, result.output
    assert "F002 2026.2 (F002_2026_2.xml): added 1 [45009 from" in result.output
    assert "1 new versions, 0 loaded before" in result.output
    (folder / "F003_broken.xml").write_bytes(b"<packet>")
    refused = CliRunner().invoke(main, ["nsi", "update", "--from", str(folder)], env=env)
    assert refused.exit_code == 1 and "refused, nothing imported" in refused.output


def test_an_index_may_name_only_http_files(fresh_engine: Engine, served: str, folder: Path) -> None:
    (folder / "index.txt").write_text("F002_2026_2.xml\nfile:///etc/passwd\n", encoding="utf-8")
    before = _versions(fresh_engine)
    with pytest.raises(NsiFormatError, match="not an http"):
        update_from(Database(fresh_engine), f"{served}/index.txt", TODAY)
    assert _versions(fresh_engine) == before


def test_the_hourly_job_reads_its_source_and_repeats_safely(
    fresh_engine: Engine, folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rserz_soap.jobs.nsi import scheduled_update

    monkeypatch.setenv("RSERZ_DATABASE_URL", fresh_engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("RSERZ_NSI_SOURCE", str(tmp_path / "nowhere"))
    assert scheduled_update().startswith("no НСИ source at")
    monkeypatch.setenv("RSERZ_NSI_SOURCE", str(folder))
    first = scheduled_update()
    assert first.startswith("F002 2026.2 (F002_2026_2.xml): added 1")
    assert scheduled_update() == "F002 2026.2 (F002_2026_2.xml): loaded before, nothing changed"
