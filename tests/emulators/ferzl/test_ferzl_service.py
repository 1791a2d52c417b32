"""Every ФЕРЗЛ operation through a real zeep client, signed both ways, answers checked against the data."""

from __future__ import annotations

import time
from collections import Counter
from datetime import date, timedelta
from typing import Any

import pytest
import zeep.exceptions
from sqlalchemy import text

from rserz_soap.domain.person import PersonCard, Status
from rserz_soap.emulators.ferzl.cards import latest_policy
from rserz_soap.emulators.ferzl.population import Divergence, FederalPerson, federal_population
from rserz_soap.emulators.ferzl.service import EXECUTOR
from tests.emulators.ferzl.conftest import NS, SEED, SHARE, Ferzl, N

_counter = iter(range(1, 1_000_000))


def rid() -> str:
    return f"test-{next(_counter)}-{time.monotonic_ns()}"


@pytest.fixture(scope="module")
def federal(ferzl: Ferzl) -> list[FederalPerson]:
    people, _planted = federal_population(ferzl.reference, N, SEED, share=SHARE)
    return people


@pytest.fixture(scope="module")
def plain(ferzl: Ferzl, federal: list[FederalPerson]) -> list[PersonCard]:
    """Persons with no planted divergence, alive, with a main document and a policy: safe to look up."""
    marked = {m.enp for m in ferzl.planted}
    return [
        f.card
        for f in federal
        if f.card.enp not in marked
        and f.card.status is Status.INSURED
        and f.card.main_document() is not None
        and f.card.data.ss
    ]


@pytest.fixture(scope="module")
def client(ferzl: Ferzl) -> Any:
    return ferzl.client()


def fault_of(exc: zeep.exceptions.Fault) -> str:
    code = exc.detail.find(f".//{{{NS}}}code")
    return str(code.text)


def test_the_contract_is_served_with_the_version_and_address(ferzl: Ferzl) -> None:
    import urllib.request

    with urllib.request.urlopen(f"{ferzl.url}?wsdl") as r:
        wsdl = r.read().decode()
    with urllib.request.urlopen(f"{ferzl.url}?xsd=ferzl.xsd") as r:
        xsd = r.read().decode()
    assert "@API_VERSION@" not in wsdl and "@ADDRESS@" not in wsdl and "@API_VERSION@" not in xsd
    assert f'location="{ferzl.url}"' in wsdl and f"{ferzl.url}?xsd=ferzl.xsd" in wsdl
    assert f'targetNamespace="{NS}"' in xsd


def test_the_planted_list_is_the_populations(ferzl: Ferzl) -> None:
    _people, planted = federal_population(ferzl.reference, N, SEED, share=SHARE)
    status, served = ferzl.control("GET", "planted")
    assert status == 200
    assert ferzl.planted == planted
    assert [(p["index"], p["enp"], p["kind"], p["field"], p["regional"], p["federal"]) for p in served] == [
        (m.index, m.enp, m.kind.value, m.field, m.regional, m.federal) for m in planted
    ]
    assert {m.kind for m in planted} == set(Divergence)
    assert ferzl.control("GET", "health")[1]["persons"] == ferzl.scalar("SELECT count(*) FROM fed_person")


def _check_person(person: Any, card: PersonCard) -> None:
    assert person.enp == card.enp
    assert person.fam == card.data.fam and person.im == card.data.im and person.birthDate == card.data.dr
    assert person.snils == card.data.ss
    assert sorted((d.docType, d.docNum) for d in person.document) == sorted(
        (d.doctype, d.docnum) for d in card.documents
    )
    assert sorted((p.smo, p.dateBegin) for p in person.policy) == sorted(
        (p.smo_code, p.dbeg) for p in card.insurance
    )


