"""The console's functions through the test client: each page calls its use case and logs what it did."""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from rq import Queue, SimpleWorker
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.test import Client
from werkzeug.wrappers import Response

from rserz_soap.admin import ConsoleDeps, create_console
from rserz_soap.db import exchange
from rserz_soap.db.exchange import ExchangeRecord
from rserz_soap.db.federal import ItemRow
from rserz_soap.domain.federal import FederalPerson, FederalPolicy
from rserz_soap.domain.person import Document, PolicyType
from rserz_soap.domain.records import PolicyInput
from rserz_soap.usecases import participants, snapshots
from tests import builders
from tests.admin.conftest import ConsoleStand, Person, csrf_of, login


def _register(stand: ConsoleStand, fam: str, im: str, dr: date, n: int, w: int = 1) -> Person:
    from rserz_soap.domain.identifiers import make_snils

    ss = make_snils(300_000_000 + n * 1013)
    docdate = date(dr.year + (45 if 2025 - dr.year >= 46 else 20), dr.month, 1) + timedelta(days=40)
    rec = builders.record(
        "П010",
        n_rec=n,
        person=builders.person_data(
            fam=fam, im=im, ot="Олегович" if w == 1 else "Олеговна", dr=dr, w=w, ss=ss
        ),
        documents=(Document(14, "46 11", f"7{n:05d}", docdate, name_vp="ОВД"),),
        policy=PolicyInput(vpolis=PolicyType.VS, npolis=f"45007{n:04d}", dbeg=date(2025, 3, 3)),
    )
    (res,) = stand.register.submit(stand.smo, [rec])
    assert res.code_erp == "AA", res
    return Person(res.person_id, res.enp, fam, im, "", dr, ss, f"7{n:05d}", docdate, w)  # type: ignore[arg-type]


def _events(stand: ConsoleStand, event: str, login_: str) -> list[Any]:
    return stand.rows(
        "SELECT object_id, outcome, details FROM security_event WHERE event = :e AND login = :l ORDER BY id",
        e=event,
        l=login_,
    )


# -- the dashboard -------------------------------------------------------------------------------------------


def test_dashboard_shows_the_insured_the_backlog_and_the_links(stand: ConsoleStand, as_role) -> None:
    body = as_role("viewer").get("/admin/").get_data(as_text=True)
    insured = stand.scalar(
        "SELECT count(DISTINCT person_id) FROM insurance_period WHERE superseded_at IS NULL AND dstop IS NULL"
    )
    assert f'id="insured-total">{insured}<' in body
    assert "45001" in body and "<svg" in body and "ФЕРЗЛ" in body and "СМЭВ 3" in body
    assert "Очереди" in body and "federal" in body


# -- search and the federal register side by side ------------------------------------------------------------


class FakeFederal:
    """The federal register as the console's port (``admin.federal.PersonLookup``) shows it, holding one
    person differently (a changed surname). The ФЕРЗЛ wire itself is tested against the emulator in
    tests/federal/; here only what the console does with an answer matters."""

    def __init__(self, person: Person) -> None:
        self.holds = person
        self.asked: list[dict[str, Any]] = []

    def find_persons(
        self, fam: str, im: str | None, ot: str | None, dr: date | None, *, page: int = 1, size: int = 20
    ) -> tuple[int, list[tuple[str, str | None, str]]]:
        self.asked.append({"fio": (fam, im, ot, dr)})
        p = self.holds
        return (1, [(f"{p.fam} {p.im}", p.enp, "oip-1")]) if (fam, dr) == (p.fam, p.dr) else (0, [])

    def person(self, *, on: date | None = None, **key: object) -> FederalPerson | None:
        if "oip" not in key:
            self.asked.append(dict(key))
        p = self.holds
        if key.get("enp") not in (None, p.enp):
            return None
        return FederalPerson(
            p.enp,
            "INSURED",
            p.fam + "-Федеральная",
            p.im,
            p.ot,
            p.w,
            p.dr,
            ss=p.ss,
            documents=(Document(14, "45 07", p.docnum, p.docdate),),
            policies=(FederalPolicy("45001", "В", date(2025, 3, 3)),),
        )


