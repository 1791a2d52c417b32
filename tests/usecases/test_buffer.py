"""Scenarios of the register at the service layer: every R001 operation, the buffer, history."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date

import pytest
from sqlalchemy import Connection, Engine, select, text

from rserz_soap.config import Settings
from rserz_soap.db import persons
from rserz_soap.db.participants import upsert_participant
from rserz_soap.db.tables import buffer_decision, federal_value, stop_list_entry
from rserz_soap.demo.load import PERSON_TABLES
from rserz_soap.domain.buffer import State, Submitter
from rserz_soap.domain.identifiers import enp_matches_person, is_valid_enp
from rserz_soap.domain.person import Attachment, PolicyType, Status
from rserz_soap.domain.records import OperationRecord, PolicyInput
from rserz_soap.usecases import history
from tests import builders
from tests.harness import Register, uow

SMO1, SMO2, SMO_ENDED = "45001", "45002", "45004"  # 45004's contract ended 31.12.2024 (bundled F002)


@pytest.fixture
def registry(fresh_engine: Engine, settings: Settings) -> Register:
    return Register.of(fresh_engine, settings)


@pytest.fixture
def smo(fresh_engine: Engine) -> Callable[[str], Submitter]:
    def make(code: str) -> Submitter:
        with fresh_engine.begin() as conn:
            pid = upsert_participant(conn, "smo", code, f"СМО {code}")
        return Submitter(pid, "smo", code)

    return make


def _one(registry: Register, who: Submitter, rec: OperationRecord):  # type: ignore[no-untyped-def]
    (result,) = registry.submit(who, [rec])
    return result


def _card(engine: Engine, person_id: int):  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return persons.load(conn, person_id).card


def _vs(dbeg: date, npolis: str = "450012345") -> PolicyInput:
    return PolicyInput(vpolis=PolicyType.VS, npolis=npolis, dbeg=dbeg, dend=None)


def _policy(enp: str, dbeg: date, vpolis: int = PolicyType.SINGLE_ELECTRONIC) -> PolicyInput:
    return PolicyInput(vpolis=vpolis, npolis=enp, dbeg=dbeg)


def _registered(registry: Register, who: Submitter, **kw: object):  # type: ignore[no-untyped-def]
    rec = builders.record("П010", smo=who.code, **kw)  # type: ignore[arg-type]
    result = _one(registry, who, rec)
    assert result.code_erp == "AA", result
    return result


def _smo_on(conn: Connection, person_id: int, day: date) -> str | None:
    """The СМО of the period open on ``day`` (a ВС past its DEND is still the open period)."""
    card = history.state_as_of(uow(conn), person_id, day)
    period = card.open_period() if card else None
    return period.smo_code if period else None


def _counts(engine: Engine) -> dict[str, int]:
    tables = (*PERSON_TABLES, "stop_list_entry")
    with engine.connect() as conn:
        return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in tables}


# --- П010 --------------------------------------------------------------------------------------------------


def test_p010_registers_a_new_person_with_a_new_enp(registry: Register, smo, fresh_engine: Engine) -> None:
    result = _registered(registry, smo(SMO1))
    card = _card(fresh_engine, result.person_id)
    assert result.state is State.APPLIED and card.status is Status.INSURED
    assert card.enp == result.enp and is_valid_enp(card.enp) and enp_matches_person(card.enp, card.data.dr, 2)
    assert card.enp.startswith(builders.REGION)
    (period,) = card.insurance
    assert (period.smo_code, period.vpolis, period.npolis) == (SMO1, PolicyType.VS, "450012345")
    assert result.insurance is not None and result.insurance["smo_code"] == SMO1


def test_p010_for_an_insured_person_is_refused_and_changes_nothing(
    registry: Register, smo, fresh_engine: Engine
) -> None:
    _registered(registry, smo(SMO1))
    before = _counts(fresh_engine)
    result = _one(registry, smo(SMO2), builders.record("П010", smo=SMO2))
    assert (result.state, result.code_erp) == (State.REJECTED, "AE")
    assert {e["code"] for e in result.errors} >= {"502"}
    err = next(e for e in result.errors if e["code"] == "502")
    assert err["n_rec"] == 1 and err["comment"]
    assert _counts(fresh_engine) == before


def test_a_record_failing_an_e_rule_names_code_field_and_parent(
    registry: Register, smo, fresh_engine: Engine
) -> None:
    before = _counts(fresh_engine)
    bad = builders.record("П010", person=builders.person_data(dr=date(2031, 1, 1)))
    result = _one(registry, smo(SMO1), bad)
    assert result.code_erp == "AE"
    codes = {(e["code"], e["field"], e["parent"]) for e in result.errors if e["severity"] == "E"}
    assert any(field == "DR" and parent == "PERSON" for _c, field, parent in codes), codes
    assert _counts(fresh_engine) == before


def test_a_record_for_another_smo_is_refused(registry: Register, smo) -> None:
    result = _one(registry, smo(SMO1), builders.record("П010", smo=SMO2))
    assert result.code_erp == "AE" and "590" in {e["code"] for e in result.errors}


# --- П060 and policy re-issues -----------------------------------------------------------------------------


def test_p060_after_a_vs_and_refused_without_one(registry: Register, smo, fresh_engine: Engine) -> None:
    who = smo(SMO1)
    reg = _registered(registry, who)
    ok = _one(registry, who, builders.record("П060", enp=reg.enp, policy=_policy(reg.enp, date(2025, 3, 20))))
    assert ok.code_erp == "AA", ok
    card = _card(fresh_engine, reg.person_id)
    open_ = card.open_period()
    assert (
        open_ is not None and open_.vpolis == PolicyType.SINGLE_ELECTRONIC and open_.dbeg == date(2025, 3, 20)
    )
    vs = next(p for p in card.insurance if p.vpolis == PolicyType.VS)
    assert vs.dstop == date(2025, 3, 20) and vs.stop_reason == 8
    again = _one(
        registry, who, builders.record("П060", enp=reg.enp, policy=_policy(reg.enp, date(2025, 4, 1)))
    )
    assert again.code_erp == "AE" and "510" in {e["code"] for e in again.errors}


@pytest.mark.parametrize("op", ["П062", "П063"])
def test_duplicate_and_renewed_policy(op: str, registry: Register, smo, fresh_engine: Engine) -> None:
    who = smo(SMO1)
    reg = _registered(registry, who)
    res = _one(registry, who, builders.record(op, enp=reg.enp, policy=_vs(date(2025, 5, 5), "450099999")))
    assert res.code_erp == "AA", res
    card = _card(fresh_engine, reg.person_id)
    assert card.open_period().npolis == "450099999"  # type: ignore[union-attr]
    assert len(card.insurance) == 2


# --- changes of СМО ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "reason", "rsmo"),
    [("П031", 2, 2), ("П034", 4, 2), ("П032", 3, 3), ("П035", 4, 3)],  # a new policy: stop reason 4
)
def test_change_of_smo_closes_the_old_period_and_stop_lists_it(
    op: str, reason: int, rsmo: int, registry: Register, smo, fresh_engine: Engine
) -> None:
    reg = _registered(registry, smo(SMO1))
    policy = _vs(date(2025, 9, 1), "450077777") if op in ("П034", "П035") else None
    rec = builders.record(op, smo=SMO2, enp=reg.enp, dvizit=date(2025, 9, 1), rsmo=rsmo, policy=policy)
    res = _one(registry, smo(SMO2), rec)
    assert res.code_erp == "AA", res
    card = _card(fresh_engine, reg.person_id)
    assert card.open_period().smo_code == SMO2  # type: ignore[union-attr]
    with fresh_engine.connect() as conn:
        entry = conn.execute(
            select(stop_list_entry).where(stop_list_entry.c.person_id == reg.person_id)
        ).one()
        assert (entry.smo_code, entry.reason, entry.stop_date) == (SMO1, reason, date(2025, 9, 1))
        assert _smo_on(conn, reg.person_id, date(2025, 8, 31)) == SMO1
        assert _smo_on(conn, reg.person_id, date(2025, 9, 1)) == SMO2


def test_a_second_change_by_wish_in_one_year_is_refused(registry: Register, smo) -> None:
    reg = _registered(registry, smo(SMO1))
    first = builders.record("П031", smo=SMO2, enp=reg.enp, dvizit=date(2025, 6, 2), rsmo=2, policy=None)
    assert _one(registry, smo(SMO2), first).code_erp == "AA"
    second = builders.record("П031", smo="45003", enp=reg.enp, dvizit=date(2025, 10, 1), rsmo=2, policy=None)
    res = _one(registry, smo("45003"), second)
    assert res.code_erp == "AE" and "506" in {e["code"] for e in res.errors}


@pytest.mark.parametrize("op", ["П033", "П036"])
def test_change_because_the_contract_ended(op: str, registry: Register, smo, fresh_engine: Engine) -> None:
    old = smo(SMO_ENDED)
    reg = _registered(registry, old, dvizit=date(2024, 6, 3), policy=_vs(date(2024, 6, 3)))
    policy = _vs(date(2025, 2, 3), "450066666") if op == "П036" else None
    rec = builders.record(op, smo=SMO1, enp=reg.enp, dvizit=date(2025, 2, 3), rsmo=4, policy=policy)
    res = _one(registry, smo(SMO1), rec)
    assert res.code_erp == "AA", res
    assert _card(fresh_engine, reg.person_id).open_period().smo_code == SMO1  # type: ignore[union-attr]


def test_change_because_the_contract_ended_refused_while_it_runs(registry: Register, smo) -> None:
    reg = _registered(registry, smo(SMO1))
    rec = builders.record("П033", smo=SMO2, enp=reg.enp, dvizit=date(2025, 6, 2), rsmo=4, policy=None)
    res = _one(registry, smo(SMO2), rec)
    assert res.code_erp == "AE" and "507" in {e["code"] for e in res.errors}


# --- data changes ------------------------------------------------------------------------------------------


def test_p040_changes_documents_and_refuses_a_name_change(
    registry: Register, smo, fresh_engine: Engine
) -> None:
    who = smo(SMO1)
    reg = _registered(registry, who)
    doc = builders.passport(docser="45 20", docnum="777888", docdate=date(2025, 5, 5))
    ok = _one(
        registry,
        who,
        builders.record("П040", enp=reg.enp, documents=(doc,), dvizit=date(2025, 5, 6), policy=None),
    )
    assert ok.code_erp == "AA", ok
    assert _card(fresh_engine, reg.person_id).documents == frozenset({doc})
    renamed = builders.record(
        "П040",
        enp=reg.enp,
        person=builders.person_data(fam="Петрова"),
        documents=(doc,),
        dvizit=date(2025, 5, 7),
        policy=None,
    )
    res = _one(registry, who, renamed)
    assert res.code_erp == "AE" and "508" in {e["code"] for e in res.errors}


def test_p061_waits_for_review_then_applies_on_accept(registry: Register, smo, fresh_engine: Engine) -> None:
    who = smo(SMO1)
    reg = _registered(registry, who)
    rec = builders.record(
        "П061",
        enp=reg.enp,
        person=builders.person_data(fam="Петрова"),
        old_person=builders.person_data(),
        dvizit=date(2025, 7, 1),
        policy=_vs(date(2025, 7, 1), "450055555"),
    )
    held = _one(registry, who, rec)
    assert (held.state, held.code_erp) == (State.AWAITING_REVIEW, None)
    assert _card(fresh_engine, reg.person_id).data.fam == "Смирнова"
    done = registry.accept(held.entry_id, actor="op.sidorova", reason="документ о браке проверен")
    assert (done.state, done.code_erp) == (State.APPLIED, "AA")
    card = _card(fresh_engine, reg.person_id)
    assert card.data.fam == "Петрова" and card.open_period().npolis == "450055555"  # type: ignore[union-attr]
    with fresh_engine.connect() as conn:
        trail = conn.execute(
            select(buffer_decision.c.to_state, buffer_decision.c.actor)
            .where(buffer_decision.c.entry_id == held.entry_id)
            .order_by(buffer_decision.c.id)
        ).all()
        assert [t.to_state for t in trail] == [
            "received",
            "checked",
            "awaiting_review",
            "accepted",
            "applied",
        ]
        assert trail[-1].actor == "op.sidorova"
        before = history.state_as_of(uow(conn), reg.person_id, date(2025, 6, 30))
        assert before is not None and before.data.fam == "Смирнова"
        versions = history.history(uow(conn), reg.person_id)
        assert [v.operation for v in versions] == ["П010", "П061"]
        assert versions[1].actor == "op.sidorova" and versions[1].buffer_entry_id == held.entry_id


def test_rejecting_a_held_change_leaves_the_register_untouched(
    registry: Register, smo, fresh_engine: Engine
) -> None:
    who = smo(SMO1)
    reg = _registered(registry, who)
    rec = builders.record(
        "П061",
        enp=reg.enp,
        person=builders.person_data(im="Мария"),
        old_person=builders.person_data(),
        dvizit=date(2025, 7, 1),
        policy=_vs(date(2025, 7, 1), "450055556"),
    )
    held = _one(registry, who, rec)
    before = _counts(fresh_engine)
    done = registry.reject(held.entry_id, actor="op.sidorova", reason="нет подтверждающего документа")
    assert (done.state, done.code_erp) == (State.REJECTED, "AR")
    assert _counts(fresh_engine) == before
    with pytest.raises(ValueError, match="not awaiting review"):
        registry.accept(held.entry_id, actor="op", reason="late")


# --- de-registration ---------------------------------------------------------------------------------------


def test_p022_death_closes_insurance_and_attachments(registry: Register, smo, fresh_engine: Engine) -> None:
    who = smo(SMO1)
    reg = _registered(registry, who)
    with fresh_engine.begin() as conn:  # an attachment to close
        stored = persons.load(conn, reg.person_id, for_update=True)
        after = stored.card.replace(attachments=frozenset({Attachment("450001", 1, date(2025, 3, 10), 1)}))
        persons.save(conn, stored, after, persons.VersionMeta("ATTACH", "mo", "450001", date(2025, 3, 10)))
    rec = builders.record("П022", enp=reg.enp, ddeath=date(2025, 8, 8), dvizit=date(2025, 8, 12), policy=None)
    res = _one(registry, who, rec)
    assert res.code_erp == "AA", res
    card = _card(fresh_engine, reg.person_id)
    assert card.status is Status.DEAD and card.ddeath == date(2025, 8, 8)
    (period,) = card.insurance
    assert (period.dstop, period.stop_reason) == (date(2025, 8, 8), 1)
    assert all(a.date_out == date(2025, 8, 8) for a in card.attachments)
    after_death = _one(
        registry, who, builders.record("П040", enp=reg.enp, dvizit=date(2025, 9, 1), policy=None)
    )
    assert after_death.code_erp == "AE" and "503" in {e["code"] for e in after_death.errors}


@pytest.mark.parametrize(
    ("op", "status", "reason"),
    [
        ("П021", Status.NOT_INSURED, 6),
        ("П023", Status.ANNULLED, 5),
        ("П024", Status.ANNULLED, 6),
        ("П025", Status.SUSPENDED, 6),
    ],
)
def test_deregistrations(
    op: str, status: Status, reason: int, registry: Register, smo, fresh_engine: Engine
) -> None:
    who = smo(SMO1)
    reg = _registered(registry, who)
    res = _one(registry, who, builders.record(op, enp=reg.enp, dvizit=date(2025, 8, 1), policy=None))
    if res.state is State.AWAITING_REVIEW:  # the bundled rules send П023/П024 to an operator
        res = registry.accept(res.entry_id, actor="op", reason="проверено")
    assert res.code_erp == "AA", res
    card = _card(fresh_engine, reg.person_id)
    (period,) = card.insurance
    assert card.status is status and (period.dstop, period.stop_reason) == (date(2025, 8, 1), reason)


def test_the_old_smos_answer_to_its_stoplist_is_a_confirmation_that_changes_nothing(
    registry: Register, smo, fresh_engine: Engine
) -> None:
    reg = _registered(registry, smo(SMO1))
    change = builders.record("П031", smo=SMO2, enp=reg.enp, dvizit=date(2025, 9, 1), rsmo=2, policy=None)
    assert _one(registry, smo(SMO2), change).code_erp == "AA"
    before = _counts(fresh_engine)
    card = _card(fresh_engine, reg.person_id)

    answer = builders.record("П021", smo=SMO1, enp=reg.enp, dvizit=date(2025, 9, 3), policy=None)
    res = _one(registry, smo(SMO1), answer)

    assert (res.code_erp, res.state) == ("AA", State.APPLIED), res
    assert "Подтверждение" in res.comment and not {e["code"] for e in res.errors} & {"504", "503"}
    assert _counts(fresh_engine) == before  # no version, no journal entry, no stop-list line
    assert _card(fresh_engine, reg.person_id) == card


def test_deregistration_by_a_foreign_smo_is_refused(registry: Register, smo) -> None:
    reg = _registered(registry, smo(SMO1))
    res = _one(
        registry,
        smo(SMO2),
        builders.record("П021", smo=SMO2, enp=reg.enp, dvizit=date(2025, 8, 1), policy=None),
    )
    assert res.code_erp == "AE" and "504" in {e["code"] for e in res.errors}


# --- conflicts ---------------------------------------------------------------------------------------------


def test_two_smo_claiming_one_person_go_to_review(registry: Register, smo) -> None:
    reg = _registered(registry, smo(SMO1))
    held = _one(
        registry,
        smo(SMO1),
        builders.record(
            "П061",
            enp=reg.enp,
            person=builders.person_data(fam="Петрова"),
            old_person=builders.person_data(),
            dvizit=date(2025, 7, 1),
            policy=_vs(date(2025, 7, 1), "450055557"),
        ),
    )
    assert held.state is State.AWAITING_REVIEW
    claim = _one(
        registry,
        smo(SMO2),
        builders.record("П031", smo=SMO2, enp=reg.enp, dvizit=date(2025, 9, 1), rsmo=2, policy=None),
    )
    assert claim.state is State.AWAITING_REVIEW
    assert any("другого участника" in c for c in claim.conflicts)


def test_a_change_contradicting_federal_values_goes_to_review(
    registry: Register, smo, fresh_engine: Engine
) -> None:
    who = smo(SMO1)
    reg = _registered(registry, who)
    with fresh_engine.begin() as conn:
        conn.execute(
            federal_value.insert().values(
                person_id=reg.person_id, field="ss", value="11223344595", source="test"
            )
        )
    res = _one(registry, who, builders.record("П040", enp=reg.enp, dvizit=date(2025, 5, 6), policy=None))
    assert res.state is State.AWAITING_REVIEW and any("ФЕРЗЛ" in c for c in res.conflicts)


def test_a_probable_duplicate_goes_to_review(registry: Register, smo) -> None:
    _registered(registry, smo(SMO1))
    twin = builders.person_data(fam="Смирнава", ss=None)  # a typo in the surname, same birth date and place
    rec = builders.record(
        "П010",
        smo=SMO2,
        person=twin,
        documents=(builders.passport(docnum="999111"),),
        policy=_vs(date(2025, 3, 3), "450031313"),
    )
    res = _one(registry, smo(SMO2), rec)
    assert res.state is State.AWAITING_REVIEW and any("дубликат" in c for c in res.conflicts), res


def test_receiving_stores_before_processing(registry: Register, smo, fresh_engine: Engine) -> None:
    ids = registry.receive(smo(SMO1), [builders.record("П010")], batch_ref="OPLIST-1")
    assert [r.state for r in registry.results(ids)] == [State.RECEIVED]
    assert registry.process_pending() == 1
    assert [r.code_erp for r in registry.results(ids)] == ["AA"]
    assert registry.process_pending() == 0  # applied entries are never processed again
    with fresh_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM person")).scalar_one() == 1


def test_state_as_of_and_known_on(registry: Register, smo, fresh_engine: Engine) -> None:
    reg = _registered(registry, smo(SMO1))
    with fresh_engine.connect() as conn:
        assert (
            history.state_as_of(uow(conn), reg.person_id, date(2025, 3, 2)) is not None
        )  # data valid since always
        on = history.state_as_of(uow(conn), reg.person_id, date(2025, 3, 2))
        assert on is not None and on.period_on(date(2025, 3, 2)) is None  # but not insured before the ВС
        assert (
            history.known_on(uow(conn), reg.person_id, date(2020, 1, 1)) is None
        )  # the register did not know them
        assert history.known_on(uow(conn), reg.person_id, date.today()) == _card(fresh_engine, reg.person_id)
    _ = dataclasses  # keep the import for builders' use in this module


@pytest.mark.parametrize(
    "op",
    [
        "П021",
        "П022",
        "П023",
        "П024",
        "П025",
        "П031",
        "П032",
        "П033",
        "П034",
        "П035",
        "П036",
        "П040",
        "П060",
        "П061",
        "П062",
        "П063",
    ],
)
def test_every_operation_but_p010_is_refused_for_a_person_not_in_the_register(
    op: str, registry: Register, smo, fresh_engine: Engine
) -> None:
    before = _counts(fresh_engine)
    rec = builders.record(
        op,
        enp=builders.enp_for(builders.person_data(), 777),
        dvizit=date(2025, 5, 5),
        ddeath=date(2025, 5, 1) if op == "П022" else None,
    )
    res = _one(registry, smo(SMO1), rec)
    assert res.code_erp == "AE" and "501" in {e["code"] for e in res.errors}, res
    assert _counts(fresh_engine) == before
