"""Pushing the register's events to the ИСЗЛ: with the ИСЗЛ emulator down for a while and a worker killed
between the ИСЗЛ's acknowledgement and the cursor's commit, every subscribed event arrives, in order per
person, and none twice once the ИСЗЛ de-duplicates by event id."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from werkzeug.serving import make_server

from rserz_soap.config import Settings
from rserz_soap.db.engine import make_engine
from rserz_soap.db.uow import Database
from rserz_soap.domain import iszl as kinds
from rserz_soap.domain.records import PolicyInput
from rserz_soap.emulators.iszl.app import IszlApp, prepare_iszl
from rserz_soap.emulators.iszl.store import iszl_database_url
from rserz_soap.emulators.store import ensure_database
from rserz_soap.iszl.client import IszlClient
from rserz_soap.usecases import attachments, changes, iszl
from rserz_soap.usecases.vital import EventSource, record_death
from rserz_soap.xmlsig import devpki
from tests import builders

SUBSCRIBED = kinds.parse_kinds("NEW_INSURED,DEATH,ATTACHMENT")


@dataclasses.dataclass
class Stand:
    settings: Settings
    hub: Engine
    iszl_url: str

    def client(self) -> IszlClient:
        return IszlClient.from_settings(self.settings)

    def control(self, name: str, **data: Any) -> Any:
        base = self.iszl_url + "/_control/" + name
        resp = requests.post(base, json=data, timeout=10) if data else requests.get(base, timeout=10)
        resp.raise_for_status()
        return resp.json()


@pytest.fixture
def stand(fresh_engine: Engine, settings: Settings, tmp_path: Path) -> Iterator[Stand]:
    pki = tmp_path / "pki"
    devpki.init_pki(pki, [devpki.ParticipantSpec("iszl", None, "ИСЗЛ")])
    url = fresh_engine.url.render_as_string(hide_password=False)
    hub_settings = dataclasses.replace(settings, var_dir=str(tmp_path), database_url=url)
    ensure_database(iszl_database_url(url))
    iszl_engine = make_engine(iszl_database_url(url))
    prepare_iszl(iszl_engine)
    server = make_server("127.0.0.1", 0, _mounted(IszlApp(hub_settings, iszl_engine)), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    endpoint = f"http://127.0.0.1:{server.server_port}/iszl"
    try:
        yield Stand(dataclasses.replace(hub_settings, iszl_url=endpoint), fresh_engine, endpoint)
    finally:
        server.shutdown()
        iszl_engine.dispose()
        with fresh_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            name = make_url(iszl_database_url(url)).database
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _mounted(app: IszlApp) -> Any:
    def wsgi(environ: dict[str, Any], start_response: Any) -> Any:
        return app(environ, start_response)

    return wsgi


def _changes(stand: Stand) -> list[tuple[int, str, str]]:
    """Persons registered (NEW_INSURED), attached (ATTACHMENT), some dead (DEATH), a data change
    (CHANGED: not subscribed); the published feed as (feed position, ЕНП, kind)."""
    db = Database(stand.hub)
    cards = []
    with stand.hub.begin() as conn:
        for n in range(6):
            rec = builders.record(
                person=builders.person_data(fam=f"Событиева{'а' * n}"),
                documents=(builders.passport(docnum=f"81000{n}"),),
                policy=PolicyInput(vpolis=2, npolis=f"08100000{n}", dbeg=date(2025, 3, 3)),
            )
            cards.append(builders.register_person(conn, rec).card)
    source = attachments.ChangeSource("mo", "450001", "test")
    for card in cards:
        attachments.attach(db.unit_of_work(), card.person_id, "450001", 1, date(2025, 5, 1), 2, source=source)
    for card in cards[:2]:
        record_death(db.unit_of_work(), card.person_id, date(2025, 6, 1), EventSource("zags", "act", "test"))
    changes.publish(db.unit_of_work())
    with stand.hub.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT j.feed_seq, p.main_enp, j.operation FROM change_journal j JOIN person p ON p.id = j.person_id"
                " WHERE j.feed_seq IS NOT NULL ORDER BY j.feed_seq"
            )
        ).all()
    return [(r[0], r[1], kinds.classify(r[2])) for r in rows]


def test_every_event_arrives_in_order_once_through_an_outage_and_a_killed_worker(stand: Stand) -> None:
    published = _changes(stand)
    expected = [(seq, enp, kind) for seq, enp, kind in published if kind in SUBSCRIBED]
    assert {k for *_, k in expected} == SUBSCRIBED and len(expected) >= 14

    stand.control("faults", outage=True)  # the ИСЗЛ is down: nothing moves, nothing is lost
    with pytest.raises(iszl.IszlUnavailable):
        iszl.deliver(Database(stand.hub).unit_of_work(), stand.client(), SUBSCRIBED, batch=4)
    assert iszl.state(Database(stand.hub).unit_of_work())[0] == 0
    assert stand.control("events") == []
    stand.control("faults", outage=False)

    # a worker killed after the ИСЗЛ acknowledged its first call, before the cursor's commit
    code = (
        "import os, signal, dataclasses, json, sys\n"
        "from rserz_soap.config import load_settings\n"
        "from rserz_soap.db.uow import Database\n"
        "from rserz_soap.domain.iszl import parse_kinds\n"
        "from rserz_soap.iszl.client import IszlClient\n"
        "from rserz_soap.usecases import iszl\n"
        "s = load_settings()\n"
        "client = IszlClient.from_settings(s)\n"
        "real = client.notify\n"
        "def notify(events):\n"
        "    real(events)\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        "client.notify = notify\n"
        "iszl.deliver(Database.connect(s.database_url).unit_of_work(), client, parse_kinds(sys.argv[1]), batch=4)\n"
    )
    env = {
        **os.environ,
        "RSERZ_DATABASE_URL": stand.settings.database_url or "",
        "RSERZ_VAR_DIR": stand.settings.var_dir,
        "RSERZ_ISZL_URL": stand.iszl_url,
    }
    killed = subprocess.run(
        [sys.executable, "-c", code, "NEW_INSURED,DEATH,ATTACHMENT"], env=env, timeout=120
    )
    assert killed.returncode == -signal.SIGKILL
    assert len(stand.control("events")) == 4  # the ИСЗЛ has the first call's events …
    assert iszl.state(Database(stand.hub).unit_of_work())[0] == 0  # … but the cursor never moved

    report = iszl.deliver(Database(stand.hub).unit_of_work(), stand.client(), SUBSCRIBED, batch=4)
    received = stand.control("events")
    assert [(e["id"], e["enp"], e["kind"]) for e in received] == expected  # all, in feed order
    assert {e["id"]: e["times"] for e in received if e["times"] > 1} == {seq: 2 for seq, *_ in expected[:4]}
    assert report.sent == len(expected) and report.skipped == len(published) - len(expected)
    position, last, error = iszl.state(Database(stand.hub).unit_of_work())
    assert position == last == published[-1][0] and error is None
    # nothing new: a further run sends nothing
    assert iszl.deliver(Database(stand.hub).unit_of_work(), stand.client(), SUBSCRIBED).sent == 0


def test_an_answer_not_signed_by_the_iszl_is_no_acknowledgement(stand: Stand, tmp_path: Path) -> None:
    _changes(stand)
    other = tmp_path / "other"
    devpki.init_pki(other, [devpki.ParticipantSpec("iszl", None, "Самозванец")])
    pinned_elsewhere = dataclasses.replace(stand.settings, iszl_cert=str(other / "iszl" / "cert.pem"))
    with pytest.raises(iszl.IszlUnavailable, match="another certificate"):
        iszl.deliver(
            Database(stand.hub).unit_of_work(), IszlClient.from_settings(pinned_elsewhere), SUBSCRIBED
        )
    assert iszl.state(Database(stand.hub).unit_of_work())[0] == 0


def test_the_emulator_refuses_a_request_not_signed_by_the_hub(stand: Stand, tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from lxml import etree  # type: ignore[import-untyped, unused-ignore]

    from rserz_soap.domain.iszl import Event
    from rserz_soap.iszl import wire
    from rserz_soap.xmlsig.keys import load_keypair
    from rserz_soap.xmlsig.wsse import sign_envelope

    env = wire.envelope(
        wire.notify_changes(
            [Event(1, "DEATH", "4500000000000000", "DEATH", date(2025, 1, 1), datetime.now(UTC), None, ())]
        )
    )
    sign_envelope(
        env,
        load_keypair(
            stand.settings.pki_dir / "iszl" / "key.pem", stand.settings.pki_dir / "iszl" / "cert.pem"
        ),
    )
    resp = requests.post(
        stand.iszl_url, data=etree.tostring(env), headers={"Content-Type": "text/xml"}, timeout=10
    )
    assert resp.status_code == 500 and b"not signed by the hub" in resp.content
    assert stand.control("events") == []