@pytest.fixture
def federal_console(stand: ConsoleStand) -> Callable[[Person], tuple[Client, FakeFederal]]:
    def make(person: Person) -> tuple[Client, FakeFederal]:
        fake = FakeFederal(person)
        app = create_console(ConsoleDeps(stand.settings, stand.db(), stand.redis(), federal=lambda: fake))  # type: ignore[arg-type, return-value]
        return Client(DispatcherMiddleware(Response("not here", status=404), {"/admin": app.wsgi_app})), fake

    return make


def test_search_shows_the_register_and_ferzl_side_by_side(stand: ConsoleStand, federal_console) -> None:
    person = stand.persons[3]
    client, fake = federal_console(person)
    assert login(client, "operator").status_code == 302  # type: ignore[arg-type]
    token = csrf_of(client, "/admin/search")  # type: ignore[arg-type]
    r = client.post("/admin/search", data={"enp": person.enp, "federal": "1", "csrf_token": token})
    body = r.get_data(as_text=True)
    regional, federal = body.split('id="federal-side"')
    assert person.enp in regional and f"{person.fam}-Федеральная" in federal
    assert fake.asked == [{"enp": person.enp}]
    r = client.post(
        "/admin/search",
        data={
            "fam": person.fam,
            "im": person.im,
            "ot": person.ot,
            "dr": person.dr.isoformat(),
            "federal": "1",
            "csrf_token": token,
        },
    )
    assert fake.asked[-1] == {"fio": (person.fam, person.im, person.ot, person.dr)}
    assert [e[2]["key"] for e in _events(stand, "federal_searched", "operator")][-2:] == ["ENP", "FIO"]


def test_without_ferzl_the_search_says_so_and_still_answers_from_the_register(
    stand: ConsoleStand, as_role
) -> None:
    op = as_role("operator")
    p = stand.persons[0]
    r = op.post(
        "/admin/search", data={"enp": p.enp, "federal": "1", "csrf_token": csrf_of(op, "/admin/search")}
    )
    body = r.get_data(as_text=True)
    assert r.status_code == 200 and p.enp in body and "ФЕРЗЛ недоступен" in body  # no password: never set up


def test_a_search_by_part_of_a_name_and_bad_keys(stand: ConsoleStand, as_role) -> None:
    op = as_role("operator")
    token = csrf_of(op, "/admin/search")
    body = op.post("/admin/search", data={"fam": "Соколов", "csrf_token": token}).get_data(as_text=True)
    assert stand.persons[1].enp in body
    r = op.post("/admin/search", data={"enp": "123", "csrf_token": token})
    assert r.status_code == 400 and "16 цифр" in r.get_data(as_text=True)
    r = op.post(
        "/admin/search", data={"enp": stand.persons[0].enp, "ss": stand.persons[0].ss, "csrf_token": token}
    )
    assert r.status_code == 400 and "один ключ" in r.get_data(as_text=True)


# -- the card: federal comparison, applying federal values, state on a date ----------------------------------


def test_card_compared_with_ferzl_then_the_federal_surname_applied(
    stand: ConsoleStand, federal_console
) -> None:
    person = _register(stand, "Григорьев", "Павел", date(1975, 4, 4), 501)
    client, _fake = federal_console(person)
    login(client, "operator")  # type: ignore[arg-type]
    token = csrf_of(client, f"/admin/persons/{person.person_id}")  # type: ignore[arg-type]
    body = client.post(f"/admin/persons/{person.person_id}/federal", data={"csrf_token": token}).get_data(
        as_text=True
    )
    assert 'class="differs"' in body and "Григорьев-Федеральная" in body
    form = client.get(f"/admin/persons/{person.person_id}/change").get_data(as_text=True)
    assert 'value="fam"' in form and "Григорьев-Федеральная" in form
    r = client.post(
        f"/admin/persons/{person.person_id}/change",
        data={"mode": "federal", "fields": ["fam"], "reason": "по данным ФЕРЗЛ", "csrf_token": token},
    )
    assert r.status_code == 302
    assert (
        stand.scalar(
            "SELECT fam FROM person_data WHERE person_id = :p AND superseded_at IS NULL AND valid_to IS NULL",
            p=person.person_id,
        )
        == "Григорьев-Федеральная"
    )
    card = client.get(f"/admin/persons/{person.person_id}").get_data(as_text=True)
    assert "ручное: по данным ФЕРЗЛ" in card and "по данным ФЕРЗЛ" in card
    then = client.get(f"/admin/persons/{person.person_id}?on=2025-03-01").get_data(as_text=True)
    assert "Не застрахован на эту дату" in then  # the ВС began on 2025-03-03