def test_get_person_data_by_every_key(client: Any, plain: list[PersonCard]) -> None:
    card = plain[7]
    doc = card.main_document()
    assert doc is not None
    policy = latest_policy(card)
    assert policy is not None
    keys = [
        {"enp": card.enp},
        {
            "document": {
                "docType": doc.doctype,
                "docSer": (doc.docser or "").replace(" ", ""),
                "docNum": doc.docnum,
            }
        },
        {"snils": {"snils": card.data.ss, "birthDate": card.data.dr}},
        {"fio": {"fam": card.data.fam.upper(), "im": card.data.im, "birthDate": card.data.dr}},
        {"policy": {"policySer": policy.spolis, "policyNum": policy.npolis}},
    ]
    for key in keys:
        answer = client.service.getPersonData(externalRequestId=rid(), key=key)
        assert answer.found, key
        _check_person(answer.person, card)
    missing = client.service.getPersonData(externalRequestId="x", key={"enp": "9999999999999999"})
    assert missing.found is False and missing.person is None and missing.externalRequestId == "x"
    wrong_birth = client.service.getPersonData(
        externalRequestId=rid(),
        key={"snils": {"snils": card.data.ss, "birthDate": card.data.dr + timedelta(1)}},
    )
    assert wrong_birth.found is False


def test_insurance_status_before_and_after_a_policy(client: Any, plain: list[PersonCard]) -> None:
    card = next(c for c in plain if len(c.insurance) == 1 and c.open_period() is not None)
    (policy,) = card.insurance
    before = client.service.getInsuranceStatus(
        externalRequestId=rid(), key={"enp": card.enp}, date=policy.dbeg - timedelta(days=1)
    )
    assert before.found and before.enp == card.enp and before.status == "INSURED"
    assert before.insured is False and before.policy is None
    on = client.service.getInsuranceStatus(externalRequestId=rid(), key={"enp": card.enp}, date=policy.dbeg)
    assert on.insured is True and on.policy.smo == policy.smo_code and on.policy.dateBegin == policy.dbeg
    closed = next(c for c in plain if any(q.dstop is not None for q in c.insurance) and len(c.insurance) >= 2)
    stopped = min((q for q in closed.insurance if q.dstop is not None), key=lambda q: q.dbeg)
    later = stopped.dstop + timedelta(days=1) if stopped.dstop else date.today()
    nxt = closed.period_on(later)
    answer = client.service.getInsuranceStatus(externalRequestId=rid(), key={"enp": closed.enp}, date=later)
    assert answer.insured is (nxt is not None)
    if nxt is not None:
        assert answer.policy.smo == nxt.smo_code
    nobody = client.service.getInsuranceStatus(
        externalRequestId=rid(), key={"enp": "9999999999999999"}, date=date.today()
    )
    assert nobody.found is False and nobody.insured is False


def test_a_federal_change_makes_history_changes_and_dated_state(
    ferzl: Ferzl, client: Any, plain: list[PersonCard]
) -> None:
    card = plain[11]
    today = date.today()
    status, body = ferzl.control(
        "POST",
        "changes",
        {"enp": card.enp, "change_date": today.isoformat(), "reason": "ZAGS", "set": {"fam": "Изменённая"}},
    )
    assert status == 200
    history = client.service.getPersonDataHistory(externalRequestId=rid(), enp=card.enp)
    assert history.found and [v.versionNo for v in history.version] == [1, 2]
    assert [v.person.fam for v in history.version] == [card.data.fam, "Изменённая"]
    assert [v.source for v in history.version] == ["seed", "federal:ZAGS"]
    yesterday = client.service.getPersonData(
        externalRequestId=rid(), key={"enp": card.enp}, date=today - timedelta(days=1)
    )
    assert yesterday.person.fam == card.data.fam
    now = client.service.getPersonData(externalRequestId=rid(), key={"enp": card.enp})
    assert now.person.fam == "Изменённая"
    changes = client.service.getInsuranceStatusChanges(
        externalRequestId=rid(), region="45", dateBegin=today, dateEnd=today
    )
    mine = [c for c in changes.change if c.changeId == body["change_id"]]
    assert len(mine) == 1 and mine[0].reason == "ZAGS" and mine[0].person.fam == "Изменённая"
    assert ferzl.control("POST", "changes", {"enp": "9999999999999999", "set": {}})[0] == 404
    assert ferzl.control("POST", "changes", {"enp": card.enp, "set": {"colour": "red"}})[0] == 400


