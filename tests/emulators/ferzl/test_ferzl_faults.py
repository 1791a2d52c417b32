"""The fault switches of the ФЕРЗЛ emulator, as the hub's client meets them, and its control API."""

from __future__ import annotations

import datetime as dt
import time

import pytest
import requests

from rserz_soap.emulators.ferzl.faults import Faults
from rserz_soap.federal import contract
from rserz_soap.usecases.federal_port import FederalUnavailable
from tests.emulators.ferzl.conftest import Ferzl, faults
from tests.emulators.ferzl.test_ferzl_mpi import _enp, client


def test_not_soap_is_http_400(calm: Ferzl) -> None:
    token = calm.control("POST", "token", {})[1]["token"]
    url = f"{calm.url}{contract.SERVICES[0].path('24.2.6')}"
    r = requests.post(
        url, data=b"<hello/>", headers={"Content-Type": "text/xml", "X-Auth-Token": token}, timeout=10
    )
    assert r.status_code == 400 and b"Fault" in r.content


def test_outage_answers_503_without_soap_and_ends_on_time(calm: Ferzl) -> None:
    c, enp = client(calm), _enp(calm)
    until = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    with faults(calm, outage_until=until.isoformat()), pytest.raises(FederalUnavailable, match="503"):
        c.person(enp=enp)
    past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    with faults(calm, outage_until=past.isoformat()):
        assert c.person(enp=enp) is not None


def test_error_rate_one_is_always_http_500(calm: Ferzl) -> None:
    c, enp = client(calm), _enp(calm)
    with faults(calm, error_rate=1.0):
        for _ in range(3):
            with pytest.raises(FederalUnavailable, match="500"):
                c.person(enp=enp)


def test_timeout_hangs_longer_than_a_short_client_waits(calm: Ferzl) -> None:
    c, enp = client(calm, timeout=0.4), _enp(calm)
    c.person(enp=enp)  # the token first
    with faults(calm, timeout_rate=1.0, hang_seconds=1.2):
        started = time.monotonic()
        with pytest.raises(FederalUnavailable, match="Timeout"):
            c.person(enp=enp)
        assert time.monotonic() - started < 1.0
    time.sleep(0.9)  # let the hanging request finish before the switches change under it


def test_latency_delays_every_answer(calm: Ferzl) -> None:
    c, enp = client(calm), _enp(calm)
    c.person(enp=enp)
    with faults(calm, latency_ms=300):
        started = time.monotonic()
        c.person(enp=enp)
        assert time.monotonic() - started >= 0.3


def test_duplicates_repeat_events(calm: Ferzl) -> None:
    c = client(calm)
    enps = list(calm.scalar_list("SELECT enp FROM fed_person WHERE status = 'INSURED' ORDER BY enp LIMIT 3"))
    for enp in enps:
        assert calm.control("POST", "events", {"enp": enp, "event": "ИЗЕРН", "ot": "Тестович"})[0] == 200
    today = dt.date.today()
    token, items = c.events("45000", today, today)
    while items is None:
        time.sleep(0.05)
        token, items = c.events("45000", today, today, token=token)
    once = [e.key for e in items if e.enp in enps]
    assert len(once) == 3
    with faults(calm, duplicate_rate=1.0):
        _token, twice = c.events("45000", today, today, token=token)
    assert twice is not None and [e.key for e in twice if e.enp in enps] == [k for k in once for _ in (1, 2)]


def test_the_control_api_reads_and_validates_the_switches(calm: Ferzl) -> None:
    status, body = calm.control("PUT", "faults", {"error_rate": 0.25, "latency_ms": 5})
    assert status == 200 and body["error_rate"] == 0.25
    assert calm.control("GET", "faults")[1] == Faults(error_rate=0.25, latency_ms=5).to_json()
    assert calm.control("PUT", "faults", {"eror_rate": 1})[0] == 400
    assert calm.control("PUT", "faults", {"error_rate": 2})[0] == 400
    assert calm.control("GET", "nothing")[0] == 404
    assert calm.control("POST", "events", {"event": "ФСМ"})[0] == 400
    assert calm.control("POST", "events", {"enp": "4599999999999999", "event": "РАБ"})[0] == 404
    assert calm.control("GET", "faults")[1]["error_rate"] == 0.25
