"""docs/soap-contract.md and the code agree: every Fault code and every ERR_CODE the contract documents is
produced here, over HTTP, by a request that earns it; and the code knows no Fault code the contract does
not document. Codes the hostile corpus produces are taken from there (its runner checks them request by
request); the rest are produced below."""

from __future__ import annotations

import dataclasses
import re
import tomllib
import uuid
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import text

from rserz_soap.db import persons
from rserz_soap.domain.person import Status
from rserz_soap.domain.records import PolicyInput
from rserz_soap.soap.faults import FaultCode
from rserz_soap.xmlsig.wsse import sign_envelope
from tests import builders
from tests.soap.conftest import Hub
from tests.soap.independent import call, err_code, fault_code
from tests.soap.test_contract_promises import ATT, IDN, _attach, _detach
from tests.soap.test_gate_hardening import _code, _envelope, _get_person, _post

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = (ROOT / "docs" / "soap-contract.md").read_text(encoding="utf-8")
CORPUS = tomllib.loads((ROOT / "tests" / "data" / "hostile" / "cases.toml").read_text(encoding="utf-8"))


def _section(title: str) -> str:
    start = CONTRACT.index(f"## {title}")
    return CONTRACT[start : CONTRACT.index("\n## ", start + 3)]


def documented_fault_codes() -> set[str]:
    """The Fault table of "Results and errors", ranges (`SEC-001` … `SEC-006`) expanded."""
    codes: set[str] = set()
    for row in re.findall(
        r"^\s*\| (`[A-Z]{3}-\d{3}`(?: … `[A-Z]{3}-\d{3}`)?) \|", _section("Results and errors"), re.M
    ):
        ends = re.findall(r"([A-Z]{3})-(\d{3})", row)
        (prefix, first), (_, last) = ends[0], ends[-1]
        codes |= {f"{prefix}-{n:03d}" for n in range(int(first), int(last) + 1)}
    return codes


def documented_err_codes() -> set[str]:
    """ERR_CODEs of both tables of "Results and errors": `0`, `1`, the ФЛК codes named for v1, the 6xx."""
    section = _section("Results and errors")
    codes = set(re.findall(r"^\s*\| `(\d+)` \|", section, re.M))
    flk = re.search(r"In v1 these are: (.*)", section)
    assert flk, "the contract no longer names the ФЛК codes of v1"
    return codes | set(re.findall(r"`(\d{3})`", flk.group(1)))


def test_the_contract_and_the_code_know_the_same_fault_codes() -> None:
    assert documented_fault_codes() == {c.code for c in FaultCode}


def test_the_tables_were_read() -> None:
    """The parsing above cannot silently find nothing."""
    assert {"SEC-001", "SEC-006", "SEC-114", "REQ-031", "SRV-002"} <= documented_fault_codes()
    assert {"0", "1", "414", "503", "512", "601", "605"} <= documented_err_codes()


# --- Fault codes the corpus does not produce ----------------------------------------------------------


def _reused_request_id(hub: Hub) -> requests.Response:
    rid = uuid.uuid4()

    def attach(day: str) -> bytes:
        env = _envelope(
            f'<att:attachPerson xmlns:att="{ATT}"><att:REQUEST_ID>{rid}</att:REQUEST_ID>'
            f"<att:ENP>{hub.persons[0].enp}</att:ENP><att:MO>450001</att:MO><att:AREA_TYPE>4</att:AREA_TYPE>"
            f"<att:DATE_IN>{day}</att:DATE_IN><att:METHOD>2</att:METHOD></att:attachPerson>"
        )
        sign_envelope(env, hub.keypair("mo-450001"))
        from lxml import etree  # type: ignore[import-untyped, unused-ignore]

        return bytes(etree.tostring(env))

    assert _post(hub, attach("2025-06-01"), "attachment").status_code == 200
    return _post(hub, attach("2025-06-02"), "attachment")  # the same REQUEST_ID, another request


def _no_crl(hub: Hub) -> requests.Response:
    crl = hub.pki / "ca" / "crl.pem"
    saved = crl.read_bytes()
    crl.unlink()
    try:
        return _signed_read(hub)
    finally:
        crl.write_bytes(saved)


def _broken_database(hub: Hub) -> requests.Response:
    """A real failure inside the hub: the table the read needs is gone for a moment."""
    with hub.engine.begin() as conn:
        conn.execute(text("ALTER TABLE person_data RENAME TO person_data_away"))
    try:
        return _signed_read(hub)
    finally:
        with hub.engine.begin() as conn:
            conn.execute(text("ALTER TABLE person_data_away RENAME TO person_data"))