def test_a_deviation_needs_a_justification(stand: ConsoleStand, as_role) -> None:
    op = as_role("operator")
    p = stand.persons[2]
    token = csrf_of(op, f"/admin/persons/{p.person_id}/change")
    r = op.post(
        f"/admin/persons/{p.person_id}/change",
        data={"mode": "deviation", "field": "mr", "value": "x", "justification": " ", "csrf_token": token},
    )
    assert r.status_code == 400 and "обоснования" in r.get_data(as_text=True)
    r = op.post(
        f"/admin/persons/{p.person_id}/change",
        data={
            "mode": "deviation",
            "field": "dr",
            "value": "2999-01-01",
            "justification": "суд",
            "csrf_token": token,
        },
    )
    assert r.status_code == 400 and "будущем" in r.get_data(as_text=True)
    assert _events(stand, "person_changed", "operator")[-1][1] == "failure"


def test_merge_and_unmerge_duplicates_from_the_console(stand: ConsoleStand, as_role) -> None:
    a = _register(stand, "Тихонов", "Глеб", date(1988, 2, 2), 601)
    b = _register(stand, "Тихонов", "Глеб", date(1988, 2, 3), 602)
    op = as_role("operator")
    page = op.get(f"/admin/persons/{a.person_id}/duplicates").get_data(as_text=True)
    assert f'value="{b.person_id}"' in page
    token = csrf_of(op, f"/admin/persons/{a.person_id}/duplicates")
    r = op.post(
        f"/admin/persons/{a.person_id}/merge",
        data={"other": b.person_id, "keep": "this", "reason": "один человек", "csrf_token": token},
    )
    assert r.status_code == 302
    assert stand.scalar("SELECT merged_into FROM person WHERE id = :p", p=b.person_id) == a.person_id
    merge_id = stand.scalar("SELECT id FROM person_merge WHERE merged_id = :p", p=b.person_id)
    card = op.get(f"/admin/persons/{a.person_id}").get_data(as_text=True)
    assert "Объединения" in card and b.enp in card  # the duplicate's ЕНП is an alias now
    r = op.post(
        f"/admin/merges/{merge_id}/undo",
        data={"person": a.person_id, "reason": "разные люди", "csrf_token": token},
    )
    assert r.status_code == 302
    assert stand.scalar("SELECT merged_into FROM person WHERE id = :p", p=b.person_id) is None
    assert [e[0] for e in _events(stand, "persons_merged", "operator")][-1] == str(a.person_id)
    assert _events(stand, "merge_undone", "operator")[-1][0] == str(merge_id)
    rv = as_role("reviewer")
    r = rv.post(
        f"/admin/merges/{merge_id}/undo", data={"reason": "x", "csrf_token": csrf_of(rv, "/admin/search")}
    )
    assert r.status_code == 403


# -- the buffer ------------------------------------------------------------------------------------------------


def test_bulk_decisions_and_filters_in_the_buffer(stand: ConsoleStand, as_role) -> None:
    people = [
        _register(stand, f"Орлов{s}", "Лев", date(1970, 5, 5 + i), 700 + i)
        for i, s in enumerate(("", "ский"))
    ]
    held = [stand.hold(p, p.fam + "-Новый", 710 + i) for i, p in enumerate(people)]
    rv = as_role("reviewer")
    listing = rv.get("/admin/buffer/?state=awaiting_review&op=П061").get_data(as_text=True)
    assert all(f'value="{h}"' in listing for h in held)
    token = csrf_of(rv, "/admin/buffer/")
    r = rv.post(
        "/admin/buffer/bulk",
        data={
            "ids": [str(h) for h in held],
            "decision": "reject",
            "reason": "не подтверждено",
            "csrf_token": token,
        },
    )
    assert r.status_code == 302
    states = {s for (s,) in stand.rows("SELECT state FROM buffer_entry WHERE id = ANY(:ids)", ids=held)}
    assert states == {"rejected"}
    decided = _events(stand, "buffer_decided", "reviewer")
    assert {d[0] for d in decided} >= {str(h) for h in held} and all(d[2]["bulk"] for d in decided[-2:])
    # a decided entry cannot be decided again
    rv.post(
        f"/admin/buffer/{held[0]}/decide",
        data={"decision": "accept", "reason": "ещё раз", "csrf_token": token},
    )
    assert _events(stand, "buffer_decided", "reviewer")[-1][1] == "failure"
    # an operator sees the buffer but cannot decide
    op = as_role("operator")
    assert op.get(f"/admin/buffer/{held[0]}").status_code == 200
    assert (
        op.post(
            "/admin/buffer/bulk",
            data={
                "ids": [str(held[1])],
                "decision": "accept",
                "reason": "x",
                "csrf_token": csrf_of(op, "/admin/buffer/"),
            },
        ).status_code
        == 403
    )


