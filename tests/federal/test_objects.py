"""The rest of the fund's side: military suspension (§3.5), attachments with ФРМО identifiers (§3.4.1),
and what the hub reads of НИЛ, newborns and legal representatives (§3.7–3.9)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import text

from rserz_soap.domain import military as mil
from rserz_soap.domain.person import Attachment, Document
from rserz_soap.usecases import federal_attach, military
from tests.federal.conftest import Stand


def _persons(stand: Stand, n: int) -> list[tuple[int, str, Document, str | None, date, str, str, str | None]]:
    planted = {p.enp for p in stand.planted}
    with stand.hub.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT p.id, p.main_enp, x.doctype, x.docser, x.docnum, d.ss, d.dr, d.fam, d.im, d.ot FROM person p"
                " JOIN person_data d ON d.person_id = p.id AND d.superseded_at IS NULL AND d.valid_to IS NULL"
                " JOIN identity_document x ON x.person_id = p.id AND x.superseded_at IS NULL AND x.is_main"
                " AND x.valid_to IS NULL WHERE d.status = 'insured' AND d.w = 1 ORDER BY p.id DESC LIMIT 200"
            )
        ).all()
    out = [
        (r.id, r.main_enp, Document(r.doctype, r.docser, r.docnum), r.ss, r.dr, r.fam, r.im, r.ot)
        for r in rows
    ]
    return [p for p in out if p[1] not in planted][:n]


def test_a_military_list_suspends_insurance_in_ferzl_and_in_the_register_once(small_stand: Stand) -> None:
    stand = small_stand
    chosen = _persons(stand, 2)
    start = date(2026, 11, 15)
    header = mil.ListHeader("4599", "вк-2026-11", date(2026, 11, 16))
    rows = [
        mil.ServiceRow(
            i + 1, mil.Kind.ENTERING, fam, im, ot, dr, doc.doctype, doc.docser, doc.docnum, snils, start,
            date(2027, 11, 14),
        )
        for i, (_pid, _enp, doc, snils, dr, fam, im, ot) in enumerate(chosen)
    ]  # fmt: skip
    stranger = mil.ServiceRow(
        3, mil.Kind.ENTERING, "Неизвестный", "Пётр", None, date(2000, 1, 1), 14, "45 00", "000000", None,
        start, start,
    )  # fmt: skip
    lst = mil.MilitaryList(header, (*rows, stranger))
    protocol = military.import_list(
        stand.uow(), stand.client(), lst, terr=stand.settings.region_okato, sleep=lambda _s: None
    )
    assert [(ln.n, ln.status) for ln in protocol.lines] == [(1, "suspended"), (2, "suspended"), (3, "held")]
    for _pid, enp, *_ in chosen:
        assert stand.hub_scalar(
            "SELECT d.status FROM person_data d JOIN person p ON p.id = d.person_id WHERE p.main_enp = :e"
            " AND d.superseded_at IS NULL AND d.valid_to IS NULL", e=enp
        ) == "suspended"  # fmt: skip
        assert (
            stand.ferzl_scalar("SELECT event FROM fed_event WHERE enp = :e ORDER BY event_id DESC", e=enp)
            == "ПРИОСТ"
        )
        assert stand.hub_scalar("SELECT count(*) FROM stop_list_entry WHERE enp = :e", e=enp) == 1
    # the same list again: the first protocol, ФЕРЗЛ not asked again, the register unchanged
    again = military.import_list(
        stand.uow(), stand.client(), lst, terr=stand.settings.region_okato, sleep=lambda _s: None
    )
    assert again.repeat and again.lines == protocol.lines
    assert stand.ferzl_scalar("SELECT count(*) FROM fed_event WHERE event = 'ПРИОСТ'") == 2


def test_an_attachment_reaches_ferzl_with_its_frmo_identifiers(small_stand: Stand) -> None:
    stand = small_stand
    (_pid, enp, *_rest) = _persons(stand, 3)[2]
    attachment = Attachment("450001", 1, date(2026, 10, 1), 2, section="7", doctor_snils=None)
    frmo = {"450001": ("1.2.643.5.1.13.13.12.2.45.4501", "1.2.643.5.1.13.13.12.2.45.4501.1")}
    rid = str(uuid.uuid4())
    answer = federal_attach.register_attachment(stand.client(), rid, enp, attachment, frmo)
    assert answer.accepted and answer.oip == "ДПП", answer
    assert (
        stand.ferzl_scalar("SELECT event FROM fed_event WHERE enp = :e ORDER BY event_id DESC", e=enp)
        == "ПРИКРМО"
    )
    repeat = federal_attach.register_attachment(stand.client(), rid, enp, attachment, frmo)
    assert repeat == answer
    assert (
        stand.ferzl_scalar("SELECT count(*) FROM fed_event WHERE enp = :e AND event = 'ПРИКРМО'", e=enp) == 1
    )
    unknown = federal_attach.register_attachment(stand.client(), str(uuid.uuid4()), enp, attachment, {})
    assert not unknown.accepted and unknown.code == "FRMO"


def test_nil_newborns_and_legal_representatives_are_readable(small_stand: Stand) -> None:
    stand = small_stand
    client = stand.client()
    mother = client.person(enp=_persons(stand, 4)[3][1])
    assert mother is not None and mother.oip
    records: list[dict[str, Any]] = [
        {"kind": "nil", "oip": "900000999001", "nlr": "45-0001", "fioEstim": "Неизвестный Мужчина",
         "birthDay": "1970-01-01", "gender": 1, "dateKhodat": "2026-10-02", "mo_code": "450001"},
        {"kind": "nr", "oip": "900000999002", "surname": "Новорождённый", "gender": 1,
         "birthday": "2026-11-30", "legal_oip": mother.oip, "legal_enp": mother.enp},
        {"kind": "legalrep", "parent": mother.oip, "child": "900000999002", "type": "1",
         "date_b": "2026-11-30", "status": "ДПП"},
        {"kind": "legalrep", "parent": mother.oip, "child": "900000999003", "type": "1",
         "date_b": "2010-01-01", "date_e": "2028-01-01", "status": "НСД"},
    ]  # fmt: skip
    for r in records:
        status, _ = _control(stand, r)
        assert status == 200
    count, nils = client.nils(mo_code="450001")
    assert count == 1 and nils[0].nlr == "45-0001" and nils[0].birth_day == date(1970, 1, 1)
    assert client.nils(mo_code="459999") == (0, [])
    (nr,) = client.newborns(legal_enp=mother.enp)
    assert (nr.oip, nr.surname, nr.legal_oip) == ("900000999002", "Новорождённый", mother.oip)
    reps = client.legal_representatives(mother.oip)
    assert [(r.oip, r.represents, r.status) for r in reps] == [("900000999002", True, "ДПП")]
    history = client.legal_representatives(mother.oip, actual=False)
    assert {r.oip for r in history} == {"900000999002", "900000999003"}
    child = client.legal_representatives("900000999002")
    assert [(r.oip, r.represents, r.rep_type) for r in child] == [(mother.oip, False, "1")]


def _control(stand: Stand, body: dict[str, Any]) -> tuple[int, Any]:
    import requests

    r = requests.post(f"{stand.url}/_control/records", json=body, timeout=10)
    return r.status_code, r.json()
