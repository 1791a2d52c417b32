"""ЕГР ЗАГС through the emulator: deaths, ambiguous deaths, cancellations and births reach the register once."""

from __future__ import annotations

from collections import Counter

from rserz_soap.usecases import zags
from tests.smev.conftest import SmevStand


def _drain(stand: SmevStand) -> zags.PollReport:
    total = zags.PollReport()
    while True:
        r = zags.poll(stand.uow(), stand.zags(), limit=500)
        for k in ("taken", "repeated", "finished", "applied", "confirmed", "held", "refused"):
            setattr(total, k, getattr(total, k) + getattr(r, k))
        if r.taken == 0:
            return total


def test_deaths_births_and_cancellations_reach_the_register_once(stand: SmevStand) -> None:
    deaths = stand.control("POST", "zags/deaths", {"count": 30, "ambiguous": 3, "cancelled": 2, "seed": 1})
    births = stand.control("POST", "zags/births", {"count": 10, "seed": 2})
    report = _drain(stand)
    assert report.taken == 30 + 2 + 10 and report.held == 3

    by_kind = Counter(d["kind"] for d in deaths)
    assert by_kind == {"death": 25, "ambiguous": 3, "cancelled": 2}
    for d in deaths:
        status, ddeath = stand.hub_rows(
            "SELECT d.status, d.ddeath FROM person p JOIN person_data d ON d.person_id = p.id"
            " WHERE p.main_enp = :e AND d.superseded_at IS NULL AND d.valid_to IS NULL",
            e=d["enp"],
        )[0]
        if d["kind"] == "death":
            assert (status, ddeath.isoformat()) == ("dead", d["ddeath"]), d
        else:
            assert status != "dead", d
    held = zags.held(stand.uow())
    assert len(held) == 3 and all(h.result["why"] == "no person matches" for h in held)
    acts = {r[0] for r in stand.hub_rows("SELECT act_number FROM newborn WHERE state = 'waiting'")}
    assert acts == {b["act_number"] for b in births}
    # every push got exactly one receipt and was acknowledged
    receipts = stand.smev_rows(
        "SELECT count(*) FROM mx_message WHERE kind = 'response' AND recipient = 'ZAGS45'"
    )[0][0]
    assert receipts == 42
    assert (
        stand.smev_rows("SELECT count(*) FROM mx_message WHERE kind = 'request' AND state <> 'acked'")[0][0]
        == 0
    )
    stand.flush()
    journal = dict(
        stand.hub_rows(
            "SELECT direction, count(*) FROM exchange_journal WHERE service = 'smev' GROUP BY direction"
        )
    )
    assert journal["in"] == 42 and journal["out"] >= 42 * 3


def test_an_operator_settles_a_held_record(stand: SmevStand) -> None:
    planted = stand.control("POST", "zags/deaths", {"count": 1, "ambiguous": 1, "seed": 3})
    _drain(stand)
    (item,) = [h for h in zags.held(stand.uow()) if h.record["act_number"] == planted[0]["act_number"]]
    pid = stand.hub_scalar("SELECT id FROM person WHERE main_enp = :e", e=planted[0]["enp"])
    done = zags.resolve(
        stand.uow(), item.message_id, item.index, person_id=pid, actor="op", reason="by the passport"
    )
    assert done["result"] == "applied"
    assert (
        stand.hub_scalar(
            "SELECT status FROM person_data WHERE person_id = :p AND superseded_at IS NULL AND valid_to IS NULL",
            p=pid,
        )
        == "dead"
    )


def test_duplicate_deliveries_are_recognised(stand: SmevStand) -> None:
    stand.faults(duplicate_rate=1.0)
    try:
        planted = stand.control("POST", "zags/deaths", {"count": 5, "seed": 4})
        report = _drain(stand)
    finally:
        stand.faults()
    assert report.repeated == 5 and report.applied == 5
    waiting = stand.smev_rows("SELECT count(*) FROM mx_message WHERE kind = 'request' AND state <> 'acked'")
    assert waiting[0][0] == 0  # the repeats were acknowledged too
    versions = stand.hub_scalar(
        "SELECT count(*) FROM person_version v JOIN person p ON p.id = v.person_id"
        " WHERE p.main_enp = ANY(:e) AND v.operation = 'DEATH'",
        e=[d["enp"] for d in planted],
    )
    assert versions == 5


def test_a_push_whose_sender_signature_fails_is_refused_answered_and_acknowledged(stand: SmevStand) -> None:
    (planted,) = stand.control("POST", "zags/deaths", {"count": 1, "seed": 5})
    with stand.smev.begin() as conn:  # one byte of the ЗАГС's signed data changed inside СМЭВ
        conn.exec_driver_sql(
            "UPDATE mx_message SET data_xml = replace(data_xml, 'ДатаСмерт>2', 'ДатаСмерт>1')"
            " WHERE message_id = %(m)s",
            {"m": planted["message_id"]},
        )
    report = _drain(stand)
    assert report.refused == 1 and report.applied == 0
    state, results = stand.hub_rows(
        "SELECT state, results FROM smev_inbox WHERE message_id = :m", m=planted["message_id"]
    )[0]
    assert state == "refused" and "signature does not hold" in results[0]["why"]
    assert (
        stand.hub_scalar(
            "SELECT d.status FROM person p JOIN person_data d ON d.person_id = p.id"
            " WHERE p.main_enp = :e AND d.superseded_at IS NULL AND d.valid_to IS NULL",
            e=planted["enp"],
        )
        != "dead"
    )
    receipt = stand.smev_rows(
        "SELECT data_xml FROM mx_message WHERE kind = 'response' AND original_message_id = :m",
        m=planted["message_id"],
    )[0][0]
    assert 'КодОбр="2"' in receipt
    assert (
        stand.smev_rows("SELECT state FROM mx_message WHERE message_id = :m", m=planted["message_id"])[0][0]
        == "acked"
    )
