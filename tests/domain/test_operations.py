"""Transitions the field's formats call for: the old СМО's answer to a STOPLIST, stop reason 4, no VIZIT."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from rserz_soap.domain.operations import (
    NOT_INSURED_BY_SUBMITTER,
    OperationContext,
    OperationRefused,
    apply_operation,
    confirmed_period,
)
from rserz_soap.domain.person import InsurancePeriod, PersonCard, Status, StopReason
from tests.domain.flk.builders import (
    ENP,
    OTHER_SMO,
    SMO,
    TODAY,
    insured_card,
    known_person_record,
    period,
    single_policy,
    valid_record,
    with_visit,
)


def _ctx(smo: str = SMO) -> OperationContext:
    def allocate(dr: date, w: int) -> str:
        raise AssertionError("no ЕНП is allocated in these cases")

    return OperationContext(smo, TODAY, allocate)


def _moved_to_other_smo(reason: int = StopReason.YEARLY_CHANGE) -> PersonCard:
    """The person left SMO (its period closed by the hub) and is insured by OTHER_SMO now."""
    old = period(SMO, dstop=date(2025, 2, 1), stop_reason=reason)
    new = period(OTHER_SMO, dbeg=date(2025, 2, 1))
    return insured_card(insurance=frozenset({old, new}))


@pytest.mark.parametrize("op", ["П021", "П022", "П023", "П025"])
def test_the_old_smos_answer_to_its_stoplist_confirms_and_changes_nothing(op: str) -> None:
    card = _moved_to_other_smo()
    record = known_person_record(op, ddeath=date(2025, 2, 1) if op == "П022" else None)

    transition = apply_operation(card, record, _ctx(SMO))

    assert transition.confirmed
    assert transition.after == card and transition.before == card
    assert transition.stop_notices == ()
    assert transition.valid_from == date(2025, 2, 1)


def test_a_confirmation_of_a_death_the_hub_recorded_is_not_refused_as_dead() -> None:
    closed = period(SMO, dstop=date(2025, 2, 10), stop_reason=StopReason.DEATH)
    card = insured_card(status=Status.DEAD, ddeath=date(2025, 2, 10), insurance=frozenset({closed}))

    transition = apply_operation(card, known_person_record("П022", ddeath=date(2025, 2, 10)), _ctx())

    assert transition.confirmed and transition.after == card


def test_a_confirmation_names_the_closed_policy_when_the_record_carries_it() -> None:
    first = period(SMO, npolis="450000111", dbeg=date(2019, 1, 1), dstop=date(2020, 1, 1), stop_reason=2)
    second = period(SMO, dbeg=date(2021, 1, 1), dstop=date(2025, 2, 1), stop_reason=2)
    now = period(OTHER_SMO, dbeg=date(2025, 2, 1))
    card = insured_card(insurance=frozenset({first, second, now}))
    record = dataclasses.replace(
        known_person_record("П021"),
        insurance=dataclasses.replace(
            known_person_record("П021").insurance, policy=single_policy(npolis="450000111")
        ),
    )

    assert confirmed_period(card, record, SMO) == first
    assert confirmed_period(card, known_person_record("П021"), SMO) == second  # else the latest


def test_a_de_registration_by_the_smo_holding_the_open_period_is_no_confirmation() -> None:
    card = insured_card(SMO)

    transition = apply_operation(card, known_person_record("П021"), _ctx(SMO))

    assert not transition.confirmed
    assert transition.after.open_period() is None


def test_an_smo_that_never_insured_the_person_is_still_refused() -> None:
    with pytest.raises(OperationRefused) as refused:
        apply_operation(insured_card(OTHER_SMO), known_person_record("П021"), _ctx(SMO))

    assert refused.value.code == NOT_INSURED_BY_SUBMITTER


def test_p024_is_never_an_answer_to_a_stoplist() -> None:
    assert confirmed_period(_moved_to_other_smo(), known_person_record("П024"), SMO) is None


@pytest.mark.parametrize(
    ("op", "rsmo", "reason"),
    [
        ("П034", 2, StopReason.VS_BY_OTHER_SMO),
        ("П035", 3, StopReason.VS_BY_OTHER_SMO),
        ("П036", 4, StopReason.VS_BY_OTHER_SMO),
        ("П031", 2, StopReason.YEARLY_CHANGE),
        ("П032", 3, StopReason.MOVED),
    ],
)
def test_a_change_of_smo_with_a_new_policy_closes_the_old_period_with_reason_4(
    op: str, rsmo: int, reason: int
) -> None:
    card = insured_card(OTHER_SMO)
    if op in ("П034", "П035", "П036"):
        record = with_visit(valid_record(op), rsmo=rsmo, rpolis=1)
    else:
        record = with_visit(known_person_record(op), rsmo=rsmo)

    transition = apply_operation(card, record, _ctx(SMO))

    (closed,) = [p for p in transition.after.insurance if p.smo_code == OTHER_SMO]
    assert closed.stop_reason == reason
    (notice,) = transition.stop_notices
    assert (notice.smo_code, notice.reason) == (OTHER_SMO, reason)


def test_a_change_of_data_without_vizit_takes_the_day_it_was_received() -> None:
    record = dataclasses.replace(known_person_record("П040"), visit=None, received_on=date(2025, 3, 4))

    transition = apply_operation(insured_card(), record, _ctx())

    assert record.event_date == date(2025, 3, 4)
    assert transition.valid_from == date(2025, 3, 4)


def test_a_de_registration_without_vizit_takes_its_policys_stop_date() -> None:
    base = known_person_record("П021")
    policy = single_policy(dstop=date(2025, 2, 28))
    record = dataclasses.replace(
        base, visit=None, insurance=dataclasses.replace(base.insurance, policy=policy), received_on=TODAY
    )

    transition = apply_operation(insured_card(), record, _ctx())

    (stopped,) = transition.after.insurance
    assert isinstance(stopped, InsurancePeriod) and stopped.dstop == date(2025, 2, 28)
    assert stopped.enp == ENP
