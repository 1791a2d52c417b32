"""submitOperations → protocol; idempotency by REQUEST_ID; getProtocol, getStopList, getPersonHistory."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import pytest
import zeep
from zeep.exceptions import Fault

from rserz_soap.domain.identifiers import make_snils
from rserz_soap.xmlsig.trust import TrustStore
from rserz_soap.xmlsig.zeep_plugin import WsseSigner
from tests.harness import uow
from tests.soap.conftest import Hub


def _client(hub: Hub, folder: str = "smo-45001") -> Any:
    signer = WsseSigner(
        hub.keypair(folder), trust=TrustStore.from_pki_dir(hub.pki), expected_signers={hub.sha256("hub")}
    )
    return zeep.Client(f"{hub.url}/soap/register?wsdl", wsse=signer)


def _op(n: int, fam: str, docnum: str, ss_serial: int, **extra: Any) -> dict[str, Any]:
    return {
        "N_REC": n,
        "TIP_OP": "П010",
        "PERSON": {
            "FAM": fam,
            "IM": "Ольга",
            "OT": "Ивановна",
            "W": 2,
            "DR": date(1979, 7, 14),
            "MR": "г. Северск",
            "C_OKSM": "643",
            "SS": make_snils(ss_serial),
            "KATEG": 1,
        },
        "DOC": [
            {
                "DOCTYPE": 14,
                "DOCSER": "45 09",
                "DOCNUM": docnum,
                "DOCDATE": date(2024, 8, 1),
                "NAME_VP": "УМВД",
                "MAIN": True,
            }
        ],
        "ADDRES_G": {"OKATO": "45000000000", "NPNAME": "г. Северск", "UL": "ул. Мира", "DOM": str(n)},
        "VIZIT": {"DVIZIT": date(2025, 4, 1), "METHOD": 1, "RSMO": 1, "RPOLIS": 1},
        "INSURANCE": {
            "TER_ST": "45000",
            "POLIS": {
                "VPOLIS": 2,
                "NPOLIS": f"08{ss_serial % 10**7:07d}",
                "DBEG": date(2025, 4, 1),
                "DEND": date(2025, 5, 13),
            },
        },
        **extra,
    }


def _oplist(ops: list[dict[str, Any]]) -> dict[str, Any]:
    return {"VERS": "1.0", "SMOCOD": "45001", "NRECORDS": len(ops), "OP": ops}


def test_submit_returns_the_protocol_and_a_repeat_returns_the_same(hub: Hub) -> None:
    client = _client(hub)
    rid = str(uuid.uuid4())
    ops = [
        _op(1, "Орлова", "810001", 500_000_001),
        _op(
            2,
            "Соколова",
            "810002",
            500_000_002,
            PERSON={"FAM": "Соколова", "IM": "Ольга", "W": 2, "DR": date(2031, 1, 1), "KATEG": 1},
        ),
    ]
    answer = client.service.submitOperations(REQUEST_ID=rid, OPLIST=_oplist(ops))
    assert answer.ERR_CODE == "0" and answer.NRECORDS == 2 and answer.NPENDING == 0
    reps = {r.N_REC: r for r in answer.REPLIST.REP}
    assert reps[1].CODE_ERP == "AA", reps[1].COMMENT
    assert reps[1].STATE == "applied" and reps[1].ENP
    assert reps[1].INSURANCE.SMOCOD == "45001"
    assert reps[2].CODE_ERP == "AE"
    assert any(pr.N_REC == 2 and pr.IM_POL == "DR" for pr in answer.FLK_P.PR)
    versions = hub.scalar("SELECT count(*) FROM person_version")
    again = client.service.submitOperations(REQUEST_ID=rid, OPLIST=_oplist(ops))
    assert [r.CODE_ERP for r in again.REPLIST.REP] == [r.CODE_ERP for r in answer.REPLIST.REP]
    assert hub.scalar("SELECT count(*) FROM person_version") == versions  # nothing applied twice
    with pytest.raises(Fault) as exc:  # the same REQUEST_ID with another body
        client.service.submitOperations(REQUEST_ID=rid, OPLIST=_oplist(ops[:1]))
    assert "REQUEST_ID was already used for a different request" in exc.value.message
    protocol = client.service.getProtocol(REQUEST_ID=rid)
    assert protocol.NRECORDS == 2 and protocol.REPLIST.REP[0].ENP == reps[1].ENP


def test_an_mo_may_not_submit(hub: Hub) -> None:
    with pytest.raises(Fault) as exc:
        _client(hub, "mo-450001").service.submitOperations(
            REQUEST_ID=str(uuid.uuid4()), OPLIST=_oplist([_op(1, "Ершова", "810009", 500_000_009)])
        )
    assert "may not call" in exc.value.message


def test_a_batch_for_another_smo_is_refused(hub: Hub) -> None:
    oplist = _oplist([_op(1, "Ершова", "810010", 500_000_010)])
    oplist["SMOCOD"] = "45002"
    with pytest.raises(Fault) as exc:
        _client(hub).service.submitOperations(REQUEST_ID=str(uuid.uuid4()), OPLIST=oplist)
    assert "SMOCOD" in exc.value.message


def test_change_of_smo_reaches_the_old_smos_stop_list_and_history(hub: Hub) -> None:
    first = _client(hub).service.submitOperations(
        REQUEST_ID=str(uuid.uuid4()), OPLIST=_oplist([_op(1, "Зайцева", "810020", 500_000_020)])
    )
    enp = first.REPLIST.REP[0].ENP
    move = _op(
        1,
        "Зайцева",
        "810020",
        500_000_020,
        TIP_OP="П032",
        VIZIT={"DVIZIT": date(2025, 9, 1), "METHOD": 1, "RSMO": 3},
        INSURANCE={"TER_ST": "45000", "ENP": enp},
    )
    second = _client(hub, "smo-45002")
    oplist = {"VERS": "1.0", "SMOCOD": "45002", "NRECORDS": 1, "OP": [move]}
    moved = second.service.submitOperations(REQUEST_ID=str(uuid.uuid4()), OPLIST=oplist)
    assert moved.REPLIST.REP[0].CODE_ERP == "AA", moved.REPLIST.REP[0].COMMENT
    stops = _client(hub).service.getStopList(DATE_FROM=date.today(), DATE_TO=date.today())
    with pytest.raises(Fault):  # more than a month at once
        _client(hub).service.getStopList(DATE_FROM=date(2020, 1, 1), DATE_TO=date.today())
    mine = [s for s in stops.STOPLIST.STOP if enp == s.ENP]
    assert len(mine) == 1 and mine[0].REASON == 3 and date(2025, 9, 1) == mine[0].DSTOP
    hist = second.service.getPersonHistory(ENP=enp)
    assert [v.OPERATION for v in hist.VERSION] == ["П010", "П032"]


def test_a_tfoms_correction_reaches_the_insurers_reclist(hub: Hub) -> None:
    from rserz_soap.usecases import manual

    card = hub.persons[0]
    with hub.engine.begin() as conn:
        manual.apply_federal(
            uow(conn),
            card.person_id,
            {"mr": "г. Озёрск"},
            actor="op.ivanova",
            reason="сведения ФЕРЗЛ",
            respect_pins=False,
        )
    answer = _client(hub).service.getCorrections(DATE_FROM=date.today(), DATE_TO=date.today())
    recs = [r for r in answer.RECLIST.REC if card.enp == r.ENP]
    assert recs and recs[-1].TIP_OP == "MANUAL_FEDERAL" and recs[-1].IS_ACTIVE == 1
    assert recs[-1].PERSON.MR == "г. Озёрск"
    other = _client(hub, "smo-45002").service.getCorrections(DATE_FROM=date.today(), DATE_TO=date.today())
    assert not [r for r in (other.RECLIST.REC if other.RECLIST else []) if card.enp == r.ENP]
