"""СНИЛС from СФР through the emulator: asked for persons without one, twins held, shared ones validated."""

from __future__ import annotations

from rserz_soap.usecases import manual, snils
from tests.smev.conftest import SmevStand


def _round(stand: SmevStand) -> snils.SnilsReport:
    sent = snils.send_pending(stand.uow(), stand.sfr())
    taken = snils.take_answers(stand.uow(), stand.sfr())
    taken.sent = sent.sent
    return taken


def test_persons_without_snils_get_theirs_with_an_audit(stand: SmevStand) -> None:
    missing = stand.hub_scalar(
        "SELECT count(*) FROM person_data WHERE superseded_at IS NULL AND valid_to IS NULL AND ss IS NULL"
        " AND status IN ('insured', 'not_insured', 'suspended')"
    )
    assert missing > 0, "the demo region has persons without СНИЛС"
    filed = snils.plan(stand.uow(), limit=missing)
    assert filed.filed >= missing
    report = _round(stand)
    assert report.sent == filed.filed and report.answers == filed.filed
    assert report.applied + report.held + report.confirmed == filed.filed and report.applied > 0
    # what was applied is what СФР holds for that person, with a version and the actor
    rows = stand.hub_rows(
        "SELECT r.snils_found, d.ss, v.actor FROM smev_request r"
        " JOIN person_data d ON d.person_id = r.person_id AND d.superseded_at IS NULL AND d.valid_to IS NULL"
        " JOIN person_version v ON v.person_id = r.person_id AND v.operation = 'SNILS_SFR'"
        " WHERE r.outcome = 'applied'"
    )
    assert len(rows) == report.applied and all(r.snils_found == r.ss and r.actor == "smev:sfr" for r in rows)


def test_twins_found_by_data_alone_are_held_not_applied(stand: SmevStand) -> None:
    twin = stand.smev_rows("SELECT enp FROM mx_person WHERE twin LIMIT 1")[0][0]
    pid = stand.hub_scalar("SELECT id FROM person WHERE main_enp = :e", e=twin)
    before = stand.hub_scalar(
        "SELECT ss FROM person_data WHERE person_id = :p AND superseded_at IS NULL AND valid_to IS NULL",
        p=pid,
    )
    with stand.uow() as uow:
        (mid,) = uow.smev_requests.add(snils.BY_DATA, [pid])
    report = _round(stand)
    assert report.held >= 1
    state, verdict, found = stand.hub_rows(
        "SELECT state, verdict, snils_found FROM smev_request WHERE message_id = :m", m=mid
    )[0]
    assert (state, verdict, len(found.split())) == ("review", "ambiguous", 2)
    after = stand.hub_scalar(
        "SELECT ss FROM person_data WHERE person_id = :p AND superseded_at IS NULL AND valid_to IS NULL",
        p=pid,
    )
    assert after == before


def test_a_snils_two_persons_hold_is_validated_for_each(stand: SmevStand) -> None:
    a, b = (
        r[0]
        for r in stand.hub_rows(
            "SELECT person_id FROM person_data WHERE superseded_at IS NULL AND valid_to IS NULL AND ss IS NOT NULL"
            " AND status = 'insured' ORDER BY person_id LIMIT 2"
        )
    )
    ss_a = stand.hub_scalar(
        "SELECT ss FROM person_data WHERE person_id = :p AND superseded_at IS NULL AND valid_to IS NULL", p=a
    )
    manual.apply_registry(
        stand.uow(),
        b,
        {"ss": ss_a},
        actor="test",
        reason="a typo",
        source_kind="operator",
        operation="MANUAL",
    )
    filed = snils.plan(stand.uow(), limit=10)
    assert filed.filed >= 2
    _round(stand)
    verdicts = {
        r.person_id: (r.state, r.verdict)
        for r in stand.hub_rows(
            "SELECT person_id, state, verdict FROM smev_request WHERE kind = 'SnilsValidationRequest'"
            " AND person_id = ANY(:p)",
            p=[a, b],
        )
    }
    assert verdicts == {a: ("answered", "found"), b: ("review", "differs")}
