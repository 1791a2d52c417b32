"""Acceptance (issue 15, 3): `rserz military import` suspends and resumes insurance, seen through the real
signed SOAP getInsuranceStatus on dates before, during and after the service.

A federal stand (the hub's register and the ФЕРЗЛ emulator seeded from one population, over real HTTP);
the command runs as an operator runs it; an СМО's signed zeep client asks the hub's real SOAP endpoint.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import zeep
from click.testing import CliRunner
from openpyxl import Workbook
from sqlalchemy import text

from rserz_soap.cli import main
from rserz_soap.db.participants import register_certificate
from rserz_soap.files.military import HEADER_COLUMNS, ROW_COLUMNS
from rserz_soap.usecases import federal_events
from rserz_soap.xmlsig import devpki
from rserz_soap.xmlsig.trust import TrustStore
from rserz_soap.xmlsig.zeep_plugin import WsseSigner
from tests.federal.conftest import Stand, stand_fixture
from tests.soap.conftest import Hub, build_hub_app

mil_stand = stand_fixture(300, 0.0, "300 persons, nothing planted: the military list's stand.")

TODAY = date.today()
START = TODAY - timedelta(days=90)
END = TODAY - timedelta(days=20)
COLUMNS = [*HEADER_COLUMNS, *ROW_COLUMNS]


@pytest.fixture(scope="module")
def hub(mil_stand: Stand) -> Iterator[Hub]:
    pki = mil_stand.settings.pki_dir
    issued = devpki.init_pki(pki, [devpki.ParticipantSpec("smo", "45001", "СМО 45001")])
    smo = next(c for c in issued if c.spec.kind == "smo")
    with mil_stand.hub.begin() as conn:
        register_certificate(conn, mil_stand.smo_participant, smo.cert_path.read_bytes())
    h = Hub("", mil_stand.hub, pki, mil_stand.settings, [])
    with build_hub_app(h) as url:
        h.url = url
        yield h


def _status_client(hub: Hub) -> Any:
    signer = WsseSigner(
        hub.keypair("smo-45001"), trust=TrustStore.from_pki_dir(hub.pki), expected_signers={hub.sha256("hub")}
    )
    return zeep.Client(f"{hub.url}/soap/identification?wsdl", wsse=signer)


def _conscripts(stand: Stand, n: int) -> list[Any]:
    """Insured persons whose policy began well before the service (their documents as the register has)."""
    with stand.hub.connect() as conn:
        rows = (
            conn.execute(
                text(
                    "SELECT p.id, p.main_enp AS enp, d.fam, d.im, d.ot, d.dr, d.ss, x.doctype, x.docser,"
                    " x.docnum, i.smo_code FROM person p"
                    " JOIN person_data d ON d.person_id = p.id AND d.superseded_at IS NULL AND d.valid_to IS NULL"
                    " JOIN identity_document x ON x.person_id = p.id AND x.superseded_at IS NULL AND x.is_main"
                    " AND x.valid_to IS NULL"
                    " JOIN insurance_period i ON i.person_id = p.id AND i.superseded_at IS NULL"
                    " AND i.dstop IS NULL"
                    " WHERE d.status = 'insured' AND d.w = 1 AND i.dbeg < :before ORDER BY p.id LIMIT :n"
                ),
                {"before": START - timedelta(days=30), "n": n},
            )
            .mappings()
            .all()
        )
    return [SimpleNamespace(**r) for r in rows]


def _row(kind: str, p: Any, *, number: str, start: date | None, end: date | None) -> list[Any]:
    return ["4501", "Военкомат г. Кургана", number, TODAY.isoformat(), kind, p.fam, p.im, p.ot or "",
            p.dr.strftime("%d.%m.%Y"), str(p.doctype), p.docser or "", p.docnum, p.ss or "",
            start.isoformat() if start else "", end.isoformat() if end else ""]  # fmt: skip


def _counts(stand: Stand) -> dict[str, int]:
    tables = (
        "person_version", "stop_list_entry", "buffer_entry", "idempotency_key", "insurance_period",
        "correction_entry",
    )  # fmt: skip
    out = {t: int(stand.hub_scalar(f"SELECT count(*) FROM {t}")) for t in tables}
    out["fed_event"] = int(stand.ferzl_scalar("SELECT count(*) FROM fed_event"))
    return out


def _run(stand: Stand, *args: str) -> Any:
    env = {k: v for k, v in stand.env().items() if k.startswith("RSERZ_")}
    return CliRunner().invoke(main, ["military", "import", *args], env=env)


def test_a_list_suspends_and_a_later_one_resumes_as_get_insurance_status_shows(
    mil_stand: Stand, hub: Hub, tmp_path: Path
) -> None:
    stand = mil_stand
    first, second, third = _conscripts(stand, 3)
    stranger = SimpleNamespace(**(vars(first) | {"fam": "Неизвестный", "docnum": "999999", "ss": None}))
    hostile = SimpleNamespace(**(vars(first) | {"fam": "=cmd|' /C calc'!A0", "docnum": "888888"}))
    misspelt = SimpleNamespace(**(vars(third) | {"fam": third.fam + "ий", "docnum": "777777", "ss": None}))

    # 1. the spring call-up: two persons the register knows, one it does not, one row with a formula
    entering = [
        _row("призыв", p, number="В-1", start=START, end=START + timedelta(days=364))
        for p in (first, second, stranger, hostile, misspelt)
    ]
    out = io.StringIO(newline="")
    csv.writer(out, delimiter=";", lineterminator="\r\n").writerows([COLUMNS, *entering])
    listing = tmp_path / "vk_4501_v1.csv"
    listing.write_bytes(out.getvalue().encode("cp1251"))
    result = _run(stand, str(listing), "--out", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    assert "suspended 2" in result.output and "held 2" in result.output and "rejected 1" in result.output
    protocol = tmp_path / "out" / f"MILP_4501_В-1_{TODAY:%Y%m%d}.csv"
    lines = list(csv.reader(io.StringIO(protocol.read_text("utf-8")), delimiter=";"))
    by_n = {r[0]: r for r in lines[3:]}
    assert [by_n[n][1:3] for n in "12345"] == [
        ["suspended", "MIL-200"],
        ["suspended", "MIL-200"],
        ["held", "MIL-210"],
        ["rejected", "MIL-107"],
        ["held", "MIL-210"],
    ]
    assert "=cmd" not in protocol.read_text("utf-8").replace("'=cmd", "")  # never a formula a sheet would run
    held_entry = int(by_n["3"][6])
    assert stand.hub_scalar(
        "SELECT b.state || ' ' || p.kind FROM buffer_entry b JOIN participant p ON p.id = b.participant_id"
        f" WHERE b.id = {held_entry}"
    ) == "awaiting_review military"  # fmt: skip
    assert "MIL-210" in stand.hub_scalar(
        f"SELECT reason FROM buffer_decision WHERE entry_id = {held_entry} AND to_state = 'awaiting_review'"
    )
    for p in (first, second):
        assert stand.ferzl_scalar(
            "SELECT event FROM fed_event WHERE enp = :e ORDER BY event_id DESC", e=p.enp
        ) == "ПРИОСТ"  # fmt: skip
        assert stand.hub_scalar(
            "SELECT count(*) FROM stop_list_entry WHERE enp = :e AND stop_date = :d", e=p.enp, d=START
        ) == 1  # fmt: skip

    # an operator settles the held rows: the misspelt one is the third person, the stranger is nobody
    env = {k: v for k, v in stand.env().items() if k.startswith("RSERZ_")}
    resolve = [
        "military",
        "resolve",
        by_n["5"][6],
        "--person",
        str(third.id),
        "--reason",
        "опечатка в списке",
    ]
    done = CliRunner().invoke(main, resolve, env=env)
    assert done.exit_code == 0 and "suspended" in done.output, done.output
    assert stand.hub_scalar(f"SELECT state FROM buffer_entry WHERE id = {by_n['5'][6]}") == "applied"
    assert stand.ferzl_scalar(
        "SELECT event FROM fed_event WHERE enp = :e ORDER BY event_id DESC", e=third.enp
    ) == "ПРИОСТ"  # fmt: skip
    again_resolved = CliRunner().invoke(main, resolve, env=env)
    assert again_resolved.exit_code == 1 and "not a военкомат row awaiting review" in again_resolved.output
    dismiss = ["military", "resolve", str(held_entry), "--dismiss", "--reason", "не наш житель"]
    assert CliRunner().invoke(main, dismiss, env=env).exit_code == 0
    assert stand.hub_scalar(f"SELECT state FROM buffer_entry WHERE id = {held_entry}") == "rejected"

    # 2. the same list again: the first protocol, nothing changes anywhere
    before = _counts(stand)
    again = _run(stand, str(listing), "--out", str(tmp_path / "again"))
    assert again.exit_code == 0 and "repeat: nothing changed" in again.output, again.output
    assert _counts(stand) == before
    repeated = (tmp_path / "again" / protocol.name).read_text("utf-8").splitlines()
    assert repeated[3:] == protocol.read_text("utf-8").splitlines()[3:]

    # 3. the autumn discharge, as XLSX: the first person leaves service
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(COLUMNS)
    sheet.append(_row("увольнение", first, number="У-1", start=START, end=END))
    sheet.append(_row("увольнение", stranger, number="У-1", start=START, end=END))
    discharge = tmp_path / "vk_4501_u1.xlsx"
    book.save(discharge)
    left = _run(stand, str(discharge), "--out", str(tmp_path / "out"))
    assert left.exit_code == 0 and "resumed 1" in left.output and "held 1" in left.output, left.output
    assert stand.ferzl_scalar(
        "SELECT event FROM fed_event WHERE enp = :e ORDER BY event_id DESC", e=first.enp
    ) == "ВОССТ"  # fmt: skip
    assert (
        stand.hub_scalar(
            "SELECT count(*) FROM correction_entry WHERE person_id = :p AND smo_code = :s AND tip_op = 'ВОССТ'",
            p=first.id,
            s=first.smo_code,
        )
        == 1
    )  # fmt: skip  (RECLIST: the СМО is told its insured person's policy was restored)

    # 4. what a participant sees: insured, suspended, insured again — the same ЕНП and СМО
    client = _status_client(hub)

    def status(p: Any, on: date) -> Any:
        return client.service.getInsuranceStatus(ENP=p.enp, DATE=on)

    assert status(first, START - timedelta(days=5)).INSURED is True
    during = status(first, START + timedelta(days=10))
    assert during.INSURED is False and during.STATUS == "suspended"
    after = status(first, END)
    assert after.INSURED is True and first.enp == after.ENP and after.STATUS == "insured"
    assert first.smo_code == after.INSURANCE.SMOCOD
    assert status(first, TODAY).INSURED is True
    assert status(second, START - timedelta(days=1)).INSURED is True
    assert status(second, TODAY).INSURED is False and status(second, TODAY).STATUS == "suspended"
    assert status(third, START - timedelta(days=1)).INSURED is True and status(third, TODAY).INSURED is False

    # 5. ФЕРЗЛ's own events of both lists (ПРИОСТ, ВОССТ) taken afterwards: they confirm, never undo
    versions = _counts(stand)["person_version"]
    for feed in federal_events.FEEDS:
        federal_events.pull(stand.uow(), stand.client(), stand.settings.region_okato, today=TODAY, feed=feed)
    taken = stand.hub_scalar(
        "SELECT string_agg(event || ':' || outcome, ',' ORDER BY event) FROM federal_event"
        " WHERE enp IN (:a, :b, :c)", a=first.enp, b=second.enp, c=third.enp
    )  # fmt: skip
    assert taken == "ВОССТ:unchanged,ПРИОСТ:unchanged,ПРИОСТ:unchanged,ПРИОСТ:unchanged", taken
    assert _counts(stand)["person_version"] == versions
    assert status(first, TODAY).INSURED is True and status(second, TODAY).INSURED is False

    # 6. the discharge list again changes nothing
    before = _counts(stand)
    assert "repeat" in _run(stand, str(discharge), "--out", str(tmp_path / "again")).output
    assert _counts(stand) == before


def test_a_file_refused_as_a_whole_changes_nothing_and_exits_2(mil_stand: Stand, tmp_path: Path) -> None:
    before = _counts(mil_stand)
    bad = tmp_path / "bad.xml"
    bad.write_bytes(b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "y">]><MILITARY_LIST/>')
    result = _run(mil_stand, str(bad))
    assert result.exit_code == 2 and "MIL-002" in result.output, result.output
    assert _counts(mil_stand) == before


def test_help_names_the_layout(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["military", "import", "--help"], env={"RSERZ_VAR_DIR": str(tmp_path)})
    assert result.exit_code == 0 and "docs/military.md" in result.output and "--out" in result.output


def test_with_ferzl_down_nothing_is_stored_and_the_same_list_later_goes_through(
    mil_stand: Stand, tmp_path: Path
) -> None:
    import datetime as dt
    import time

    (person,) = _conscripts(mil_stand, 1)
    out = io.StringIO(newline="")
    rows = [COLUMNS, _row("призыв", person, number="В-9", start=START, end=None)]
    csv.writer(out, delimiter=";", lineterminator="\r\n").writerows(rows)
    listing = tmp_path / "vk_v9.csv"
    listing.write_text(out.getvalue(), "utf-8")
    before = _counts(mil_stand)
    mil_stand.faults(outage_until=(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)).isoformat())
    try:
        time.sleep(1.1)  # the emulator reads its switches at most once a second
        down = _run(mil_stand, str(listing), "--out", str(tmp_path))
    finally:
        mil_stand.faults()
    assert down.exit_code == 3 and "run the same list again" in down.output, down.output
    assert _counts(mil_stand) == before  # no protocol, no suspension, nothing half-done
    time.sleep(2.2)  # the stand's breaker resets after 2 s
    up = _run(mil_stand, str(listing), "--out", str(tmp_path))
    assert up.exit_code == 0 and "suspended 1" in up.output, up.output

    # the same list number and date with another content is not the same list
    listing.write_text(out.getvalue().replace(person.docnum, "000001"), "utf-8")
    other = _run(mil_stand, str(listing), "--out", str(tmp_path))
    assert other.exit_code == 2 and "MIL-006" in other.output, other.output