def test_changes_are_paged_in_order(ferzl: Ferzl, client: Any, plain: list[PersonCard]) -> None:
    day = date(2031, 5, 5)  # a day nothing else happens on
    ids = []
    for card in plain[20:27]:
        status, body = ferzl.control(
            "POST",
            "changes",
            {"enp": card.enp, "change_date": day.isoformat(), "reason": "SMO", "set": {"smo": "45002"}},
        )
        assert status == 200
        ids.append(body["change_id"])
    seen: list[int] = []
    after = None
    while True:
        page = client.service.getInsuranceStatusChanges(
            externalRequestId=rid(), region="45", dateBegin=day, dateEnd=day, afterChangeId=after, pageSize=3
        )
        seen += [c.changeId for c in page.change]
        if not page.more:
            break
        after = page.change[-1].changeId
    assert seen == ids
    last = client.service.getPersonData(externalRequestId=rid(), key={"enp": plain[26].enp})
    assert max(last.person.policy, key=lambda p: p.dateBegin).smo == "45002"
    other = client.service.getInsuranceStatusChanges(
        externalRequestId=rid(), region="77", dateBegin=day, dateEnd=day
    )
    assert other.change == [] and other.more is False


def test_find_persons_by_criteria_pages_by_enp(
    ferzl: Ferzl, client: Any, federal: list[FederalPerson]
) -> None:
    fam, _count = Counter(f.card.data.fam.lower() for f in federal).most_common(1)[0]
    with ferzl.engine.connect() as conn:  # other tests may have renamed someone: the store is the truth
        expected = list(
            conn.execute(
                text("SELECT enp FROM fed_person WHERE lower(fam) = :f ORDER BY enp"), {"f": fam}
            ).scalars()
        )
    assert len(expected) > 3
    count = len(expected)
    got: list[str] = []
    page = 1
    while True:
        answer = client.service.findPersonsByPersCriteria(
            externalRequestId=rid(), fam=fam.upper(), page=page, pageSize=3
        )
        assert answer.total == count and answer.pageSize == 3 and answer.page == page
        got += [p.enp for p in answer.person]
        if len(answer.person) < 3:
            break
        page += 1
    assert got == expected


def test_schema_invalid_request_is_mpi_400(client: Any) -> None:
    with pytest.raises(zeep.exceptions.Fault) as caught:
        client.service.findPersonsByPersCriteria(externalRequestId=rid(), fam="Иванов", pageSize=101)
    assert fault_of(caught.value) == "MPI-400"


# --------------------------------------------------------------------------- reconciliation


def _wait(client: Any, batch_id: str) -> Any:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        status = client.service.getReconciliationStatus(externalRequestId=rid(), batchId=batch_id)
        if status.state in ("DONE", "FAILED"):
            return status
        time.sleep(0.05)
    raise AssertionError(f"batch {batch_id} did not finish")


