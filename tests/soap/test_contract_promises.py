"""Promises of docs/soap-contract.md, each checked end to end over HTTP with the independent client."""

from __future__ import annotations

import re
import uuid
from datetime import date
from typing import Any

import requests
from lxml import etree  # type: ignore[import-untyped, unused-ignore]
from sqlalchemy import text

from rserz_soap.db.uow import Database
from rserz_soap.domain.person import PersonCard
from rserz_soap.usecases import manual, snapshots
from tests.soap.conftest import Hub
from tests.soap.independent import CMN, call, err_code, fault_code

REG = "urn:ru:rserz:soap:register:v1"
ATT = "urn:ru:rserz:soap:attachment:v1"
IDN = "urn:ru:rserz:soap:identification:v1"


def _p040(card: PersonCard, phone: str) -> str:
    """A П040 of the card as it is, with only PHONE changed (the shape СМО software sends)."""
    d = card.data
    doc = next(x for x in card.documents if x.is_main)
    period = card.open_period()
    assert period is not None
    person = "".join(
        f"<cmn:{k}>{v}</cmn:{k}>"
        for k, v in (
            ("FAM", d.fam),
            ("IM", d.im),
            ("OT", d.ot),
            ("W", d.w),
            ("DR", d.dr),
            ("MR", d.mr),
            ("C_OKSM", d.c_oksm),
            ("SS", d.ss),
            ("KATEG", d.kateg),
            ("PHONE", phone),
        )
        if v is not None
    )
    series = f"<cmn:DOCSER>{doc.docser}</cmn:DOCSER>" if doc.docser else ""
    return (
        f'<reg:submitOperations xmlns:reg="{REG}" xmlns:cmn="{CMN}"><reg:REQUEST_ID>{uuid.uuid4()}</reg:REQUEST_ID>'
        f"<reg:OPLIST><reg:VERS>1.0</reg:VERS><reg:SMOCOD>45001</reg:SMOCOD><reg:NRECORDS>1</reg:NRECORDS>"
        f"<reg:OP><reg:N_REC>1</reg:N_REC><reg:TIP_OP>П040</reg:TIP_OP><reg:PERSON>{person}</reg:PERSON>"
        f"<reg:DOC><cmn:DOCTYPE>{doc.doctype}</cmn:DOCTYPE>{series}<cmn:DOCNUM>{doc.docnum}</cmn:DOCNUM>"
        f"<cmn:DOCDATE>{doc.docdate}</cmn:DOCDATE><cmn:MAIN>true</cmn:MAIN></reg:DOC>"
        f"<reg:VIZIT><reg:DVIZIT>{date.today()}</reg:DVIZIT><reg:METHOD>1</reg:METHOD></reg:VIZIT>"
        f"<reg:INSURANCE><reg:TER_ST>{period.ter_st}</reg:TER_ST><reg:ENP>{card.enp}</reg:ENP></reg:INSURANCE>"
        f"</reg:OP></reg:OPLIST></reg:submitOperations>"
    )


def _history(hub: Hub, folder: str, enp: str) -> Any:
    status, body = call(
        hub.url,
        hub.pki,
        folder,
        f'<reg:getPersonHistory xmlns:reg="{REG}"><reg:ENP>{enp}</reg:ENP></reg:getPersonHistory>',
    )
    assert status == 200
    return body


def test_person_history_is_for_the_persons_insurer_only(hub: Hub) -> None:
    enp = hub.persons[0].enp
    mine = _history(hub, "smo-45001", enp)
    assert err_code(mine) == "0" and mine.findall(f"{{{REG}}}VERSION")
    other = _history(hub, "smo-45002", enp)  # 45002 never insured this person: as if nobody were there
    unknown = _history(hub, "smo-45002", "4500000000000000")
    assert err_code(other) == err_code(unknown) == "1"
    assert other.findtext(f"{{{CMN}}}ERR_TEXT") == unknown.findtext(f"{{{CMN}}}ERR_TEXT")
    assert other.find(f"{{{REG}}}VERSION") is None and other.find(f"{{{REG}}}ENP") is None