# -- reconciliation ------------------------------------------------------------------------------------------


def test_reconciliation_started_its_report_paged_filtered_and_exported(
    stand: ConsoleStand, as_role, monkeypatch: pytest.MonkeyPatch
) -> None:
    import rserz_soap.jobs.federal as federal_jobs

    queued: list[int] = []

    def enqueue(_redis: object, run_id: int) -> object:  # the worker is not under test here
        queued.append(run_id)
        return type("Job", (), {"id": "job-1"})()

    monkeypatch.setattr(federal_jobs, "enqueue_reconciliation", enqueue)
    op = as_role("operator")
    r = op.post(
        "/admin/reconcile/",
        data={"smo": "45001", "policy": "report", "csrf_token": csrf_of(op, "/admin/reconcile/")},
    )
    assert r.status_code == 302
    run_id = queued[0]
    assert stand.scalar("SELECT filter->>'smo' FROM reconciliation_run WHERE id = :r", r=run_id) == "45001"
    items = [
        ItemRow(
            f"45{i:014d}",
            None,
            "differs" if i % 3 else "missing_federally",
            "fam" if i % 3 else "*",
            f"Р{i}",
            f"Ф{i}",
            "reported",
        )
        for i in range(160)
    ]
    differs = sum(1 for i in range(160) if i % 3)
    with stand.db().unit_of_work() as uow:
        uow.reconciliation.add_items(run_id, items)
    page1 = op.get(f"/admin/reconcile/{run_id}?category=differs").get_data(as_text=True)
    assert page1.count('<tr class="differs">') == 100 and 'rel="next"' in page1
    import re

    after = re.search(r"after=(\d+)", page1)
    assert after is not None
    page2 = op.get(f"/admin/reconcile/{run_id}?category=differs&after={after.group(1)}").get_data(
        as_text=True
    )
    assert page2.count('<tr class="differs">') == differs - 100 and 'rel="next"' not in page2
    exported = op.get(f"/admin/reconcile/{run_id}/report.csv?category=differs")
    rows = list(csv.reader(io.StringIO(exported.get_data(as_text=True).lstrip("\ufeff")), delimiter=";"))
    assert rows[0][0] == "ЕНП" and len(rows) == 1 + differs
    xlsx = op.get(f"/admin/reconcile/{run_id}/report.xlsx")
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(xlsx.get_data())).active
    assert sheet.max_row == 161 and sheet.cell(1, 3).value == "поле"
    assert [e[2]["format"] for e in _events(stand, "exported", "operator")][-2:] == ["csv", "xlsx"]
    assert as_role("viewer").get(f"/admin/reconcile/{run_id}/report.csv").status_code == 403
    r = op.post(f"/admin/reconcile/{run_id}/cancel", data={"csrf_token": csrf_of(op, "/admin/reconcile/")})
    assert stand.scalar("SELECT state FROM reconciliation_run WHERE id = :r", r=run_id) == "cancelled"


# -- the exchange journal ------------------------------------------------------------------------------------


