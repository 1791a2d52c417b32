"""The hub's ФЕРЗЛ client against the emulator: every key, the version check, timeouts and the breaker."""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
import uuid
from datetime import date
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from rserz_soap.cli import main
from rserz_soap.emulators.ferzl.population import Divergence
from rserz_soap.federal.mpi_client import MpiClient
from rserz_soap.usecases.federal_port import FederalError, FederalUnavailable
from tests.federal.conftest import Stand


def _federal_row(stand: Stand, enp: str):  # type: ignore[no-untyped-def]
    with stand.ferzl.connect() as conn:
        return conn.execute(text("SELECT * FROM fed_person WHERE enp = :e"), {"e": enp}).one()


def _some_enp(stand: Stand, skip: int = 0) -> str:
    planted = {p.enp for p in stand.planted}
    with stand.ferzl.connect() as conn:
        enps = conn.execute(
            text(
                "SELECT enp FROM fed_person WHERE snils IS NOT NULL AND doc_num IS NOT NULL"
                " AND status = 'INSURED' ORDER BY enp LIMIT 50"
            )
        ).scalars()
        return str([e for e in enps if e not in planted][skip])


def test_every_search_key_finds_the_same_federal_card(small_stand: Stand) -> None:
    client = small_stand.client()
    enp = _some_enp(small_stand)
    row = _federal_row(small_stand, enp)

    by_enp = client.person(enp=enp)
    assert by_enp is not None and by_enp.fam == row.fam and by_enp.dr == row.birth_date and by_enp.oip
    keys: list[dict[str, Any]] = [
        {"oip": by_enp.oip},
        {"snils": (row.snils, row.birth_date)},
        {"document": (row.doc_type, row.doc_ser, row.doc_num)},
        {"policy": (row.policy_ser, row.policy_num)},
    ]
    for key in keys:
        found = client.person(**key)
        assert found is not None and found.oip == by_enp.oip, key
    assert client.person(enp="4599999999999999") is None
    count, page = client.find_persons(row.fam[:4], None, None, row.birth_date)
    assert count >= 1 and enp in {e for _fio, e, _oip in page}


def test_a_historical_document_still_finds_the_person(small_stand: Stand) -> None:
    """§3.1.2: identifiers may be historical — a replaced passport finds its holder (registerDudl)."""
    client = small_stand.client()
    enp = _some_enp(small_stand, skip=1)
    row = _federal_row(small_stand, enp)
    person = client.person(enp=enp)
    assert person is not None
    from rserz_soap.domain.person import Document, PersonData

    new = Document(14, "45 33", f"9{row.doc_num[-5:]}", docdate=date(2025, 1, 10))
    facts = PersonData(fam=row.fam, im=row.im, ot=row.ot, w=row.sex, dr=row.birth_date)
    assert client.register_dudl(str(uuid.uuid4()), enp, new, facts).accepted
    assert client.person(document=(row.doc_type, row.doc_ser, row.doc_num)) is not None  # the old one
    assert client.person(document=(14, "45 33", new.docnum)) is not None


def test_a_federal_death_is_read_as_such(small_stand: Stand) -> None:
    dead = next(p for p in small_stand.planted if p.kind is Divergence.DEATH_ONLY_FEDERAL)
    person = small_stand.client().person(enp=dead.enp)
    assert person is not None and person.status == "DEAD"
    assert person.ddeath is not None and person.ddeath.isoformat() == dead.federal


def test_the_cli_finds_a_person_in_the_federal_register(
    small_stand: Stand, monkeypatch: pytest.MonkeyPatch
) -> None:
    small_stand.use_in_this_process(monkeypatch)
    enp = _some_enp(small_stand)
    row = _federal_row(small_stand, enp)
    result = CliRunner().invoke(
        main, ["federal", "find", "--fio", row.fam, row.im, row.ot or "", "--dr", row.birth_date.isoformat()]
    )
    assert result.exit_code == 0, result.output
    assert f"ЕНП {enp}" in result.output and row.doc_num in result.output
    missing = CliRunner().invoke(main, ["federal", "find", "--enp", "4599999999999999"])
    assert missing.exit_code == 1 and "not found" in missing.output
    both = CliRunner().invoke(main, ["federal", "find", "--enp", enp, "--snils", row.snils])
    assert both.exit_code == 2 and "exactly one key" in both.output