def test_a_history_change_names_the_fields_it_changed(hub: Hub) -> None:
    card = hub.persons[2]
    status, body = call(hub.url, hub.pki, "smo-45001", _p040(card, "+79130000000"))
    assert status == 200 and body.findtext(f".//{{{REG}}}CODE_ERP") == "AA", etree.tostring(body)[:600]
    latest = _history(hub, "smo-45001", card.enp).findall(f"{{{REG}}}VERSION")[-1]
    assert latest.findtext(f"{{{REG}}}OPERATION") == "П040"
    (person,) = [c for c in latest.findall(f"{{{REG}}}CHANGE") if c.findtext(f"{{{REG}}}ASPECT") == "PERSON"]
    assert [f.text for f in person.findall(f"{{{REG}}}FIELD")] == ["PHONE"]


def _attach(hub: Hub, enp: str, date_in: date, area: int = 1) -> Any:
    return call(
        hub.url,
        hub.pki,
        "mo-450001",
        f'<att:attachPerson xmlns:att="{ATT}"><att:REQUEST_ID>{uuid.uuid4()}</att:REQUEST_ID><att:ENP>{enp}</att:ENP>'
        f"<att:MO>450001</att:MO><att:AREA_TYPE>{area}</att:AREA_TYPE><att:DATE_IN>{date_in}</att:DATE_IN>"
        f"<att:METHOD>2</att:METHOD></att:attachPerson>",
    )[1]


def _detach(hub: Hub, enp: str, date_out: date, area: int = 1) -> Any:
    return call(
        hub.url,
        hub.pki,
        "mo-450001",
        f'<att:detachPerson xmlns:att="{ATT}"><att:REQUEST_ID>{uuid.uuid4()}</att:REQUEST_ID><att:ENP>{enp}</att:ENP>'
        f"<att:MO>450001</att:MO><att:AREA_TYPE>{area}</att:AREA_TYPE><att:DATE_OUT>{date_out}</att:DATE_OUT>"
        f"</att:detachPerson>",
    )[1]


def test_attachment_refusals_carry_their_contract_codes_and_no_internal_ids(hub: Hub) -> None:
    card = hub.persons[1]
    refusals = {
        "601": _attach(hub, card.enp, date(1900, 1, 1), area=3),  # before the person's birth
        "603": _detach(hub, card.enp, date(2025, 6, 1), area=3),  # nothing open to detach
    }
    assert err_code(_attach(hub, card.enp, date(2025, 6, 1), area=2)) == "0"
    refusals["602"] = _attach(hub, card.enp, date(2025, 5, 1), area=2)  # one already starts later
    refusals["604"] = _detach(hub, card.enp, date(2025, 5, 1), area=2)  # ends before it starts
    refusals["605"] = _attach(hub, card.enp, date(2024, 1, 1), area=3)  # not insured yet on that day
    for code, body in refusals.items():
        text = body.findtext(f"{{{CMN}}}ERR_TEXT") or ""
        assert err_code(body) == code, (code, text)
        # every number in the text is one the МО sent (its code, the area type, a date): no internal id
        assert set(re.findall(r"\d+", text)) <= {
            "450001",
            "2",
            "3",
            "1900",
            "01",
            "2024",
            "2025",
            "05",
            "06",
        }, text


def test_a_schema_violation_names_the_element_and_its_parent_and_echoes_nothing(hub: Hub) -> None:
    status, body = call(
        hub.url,
        hub.pki,
        "mo-450001",
        f'<idn:getPersonData xmlns:idn="{IDN}"><idn:ENP>12x</idn:ENP></idn:getPersonData>',
    )
    assert status == 500 and fault_code(body) == "REQ-002"
    assert (
        body.findtext(f".//{{{CMN}}}FIELD") == "ENP"
        and body.findtext(f".//{{{CMN}}}PARENT") == "getPersonData"
    )
    assert "12x" not in etree.tostring(body, encoding="unicode")
    latin = _p040(hub.persons[0], "+79130000001").replace("П040", "P040")  # a Latin P, inside one OP:
    status, body = call(hub.url, hub.pki, "smo-45001", latin)  # that record's F012 error, not a Fault
    assert status == 200 and body.findtext(f".//{{{REG}}}CODE_ERP") == "AE"
    pr = body.find(f".//{{{REG}}}PR")
    assert (pr.findtext(f"{{{REG}}}IM_POL"), pr.findtext(f"{{{REG}}}BAS_EL")) == ("TIP_OP", "OP")