def test_a_slice_walk_covers_the_region_exactly_once(
    ferzl: Ferzl, client: Any, federal: list[FederalPerson]
) -> None:
    seen: list[str] = []
    after = None
    rounds = 0
    while True:
        started = client.service.startReconciliation(
            externalRequestId=rid(), region="45", slice={"afterEnp": after, "limit": 600}
        )
        assert started.state == "QUEUED"
        status = _wait(client, started.batchId)
        assert status.state == "DONE"
        result = client.service.getReconciliationResult(externalRequestId=rid(), batchId=started.batchId)
        enps = [p.enp for p in result.person]
        assert status.count == len(enps) and enps == sorted(enps)
        seen += enps
        rounds += 1
        if result.endOfRegion:
            break
        assert len(enps) == 600 and result.lastEnp == enps[-1]
        after = result.lastEnp
    stored = ferzl.scalar("SELECT count(*) FROM fed_person WHERE region = '45'")
    assert len(seen) == len(set(seen)) == stored and rounds == stored // 600 + 1
    assert set(seen) >= {f.card.enp for f in federal} - {
        m.enp for m in ferzl.planted if m.kind is Divergence.MISSING_FEDERALLY
    }


def test_a_list_batch_answers_main_document_latest_policy_and_not_found(
    ferzl: Ferzl, client: Any, federal: list[FederalPerson]
) -> None:
    cards = {f.card.enp: f.card for f in federal}
    doc_marks = [m for m in ferzl.planted if m.kind is Divergence.DOCUMENT][:2]
    missing = next(m.enp for m in ferzl.planted if m.kind is Divergence.MISSING_FEDERALLY)
    many = next(c for c in cards.values() if len(c.documents) > 1 and len(c.insurance) > 1)
    wanted = [m.enp for m in doc_marks] + [many.enp, missing, "4599999999999999"]
    started = client.service.startReconciliation(
        externalRequestId=rid(), region="45", enpList={"enp": wanted}
    )
    assert _wait(client, started.batchId).state == "DONE"
    result = client.service.getReconciliationResult(externalRequestId=rid(), batchId=started.batchId)
    assert sorted(result.notFound) == sorted([missing, "4599999999999999"])
    assert result.endOfRegion is None and result.lastEnp is None
    persons = {p.enp: p for p in result.person}
    assert list(persons) == sorted(persons) and len(persons) == 3
    for m in doc_marks:
        (doc,) = persons[m.enp].document
        assert doc.main is True and doc.docNum == m.federal != m.regional
    person = persons[many.enp]
    main = many.main_document()
    latest = latest_policy(many)
    assert main is not None and latest is not None
    assert [(d.docType, d.docNum) for d in person.document] == [(main.doctype, main.docnum)]
    assert [(p.smo, p.dateBegin, p.dateStop) for p in person.policy] == [
        (latest.smo_code, latest.dbeg, latest.dstop)
    ]


def test_batches_unknown_or_unfinished_are_faults(client: Any) -> None:
    with pytest.raises(zeep.exceptions.Fault) as caught:
        client.service.getReconciliationResult(externalRequestId=rid(), batchId="no-such-batch")
    assert fault_of(caught.value) == "MPI-404"
    with pytest.raises(zeep.exceptions.Fault) as caught:
        client.service.getReconciliationStatus(externalRequestId=rid(), batchId="no-such-batch")
    assert fault_of(caught.value) == "MPI-404"
    import threading

    gate = threading.Event()
    EXECUTOR.submit(gate.wait, 10)  # the batch thread is busy: the next batch stays queued
    try:
        started = client.service.startReconciliation(
            externalRequestId=rid(), region="45", slice={"limit": 10}
        )
        status = client.service.getReconciliationStatus(externalRequestId=rid(), batchId=started.batchId)
        assert status.state == "QUEUED"
        with pytest.raises(zeep.exceptions.Fault) as caught:
            client.service.getReconciliationResult(externalRequestId=rid(), batchId=started.batchId)
        assert fault_of(caught.value) == "MPI-409"
    finally:
        gate.set()
    assert _wait(client, started.batchId).state == "DONE"


# --------------------------------------------------------------------------- regional changes


def _person(client: Any, enp: str | None) -> Any:
    answer = client.service.getPersonData(externalRequestId=rid(), key={"enp": enp})
    assert answer.found
    return answer.person