def test_another_api_version_is_refused_with_a_clear_error(small_stand: Stand) -> None:
    settings = dataclasses.replace(small_stand.settings, ferzl_api_version="25.0.0")
    client = MpiClient.from_settings(settings)
    with pytest.raises(FederalError) as caught:
        client.person(enp=_some_enp(small_stand))
    assert caught.value.code == "400" and "25.0.0" in caught.value.text and "24.2.6" in caught.value.text


def test_a_hanging_answer_times_out_as_unavailable(small_stand: Stand) -> None:
    settings = dataclasses.replace(small_stand.settings, ferzl_timeout=1.0)
    client = MpiClient.from_settings(settings)
    client.person(enp=_some_enp(small_stand))  # the token is taken before the faults
    small_stand.faults(timeout_rate=1.0, hang_seconds=3)
    try:
        started = time.monotonic()
        with pytest.raises(FederalUnavailable):
            client.person(enp=_some_enp(small_stand))
        assert time.monotonic() - started < 2.5
    finally:
        small_stand.faults()


def test_the_breaker_opens_after_five_failures_and_closes_after_its_reset(small_stand: Stand) -> None:
    client = small_stand.client()  # breaker state in Redis; reset after 2 s on the stand
    enp = _some_enp(small_stand)
    client.person(enp=enp)
    small_stand.faults(outage_until=(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)).isoformat())
    try:
        for _ in range(5):
            with pytest.raises(FederalUnavailable):
                client.person(enp=enp)
        with pytest.raises(FederalUnavailable, match="circuit open"):
            client.person(enp=enp)  # refused without a call
        # every process of the hub shares the open circuit (its state is in Redis)
        with pytest.raises(FederalUnavailable, match="circuit open"):
            small_stand.client().person(enp=enp)
    finally:
        small_stand.faults()
    time.sleep(2.2)
    assert client.person(enp=enp) is not None  # the trial call succeeds and closes it
    assert client.breaker.current_state == "closed"


def test_calls_from_several_threads_share_one_circuit(small_stand: Stand) -> None:
    """The outbox sends from several threads; each thread's breaker keeps its state in the same place, so
    failures in different threads add up and the open circuit refuses every thread (here in memory)."""
    from concurrent.futures import ThreadPoolExecutor

    client = MpiClient.from_settings(small_stand.settings)  # no Redis: the state is the owner's memory
    enp = _some_enp(small_stand)
    small_stand.faults(outage_until=(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)).isoformat())
    try:
        for _ in range(5):  # each failure in a thread of its own
            with ThreadPoolExecutor(1) as pool, pytest.raises(FederalUnavailable):
                pool.submit(client.person, enp=enp).result()
        assert client.breaker.current_state == "open"
        with pytest.raises(FederalUnavailable, match="circuit open"):
            client.person(enp=enp)
        with ThreadPoolExecutor(1) as pool, pytest.raises(FederalUnavailable, match="circuit open"):
            pool.submit(client.person, enp=enp).result()
    finally:
        small_stand.faults()


def test_a_business_refusal_does_not_count_towards_the_breaker(small_stand: Stand) -> None:
    client = MpiClient.from_settings(small_stand.settings)
    for _ in range(7):
        with pytest.raises(FederalError):
            client.poll("getChangesEvent", "no-such-operation")
    assert client.breaker.current_state == "closed"


def test_the_document_client_reads_a_person_by_current_and_historical_identifiers(small_stand: Stand) -> None:
    client = small_stand.client()
    enp = _some_enp(small_stand)
    row = _federal_row(small_stand, enp)
    person = client.person(enp=enp)
    assert person is not None and person.fam == row.fam and person.dr == row.birth_date and person.oip
    assert client.person(oip=person.oip) == person
    assert person.latest_policy() is not None and person.latest_policy().smo == row.smo  # type: ignore[union-attr]