def test_the_served_wsdl_rewrites_the_address_only(hub: Hub) -> None:
    text = requests.get(f"{hub.url}/soap/register?wsdl", timeout=10).text
    root = etree.fromstring(text.encode())
    address = root.find(".//{http://schemas.xmlsoap.org/wsdl/soap/}address")
    assert address is not None and address.get("location") == f"{hub.url}/soap/register"
    assert "http://localhost:8080/soap/register" in text  # the comment that explains the placeholder
    hostile = requests.get(
        f"{hub.url}/soap/register?wsdl", headers={"Host": "evil.example/<x>"}, timeout=10
    ).text
    assert "evil.example" not in hostile


CHG = "urn:ru:rserz:soap:changes:v1"


def _snapshot_page(hub: Hub, folder: str, day: date) -> Any:
    return call(
        hub.url,
        hub.pki,
        folder,
        f'<chg:getSnapshot xmlns:chg="{CHG}"><chg:DATE>{day}</chg:DATE><chg:PAGE_SIZE>10</chg:PAGE_SIZE></chg:getSnapshot>',
    )[1]


def test_a_snapshot_is_served_only_as_published_and_reproduces(hub: Hub) -> None:
    day = date(2025, 6, 1)
    unpublished = _snapshot_page(hub, "smo-45001", day)
    assert err_code(unpublished) == "1" and unpublished.findtext(f"{{{CHG}}}TOTAL") == "0"

    db = Database(hub.engine)
    info = snapshots.publish(db.unit_of_work(), day, actor="test")
    assert info.persons >= 3 and info.checksum and info.counts["smo"]["45001"] >= 3
    assert snapshots.publish(db.unit_of_work(), day, actor="again") == info  # published once, never rebuilt

    listed = call(hub.url, hub.pki, "smo-45001", f'<chg:listSnapshots xmlns:chg="{CHG}"/>')[1]
    (snap,) = [s for s in listed.findall(f"{{{CHG}}}SNAPSHOT") if s.findtext(f"{{{CHG}}}DATE") == str(day)]
    assert snap.findtext(f"{{{CHG}}}STATUS") == "published"
    assert snap.findtext(f"{{{CHG}}}TOTAL") == str(info.persons)
    page = _snapshot_page(hub, "smo-45001", day)
    enps = [z.findtext(f"{{{CHG}}}ENP") for z in page.findall(f"{{{CHG}}}ZL")]
    assert err_code(page) == "0" and enps == sorted(enps) and hub.persons[0].enp in enps

    # the past corrected after publication: the published snapshot stays as it was and still reproduces
    with hub.engine.begin() as conn:
        person_id = conn.execute(
            text("SELECT person_id FROM enp_alias WHERE enp = :e"), {"e": hub.persons[0].enp}
        ).scalar_one()
    manual.apply_federal(
        db.unit_of_work(),
        person_id,
        {"fam": "Исправленная"},
        actor="test",
        reason="correction",
        respect_pins=False,
        valid_from=date(2020, 1, 1),
    )
    assert snapshots.reproduces(db.unit_of_work(), day)
    again = _snapshot_page(hub, "smo-45001", day)
    assert [z.findtext(f"{{{CHG}}}FAM") for z in again.findall(f"{{{CHG}}}ZL")] == [
        z.findtext(f"{{{CHG}}}FAM") for z in page.findall(f"{{{CHG}}}ZL")
    ]


def test_batch_id_is_the_hubs_own_and_finds_the_protocol(hub: Hub) -> None:
    request = _p040(hub.persons[1], "+79130000002")
    status, body = call(hub.url, hub.pki, "smo-45001", request)
    batch_id = body.findtext(f"{{{REG}}}BATCH_ID")
    request_id = body.findtext(f"{{{REG}}}REQUEST_ID")
    assert status == 200 and batch_id and request_id and batch_id != request_id
    by_batch = call(
        hub.url,
        hub.pki,
        "smo-45001",
        f'<reg:getProtocol xmlns:reg="{REG}"><reg:BATCH_ID>{batch_id}</reg:BATCH_ID></reg:getProtocol>',
    )[1]
    assert by_batch.findtext(f"{{{REG}}}REQUEST_ID") == request_id
    foreign = call(
        hub.url,
        hub.pki,
        "smo-45002",
        f'<reg:getProtocol xmlns:reg="{REG}"><reg:BATCH_ID>{batch_id}</reg:BATCH_ID></reg:getProtocol>',
    )[1]
    assert fault_code(foreign) == "REQ-020"  # another СМО's batch is as if it did not exist