def _signed_read(hub: Hub) -> requests.Response:
    from lxml import etree  # type: ignore[import-untyped, unused-ignore]

    env = _envelope(_get_person(hub.persons[0].enp))
    sign_envelope(env, hub.keypair("mo-450001"))
    return _post(hub, bytes(etree.tostring(env)))


PRODUCERS: dict[str, Callable[[Hub], requests.Response]] = {
    "REQ-010": _reused_request_id,
    "SRV-001": _no_crl,
    "SRV-002": _broken_database,
}


def test_every_documented_fault_code_is_produced(hub: Hub) -> None:
    by_corpus = {case["expect"] for case in CORPUS["case"]}
    missing = documented_fault_codes() - by_corpus - set(PRODUCERS)
    assert not missing, f"no request in the corpus or here produces {sorted(missing)}"
    for code, produce in PRODUCERS.items():
        resp = produce(hub)
        assert resp.status_code == 500 and _code(resp) == code, (code, resp.text[:400])
    assert _signed_read(hub).status_code == 200  # and the hub is whole again


# --- ERR_CODEs ------------------------------------------------------------------------------------------


def _person(hub: Hub, status: Status | None = None, **kw: Any) -> Any:
    """A fresh insured person of the hub's register (made the way П010 makes one); ``status`` set after."""
    with hub.engine.begin() as conn:
        n = uuid.uuid4().int % 10_000_000
        rec = builders.record(
            person=builders.person_data(fam="Кодова", ss=None, **kw),
            documents=(builders.passport(docnum=f"{n:06d}"[-6:]),),
            policy=PolicyInput(vpolis=2, npolis=f"{n:09d}", dbeg=date(2025, 3, 3)),
        )
        card = builders.register_person(conn, rec).card
        if status is not None:
            stored = persons.load(conn, persons.find_by_enp(conn, card.enp) or 0)
            meta = persons.VersionMeta("П024", "tfoms", "tfoms", date(2025, 4, 1), actor="test")
            persons.save(conn, stored, dataclasses.replace(stored.card, status=status), meta)
        return card


def _identify(hub: Hub, enp: str) -> Any:
    return call(
        hub.url,
        hub.pki,
        "mo-450001",
        f'<idn:identifyPerson xmlns:idn="{IDN}"><idn:ENP>{enp}</idn:ENP></idn:identifyPerson>',
    )[1]


def _dead(hub: Hub) -> Any:
    from rserz_soap.db.uow import Database
    from rserz_soap.usecases.vital import EventSource, record_death

    card = _person(hub)
    with hub.engine.connect() as conn:
        pid = persons.find_by_enp(conn, card.enp)
    assert pid is not None
    record_death(
        Database(hub.engine).unit_of_work(), pid, date(2025, 5, 1), EventSource("zags", "act 1", "test")
    )
    return _attach(hub, card.enp, date(2025, 6, 1), area=5)


ERR_PRODUCERS: dict[str, Callable[[Hub], Any]] = {
    "0": lambda h: _identify(h, h.persons[0].enp),
    "1": lambda h: _identify(h, "4500000000000000"),
    "414": lambda h: _attach(h, _person(h).enp, date(2010, 6, 1), area=5),  # 450001 is in F003 from 2011
    "503": _dead,
    "512": lambda h: _attach(h, _person(h, Status.ANNULLED).enp, date(2025, 6, 1), area=5),
    "601": lambda h: _attach(h, _person(h).enp, date(1900, 1, 1), area=3),
    "603": lambda h: _detach(h, _person(h).enp, date(2025, 6, 1), area=3),
    "605": lambda h: _attach(h, _person(h).enp, date(2024, 1, 1), area=3),
}


def _later_attachment(hub: Hub, code: str) -> Any:
    card = _person(hub)
    assert err_code(_attach(hub, card.enp, date(2025, 6, 1), area=2)) == "0"
    if code == "602":
        return _attach(hub, card.enp, date(2025, 5, 1), area=2)  # one already starts later
    return _detach(hub, card.enp, date(2025, 5, 1), area=2)  # ends before it starts


@pytest.mark.parametrize("code", sorted(documented_err_codes()))
def test_every_documented_err_code_is_produced(hub: Hub, code: str) -> None:
    produce = ERR_PRODUCERS.get(code) or (
        lambda h: _later_attachment(h, code) if code in ("602", "604") else None
    )
    body = produce(hub)
    assert body is not None, f"nothing here produces ERR_CODE {code}"
    assert err_code(body) == code, (code, body.findtext(".//{*}ERR_TEXT"))
    if code not in ("0", "1"):
        assert fault_code(body) is None  # a refusal is an answer, not a Fault
