"""getChanges resumes without skipping or repeating; getSnapshot counts the insured on a date."""

from __future__ import annotations

from datetime import date
from typing import Any

import zeep

from rserz_soap.db.uow import Database
from rserz_soap.usecases import snapshots
from rserz_soap.xmlsig.trust import TrustStore
from rserz_soap.xmlsig.zeep_plugin import WsseSigner
from tests.soap.conftest import Hub


def _client(hub: Hub, folder: str) -> Any:
    signer = WsseSigner(
        hub.keypair(folder), trust=TrustStore.from_pki_dir(hub.pki), expected_signers={hub.sha256("hub")}
    )
    return zeep.Client(f"{hub.url}/soap/changes?wsdl", wsse=signer)


def _drain(client: Any, after: int, limit: int) -> tuple[list[int], int]:
    seen: list[int] = []
    while True:
        page = client.service.getChanges(AFTER_SEQ=after, LIMIT=limit)
        seen += [c.SEQ for c in page.CHANGE]
        after = page.NEXT_SEQ
        if not page.MORE:
            return seen, after


def test_changes_are_read_in_pages_without_gaps_or_repeats(hub: Hub) -> None:
    iszl = _client(hub, "iszl")
    seen, cursor = _drain(iszl, 0, 1)
    assert len(seen) >= 3 and seen == sorted(set(seen))
    again, _ = _drain(iszl, cursor, 1)
    assert again == []  # resuming at the cursor repeats nothing


def test_an_smo_sees_its_own_insured_only(hub: Hub) -> None:
    smo1, _ = _drain(_client(hub, "smo-45001"), 0, 100)
    smo2_seen, _ = _drain(_client(hub, "smo-45002"), 0, 100)
    everything, _ = _drain(_client(hub, "iszl"), 0, 100)
    assert set(smo1) <= set(everything) and set(smo2_seen) <= set(everything)
    assert smo1  # the hub's persons are insured by 45001


def test_snapshot_on_a_date(hub: Hub) -> None:
    iszl = _client(hub, "iszl")
    assert iszl.service.getSnapshot(DATE=date(2025, 3, 10)).ERR_CODE == "1"  # not published: no answer
    assert _client(hub, "mo-450001").service.listSnapshots().ERR_CODE == "1"
    db = Database(hub.engine)
    for day in (date(2025, 3, 10), date(2025, 3, 1)):
        snapshots.publish(db.unit_of_work(), day, actor="test")
    on = iszl.service.getSnapshot(DATE=date(2025, 3, 10), PAGE=1, PAGE_SIZE=100)
    enps = {z.ENP for z in on.ZL}
    assert {p.enp for p in hub.persons} <= enps and on.TOTAL >= 3
    before = iszl.service.getSnapshot(DATE=date(2025, 3, 1))
    assert not ({p.enp for p in hub.persons} & {z.ENP for z in before.ZL})
    mine = _client(hub, "smo-45002").service.getSnapshot(DATE=date(2025, 3, 10))
    assert not ({p.enp for p in hub.persons} & {z.ENP for z in mine.ZL})
    listed = _client(hub, "mo-450001").service.listSnapshots()
    assert [s.DATE for s in listed.SNAPSHOT] == [date(2025, 3, 10), date(2025, 3, 1)]