def test_exchange_journal_filters_and_bodies_only_for_the_auditor(stand: ConsoleStand, as_role) -> None:
    pid = stand.smo.participant_id
    corr = uuid.uuid4()
    with stand.engine.begin() as conn:
        exchange.record(
            conn,
            ExchangeRecord(
                corr,
                "in",
                "register",
                "submitOperations",
                "ok",
                participant_id=pid,
                request_body="<req>тело</req>",
                response_body="<resp/>",
            ),
            log_bodies=True,
        )
        exchange.record(
            conn,
            ExchangeRecord(
                uuid.uuid4(), "out", "ferzl", "getPersonData", "error", peer="ferzl", error_code="UNAVAILABLE"
            ),
        )
    au = as_role("auditor")
    listing = au.get(f"/admin/journal?correlation={corr}").get_data(as_text=True)
    assert "submitOperations" in listing and "getPersonData" not in listing
    failed = au.get("/admin/journal?outcome=error&direction=out").get_data(as_text=True)
    assert "getPersonData" in failed and "submitOperations" not in failed
    row_id = stand.scalar("SELECT id FROM exchange_journal WHERE correlation_id = :c", c=corr)
    assert "&lt;req&gt;тело&lt;/req&gt;" in au.get(f"/admin/journal/{row_id}").get_data(as_text=True)
    assert _events(stand, "exchange_body_viewed", "auditor")[-1][0] == str(row_id)
    admin_view = as_role("administrator").get(f"/admin/journal/{row_id}").get_data(as_text=True)
    assert "тело" not in admin_view and "просматривать их может аудитор" in admin_view
    assert as_role("viewer").get("/admin/journal").status_code == 403


# -- jobs ------------------------------------------------------------------------------------------------------


def _boom() -> None:
    raise RuntimeError("задание упало нарочно")


def test_jobs_schedule_trigger_and_retry_of_a_failed_job(stand: ConsoleStand, as_role) -> None:
    rds = stand.redis()
    rds.flushdb()
    adm = as_role("administrator")
    page = adm.get("/admin/jobs/").get_data(as_text=True)
    assert "Пульс планировщика" in page and "rserz_soap.jobs.buffer.drain" in page
    token = csrf_of(adm, "/admin/jobs/")
    r = adm.post(
        "/admin/jobs/run", data={"name": "rserz_soap.jobs.housekeeping.heartbeat", "csrf_token": token}
    )
    assert r.status_code == 302
    assert Queue("default", connection=rds).count == 1
    job = Queue("default", connection=rds).jobs[0]
    assert job.meta["triggered_by"] == "administrator"
    assert "queued" in adm.get(f"/admin/jobs/{job.id}").get_data(as_text=True)
    Queue("default", connection=rds).empty()
    failing = Queue("exports", connection=rds).enqueue(_boom)
    SimpleWorker([Queue("exports", connection=rds)], connection=rds).work(burst=True)
    page = adm.get("/admin/jobs/").get_data(as_text=True)
    assert failing.id in page and "задание упало нарочно" in page
    assert adm.post(f"/admin/jobs/{failing.id}/retry", data={"csrf_token": token}).status_code == 302
    assert Queue("exports", connection=rds).count == 1
    op = as_role("operator")  # may see the jobs, may not run them
    assert (
        op.post("/admin/jobs/run", data={"name": "x", "csrf_token": csrf_of(op, "/admin/jobs/")}).status_code
        == 403
    )
    rds.flushdb()


# -- snapshots, НСИ ------------------------------------------------------------------------------------------


def test_a_published_snapshot_downloads_as_csv_for_whom_may(stand: ConsoleStand, as_role, tmp_path) -> None:
    day = date.today().replace(day=1)
    info = snapshots.publish(stand.db().unit_of_work(), day, actor="test")
    op = as_role("operator")
    assert day.strftime("%d.%m.%Y") in op.get("/admin/snapshots").get_data(as_text=True)
    r = op.get(f"/admin/snapshots/{day.isoformat()}.csv")
    rows = list(csv.reader(io.StringIO(r.get_data(as_text=True).lstrip("\ufeff")), delimiter=";"))
    assert rows[0][0] == "ENP" and len(rows) == info.persons + 1
    assert as_role("viewer").get(f"/admin/snapshots/{day.isoformat()}.csv").status_code == 403
    # the XML download is the very file `rserz snapshot export` writes (the same use case, the same bytes)
    xml = op.get(f"/admin/snapshots/{day.isoformat()}.xml")
    assert xml.status_code == 200 and f"SNAP_T45000_{day:%Y%m%d}.xml" in xml.headers["Content-Disposition"]
    written = snapshots.export(stand.db(), day, "xml", tmp_path, okato="45000")
    assert xml.get_data() == written.path.read_bytes()
    assert op.get(f"/admin/snapshots/{day.isoformat()}.pdf").status_code == 404
    assert as_role("viewer").get("/admin/nsi").status_code == 200 and "F002" in as_role("viewer").get(
        "/admin/nsi"
    ).get_data(as_text=True)


