"""The fault suite (bench/faults.py) at a reduced size: `rserz up` under signed load, each kind of fault
once, then every invariant of rserz_soap/db/invariants.py must hold. `make faults` runs the full size."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.faults import FAULT_KINDS, Plan, render, run

pytestmark = pytest.mark.slow


def test_every_invariant_holds_after_each_kind_of_fault_under_signed_load(tmp_path: Path) -> None:
    plan = Plan(
        duration=20,
        rounds=1,
        persons=200,
        rate=2,
        outage=2,
        drain_timeout=75,
        command="tests/test_faults.py (reduced: 20 s of load, each fault once)",
    )
    outcome = run(tmp_path / "var", plan)
    report = render(outcome)
    assert [i.kind for i in outcome.injections] == list(FAULT_KINDS), report
    assert all(i.recovered is not False for i in outcome.injections), report
    assert outcome.hub_alive, report
    assert outcome.stats.writes_acknowledged >= 20 and outcome.stats.writes_unanswered == 0, report
    assert outcome.stats.reads_ok > 0, report
    assert outcome.stats.internal_errors == 0, report  # outages are SRV-001 (retry), not SRV-002
    assert outcome.drained_in is not None, report
    failed = [f"{r.name}: {r.violations} ({'; '.join(r.samples)})" for r in outcome.results if not r.ok]
    assert failed == [], report
    assert outcome.results and outcome.ok, report