def test_an_accepted_regional_change_applies_once_per_request_id(
    ferzl: Ferzl, client: Any, plain: list[PersonCard]
) -> None:
    card = plain[30]
    person = _person(client, card.enp)
    person.im = "Прасковья" if card.data.w == 2 else "Пантелеймон"
    request_id = rid()
    day = date.today()
    first = client.service.acceptRegionalChange(
        externalRequestId=request_id, region="45", operation="П040", changeDate=day, person=person
    )
    assert first.result == "ACCEPTED" and first.enp == card.enp and first.error == []
    assert _person(client, card.enp).im == person.im
    versions = ferzl.scalar("SELECT count(*) FROM fed_person_version WHERE enp = :e", e=card.enp)
    changes = ferzl.scalar("SELECT count(*) FROM fed_change WHERE enp = :e AND reason = 'П040'", e=card.enp)
    assert (versions, changes) == (2, 1)
    person.im = "Другое"
    again = client.service.acceptRegionalChange(
        externalRequestId=request_id, region="45", operation="П040", changeDate=day, person=person
    )
    assert (again.result, again.enp, again.externalRequestId) == ("ACCEPTED", card.enp, request_id)
    assert _person(client, card.enp).im != "Другое"
    assert ferzl.scalar("SELECT count(*) FROM fed_person_version WHERE enp = :e", e=card.enp) == 2
    history = client.service.getPersonDataHistory(externalRequestId=rid(), enp=card.enp)
    assert history.version[-1].source == "region:45:П040"


def _codes(answer: Any) -> list[str]:
    return [e.code for e in answer.error]


def test_the_federal_checks_reject_with_f001_f002_f003(
    ferzl: Ferzl, client: Any, plain: list[PersonCard]
) -> None:
    day = date.today()
    a, b = _person(client, plain[40].enp), _person(client, plain[41].enp)
    a.document = [d for d in b.document if d.main]
    rejected = client.service.acceptRegionalChange(
        externalRequestId=rid(), region="45", operation="П040", changeDate=day, person=a
    )
    assert rejected.result == "REJECTED" and _codes(rejected) == ["F001"]
    assert _person(client, plain[40].enp).document != a.document

    dead_enp = next(m.enp for m in ferzl.planted if m.kind is Divergence.DEATH_ONLY_FEDERAL)
    dead = _person(client, dead_enp)
    assert dead.status == "DEAD"
    regional_view = client.service.getPersonData(externalRequestId=rid(), key={"enp": dead_enp}).person
    regional_view.status, regional_view.deathDate = "INSURED", None  # the region does not know of the death
    regional_view.fam = dead.fam + "а"
    refused = client.service.acceptRegionalChange(
        externalRequestId=rid(), region="45", operation="П040", changeDate=day, person=regional_view
    )
    assert _codes(refused) == ["F002"]
    death = client.service.acceptRegionalChange(
        externalRequestId=rid(), region="45", operation="П022", changeDate=day, person=dead
    )
    assert death.result == "ACCEPTED"

    newcomer = _person(client, plain[42].enp)
    newcomer.enp = "4500000000000017"
    newcomer.document = []
    unknown = client.service.acceptRegionalChange(
        externalRequestId=rid(), region="45", operation="П040", changeDate=day, person=newcomer
    )
    assert _codes(unknown) == ["F003"] and unknown.enp == "4500000000000017"
    assert not client.service.getPersonData(externalRequestId=rid(), key={"enp": newcomer.enp}).found
    registered = client.service.acceptRegionalChange(
        externalRequestId=rid(), region="45", operation="П010", changeDate=day, person=newcomer
    )
    assert registered.result == "ACCEPTED"
    assert _person(client, newcomer.enp).fam == newcomer.fam
    with pytest.raises(zeep.exceptions.Fault) as caught:
        client.service.acceptRegionalChange(
            externalRequestId=rid(), region="45", operation="П999", changeDate=day, person=newcomer
        )
    assert fault_of(caught.value) == "MPI-400"