# -- participants and certificates -------------------------------------------------------------------------


def _certificate(days: int) -> bytes:
    from cryptography.hazmat.primitives import serialization

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "СМО 45001 (тест)")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=days)).sign(key, hashes.SHA256())
    )  # fmt: skip
    return cert.public_bytes(serialization.Encoding.PEM)


def test_administrator_manages_participants_and_certificates(stand: ConsoleStand, as_role) -> None:
    adm = as_role("administrator")
    pid = stand.smo.participant_id
    token = csrf_of(adm, "/admin/participants")
    r = adm.post(f"/admin/participants/{pid}", data={"active": "1", "log_bodies": "1", "csrf_token": token})
    assert (
        r.status_code == 302
        and stand.scalar("SELECT log_bodies FROM participant WHERE id = :p", p=pid) is True
    )
    # the encoding of the СМО's daily files shows on its card
    participants.set_file_encoding(stand.db().unit_of_work(), "smo", stand.smo.code, "windows-1251")
    assert "кодировке <code>windows-1251</code>" in adm.get("/admin/participants").get_data(as_text=True)
    r = adm.post(
        f"/admin/participants/{pid}/certificates",
        data={"pem": (io.BytesIO(_certificate(10)), "smo.pem"), "csrf_token": token},
        content_type="multipart/form-data",
    )
    assert r.status_code == 302
    page = adm.get("/admin/participants").get_data(as_text=True)
    assert 'id="expiry-warning"' in page and "истекает скоро" in page
    cert_id = stand.scalar("SELECT max(id) FROM participant_certificate WHERE participant_id = :p", p=pid)
    assert adm.post(f"/admin/certificates/{cert_id}/revoke", data={"csrf_token": token}).status_code == 302
    assert stand.scalar("SELECT revoked_at IS NOT NULL FROM participant_certificate WHERE id = :c", c=cert_id)
    events = [
        e[1]
        for e in stand.rows(
            "SELECT outcome, event FROM security_event WHERE login = 'administrator' ORDER BY id"
        )
    ]
    assert {"participant_changed", "certificate_added", "certificate_revoked"} <= set(events)
    adm.post(
        f"/admin/participants/{pid}", data={"active": "1", "csrf_token": token}
    )  # body logging off again
    au = as_role("auditor")
    assert au.get("/admin/participants").status_code == 200
    mine = csrf_of(au, "/admin/participants")
    assert au.post(f"/admin/participants/{pid}", data={"active": "0", "csrf_token": mine}).status_code == 403


# -- users ---------------------------------------------------------------------------------------------------


def test_administrator_adds_a_user_who_logs_in_with_the_one_time_password(
    stand: ConsoleStand, console, as_role
) -> None:
    import re

    adm = as_role("administrator")
    token = csrf_of(adm, "/admin/users/")
    r = adm.post(
        "/admin/users/",
        data={
            "login": "Ivanova.A",
            "full_name": "Иванова Анна Сергеевна",
            "roles": ["operator", "reviewer"],
            "csrf_token": token,
        },
    )
    found = re.search(r'id="one-time-password">([^<]+)<', r.get_data(as_text=True))
    assert r.status_code == 200 and found
    client = console.test_client()
    assert login(client, "ivanova.a", found.group(1)).status_code == 302
    assert client.get("/admin/").headers["Location"].endswith("/admin/account/password")
    uid = stand.scalar("SELECT id FROM console_user WHERE login = 'ivanova.a'")
    adm.post(f"/admin/users/{uid}/roles", data={"roles": ["viewer"], "csrf_token": token})
    assert (
        stand.scalar("SELECT string_agg(role, ',') FROM console_user_role WHERE user_id = :u", u=uid)
        == "viewer"
    )
    dup = adm.post(
        "/admin/users/",
        data={"login": "ivanova.a", "full_name": "x", "roles": ["viewer"], "csrf_token": token},
    )
    assert dup.status_code == 400 and "уже есть" in dup.get_data(as_text=True)
    settings_page = adm.get("/admin/users/settings").get_data(as_text=True)
    assert "RSERZ_CONSOLE_IDLE_MINUTES" in settings_page and "RSERZ_CONSOLE_SECRET" in settings_page
