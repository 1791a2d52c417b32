"""Federal first, end to end: an СМО's signed submitOperations → awaiting_federal → the application job
→ getProtocol.

The hub's real SOAP endpoint (answers validated against xsd/), the ФЕРЗЛ emulator speaking the document's
SOAP (token, 24.2.6), and the applications sent by a real RQ worker: a new person's П010 becomes
``submitPolicyApplication`` 1/1, ФЕРЗЛ forms the ЕНП and a digital policy (Ц), the register stores them and
the protocol (REPLIST) carries them — no ЕНП is allocated locally; a federal refusal is ``rejected`` with
code 591; a repeated submitOperations and a repeated send apply nothing twice.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
import redis
import zeep
from rq import Queue, SimpleWorker
from sqlalchemy import text

from rserz_soap.db.participants import register_certificate
from rserz_soap.domain.identifiers import make_snils
from rserz_soap.emulators.ferzl.population import Divergence
from rserz_soap.jobs import federal as federal_jobs
from rserz_soap.jobs import queues
from rserz_soap.xmlsig import devpki
from rserz_soap.xmlsig.trust import TrustStore
from rserz_soap.xmlsig.zeep_plugin import WsseSigner
from tests.federal.conftest import Stand
from tests.soap.conftest import Hub, build_hub_app


@pytest.fixture(scope="module")
def hub(small_stand: Stand) -> Iterator[Hub]:
    pki = small_stand.settings.pki_dir
    issued = devpki.init_pki(pki, [devpki.ParticipantSpec("smo", "45001", "СМО 45001")])
    smo = next(c for c in issued if c.spec.kind == "smo")
    with small_stand.hub.begin() as conn:
        register_certificate(conn, small_stand.smo_participant, smo.cert_path.read_bytes())
    h = Hub("", small_stand.hub, pki, small_stand.settings, [])
    with build_hub_app(h) as url:
        h.url = url
        yield h


def _client(hub: Hub) -> Any:
    signer = WsseSigner(
        hub.keypair("smo-45001"), trust=TrustStore.from_pki_dir(hub.pki), expected_signers={hub.sha256("hub")}
    )
    return zeep.Client(f"{hub.url}/soap/register?wsdl", wsse=signer)


def _op(serial: int, doc: tuple[int, str | None, str]) -> dict[str, Any]:
    return {
        "N_REC": 1,
        "TIP_OP": "П010",
        "PERSON": {
            "FAM": "Сверкина",
            "IM": "Ольга",
            "OT": "Ивановна",
            "W": 2,
            "DR": date(1981, 7, serial % 28 + 1),
            "MR": "г. Северск",
            "C_OKSM": "643",
            "SS": make_snils(600_000_000 + serial),
            "KATEG": 1,
        },
        "DOC": [
            {
                "DOCTYPE": doc[0],
                "DOCSER": doc[1],
                "DOCNUM": doc[2],
                "DOCDATE": date(2024, 8, 1),
                "NAME_VP": "УМВД",
                "MAIN": True,
            }
        ],
        "ADDRES_G": {"OKATO": "45000000000", "NPNAME": "г. Северск", "UL": "ул. Мира", "DOM": "1"},
        "VIZIT": {"DVIZIT": date(2025, 4, 1), "METHOD": 1, "RSMO": 1, "RPOLIS": 1},
        "INSURANCE": {
            "TER_ST": "45000",
            "POLIS": {
                "VPOLIS": 2,
                "NPOLIS": f"0960{serial:05d}",
                "DBEG": date(2025, 4, 1),
                "DEND": date(2025, 5, 13),
            },
        },
    }


def _push_by_worker(stand: Stand, monkeypatch: pytest.MonkeyPatch) -> Any:
    stand.use_in_this_process(monkeypatch)
    assert stand.settings.redis_url
    rds = redis.Redis.from_url(stand.settings.redis_url)
    queue = Queue(queues.FEDERAL, connection=rds)
    job = queue.enqueue(federal_jobs.push_pending)  # the worker of this process: allocate_enp is refused
    SimpleWorker([queue], connection=rds).work(burst=True)
    rds.close()
    return job.return_value()


def test_submit_waits_for_ferzl_and_the_protocol_follows_its_answers(
    hub: Hub, small_stand: Stand, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rserz_soap.db.persons import Persons

    def refuse(*_a: Any, **_k: Any) -> str:
        raise AssertionError("an ЕНП was allocated locally")

    monkeypatch.setattr(Persons, "allocate_enp", refuse)  # the worker runs in this process: proven here
    client = _client(hub)
    fed_only = next(p for p in small_stand.planted if p.kind is Divergence.MISSING_REGIONALLY)
    with small_stand.ferzl.connect() as conn:
        taken = conn.execute(
            text("SELECT doc_type, doc_ser, doc_num FROM fed_person WHERE enp = :e"), {"e": fed_only.enp}
        ).one()
    ops = {
        "good": (_op(1, (14, "45 97", "620001")), str(uuid.uuid4())),
        "refused": (_op(2, (taken.doc_type, taken.doc_ser, taken.doc_num)), str(uuid.uuid4())),
    }
    answers = {}
    for name, (op, rid) in ops.items():
        answers[name] = client.service.submitOperations(
            REQUEST_ID=rid, OPLIST={"VERS": "1.0", "SMOCOD": "45001", "NRECORDS": 1, "OP": [op]}
        )
        rep = answers[name].REPLIST.REP[0]
        assert rep.STATE == "awaiting_federal" and rep.CODE_ERP is None, rep.COMMENT
        assert answers[name].NPENDING == 1

    assert _push_by_worker(small_stand, monkeypatch) == {
        "sent": 2,
        "accepted": 1,
        "rejected": 1,
        "not_sent": 0,
    }

    good = client.service.getProtocol(REQUEST_ID=ops["good"][1])
    assert good.NPENDING == 0
    rep = good.REPLIST.REP[0]
    assert rep.STATE == "applied" and rep.CODE_ERP == "AA" and rep.ENP
    # the ЕНП and the policy are the ones ФЕРЗЛ formed: a digital policy (F008 5 = Ц) numbered by the ЕНП
    formed = small_stand.ferzl_scalar("SELECT enp FROM fed_person WHERE doc_num = '620001'")
    assert formed == rep.ENP
    assert (5, formed) == (rep.INSURANCE.POLIS.VPOLIS, rep.INSURANCE.POLIS.NPOLIS)
    assert ops["good"][0]["INSURANCE"]["POLIS"]["NPOLIS"] != rep.INSURANCE.POLIS.NPOLIS  # not the СМО's ВС
    assert small_stand.ferzl_scalar("SELECT event FROM fed_event WHERE enp = :e", e=formed) == "1П"
    refused = client.service.getProtocol(REQUEST_ID=ops["refused"][1])
    rep = refused.REPLIST.REP[0]
    assert rep.STATE == "rejected" and rep.CODE_ERP == "AE"
    assert [(pr.OSHIB, "409.39.5" in pr.COMMENT) for pr in refused.FLK_P.PR] == [("591", True)]

    # a repeated submit answers from the idempotency store; a repeated push finds nothing to send
    versions = hub.scalar("SELECT count(*) FROM person_version")
    op, rid = ops["good"]
    again = client.service.submitOperations(
        REQUEST_ID=rid, OPLIST={"VERS": "1.0", "SMOCOD": "45001", "NRECORDS": 1, "OP": [op]}
    )
    assert again.REPLIST.REP[0].STATE == "awaiting_federal"  # the answer stored for that REQUEST_ID
    assert _push_by_worker(small_stand, monkeypatch) == {
        "sent": 0,
        "accepted": 0,
        "rejected": 0,
        "not_sent": 0,
    }
    assert hub.scalar("SELECT count(*) FROM person_version") == versions
    enp = good.REPLIST.REP[0].ENP
    assert small_stand.ferzl_scalar("SELECT count(*) FROM fed_person_version WHERE enp = :e", e=enp) == 1


def test_a_batch_left_waiting_for_ferzl_asks_for_its_push_at_once(
    hub: Hub, small_stand: Stand, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The web app as `rserz serve` builds it (create_app makes the SOAP endpoint): an accepted batch awaiting
    ФЕРЗЛ enqueues the push job itself, instead of waiting for the scheduler's next tick."""
    from werkzeug.serving import make_server

    from rserz_soap.db.uow import Database
    from rserz_soap.web.app import create_app

    assert small_stand.settings.redis_url and small_stand.settings.federal_first
    rds = redis.Redis.from_url(small_stand.settings.redis_url)
    queue = Queue(queues.FEDERAL, connection=rds)
    assert "rserz-ferzl-push-now" not in queue.job_ids
    app = create_app(small_stand.settings, db=Database(small_stand.hub), redis_client=rds)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        client = _client(Hub(f"http://127.0.0.1:{server.server_port}", hub.engine, hub.pki, hub.settings, []))
        rid = str(uuid.uuid4())
        answer = client.service.submitOperations(
            REQUEST_ID=rid,
            OPLIST={"VERS": "1.0", "SMOCOD": "45001", "NRECORDS": 1, "OP": [_op(3, (14, "45 97", "620003"))]},
        )
        assert answer.REPLIST.REP[0].STATE == "awaiting_federal"
        assert "rserz-ferzl-push-now" in queue.job_ids  # asked for at once, by the request itself
        small_stand.use_in_this_process(monkeypatch)
        SimpleWorker([queue], connection=rds).work(burst=True)
        done = client.service.getProtocol(REQUEST_ID=rid)
        assert done.NPENDING == 0 and done.REPLIST.REP[0].STATE == "applied"
    finally:
        server.shutdown()
        rds.close()
