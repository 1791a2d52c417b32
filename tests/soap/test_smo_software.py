"""A batch as existing СМО software writes it, sent to the real signed endpoint, accepted record by record.

The batch is ``tests/data/soap/submitOperations-smo-software-request.xml``: the OPLIST header as attributes,
rt.srz's element order, documents in DOC_LIST, СНИЛС hyphenated, ОКСМ as alpha-3 and ``Б/Г``, the published
KATEG table, full addresses, and a П040 without VIZIT. What the register keeps and answers is the one form
the contract documents: 11 digits, the numeric ОКСМ code.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests
import zeep
from lxml import etree  # type: ignore[import-untyped, unused-ignore]

from rserz_soap.soap.services.register import operation_record
from rserz_soap.xmlsig.trust import TrustStore
from rserz_soap.xmlsig.wsse import sign_envelope
from rserz_soap.xmlsig.zeep_plugin import WsseSigner
from tests.conftest import data_path
from tests.soap.conftest import Hub

ENV = "http://schemas.xmlsoap.org/soap/envelope/"
REG = "urn:ru:rserz:soap:register:v1"
CMN = "urn:ru:rserz:soap:common:v1"
BATCH = data_path("soap", "submitOperations-smo-software-request.xml")


def _submit(hub: Hub) -> Any:
    body = etree.parse(str(BATCH), etree.XMLParser(remove_comments=True)).getroot()
    env = etree.Element(f"{{{ENV}}}Envelope", nsmap={"soap": ENV})
    etree.SubElement(env, f"{{{ENV}}}Body").append(body)
    sign_envelope(env, hub.keypair("smo-45001"))
    resp = requests.post(
        f"{hub.url}/soap/register",
        data=etree.tostring(env),
        headers={"Content-Type": "text/xml; charset=utf-8"},
        timeout=60,
    )
    assert resp.status_code == 200, resp.text
    return etree.fromstring(resp.content).find(f".//{{{REG}}}submitOperationsResponse")


def _identification(hub: Hub) -> Any:
    """As the СМО: an МО is not shown addresses (docs/soap-contract.md "What each participant sees")."""
    signer = WsseSigner(
        hub.keypair("smo-45001"), trust=TrustStore.from_pki_dir(hub.pki), expected_signers={hub.sha256("hub")}
    )
    return zeep.Client(f"{hub.url}/soap/identification?wsdl", wsse=signer)


def test_a_batch_written_by_smo_software_is_accepted_record_by_record(hub: Hub) -> None:
    answer = _submit(hub)

    reps = {int(r.findtext(f"{{{REG}}}N_REC")): r for r in answer.iter(f"{{{REG}}}REP")}
    errors = [
        (pr.findtext(f"{{{REG}}}N_REC"), pr.findtext(f"{{{REG}}}OSHIB"), pr.findtext(f"{{{REG}}}COMMENT"))
        for pr in answer.iter(f"{{{REG}}}PR")
    ]
    assert sorted(reps) == [1, 2, 3, 4, 5, 6]
    for n, rep in reps.items():
        assert rep.findtext(f"{{{REG}}}CODE_ERP") == "AA", (n, rep.findtext(f"{{{REG}}}COMMENT"), errors)
        assert rep.findtext(f"{{{REG}}}STATE") == "applied"
    assert answer.findtext(f"{{{REG}}}FILENAME") == "I45001_250919_0001"

    stored = {
        row[0]: row[1:]
        for row in _rows(
            hub,
            "SELECT d.fam || ' ' || d.im, d.ss, d.c_oksm, d.birth_oksm, d.kateg, d.mr FROM person_data d"
            " WHERE d.superseded_at IS NULL AND d.fam IN ('Лаврентьева', 'Лаврентьев', 'Горбатюк', 'Рахимова',"
            " 'Белозёров')",
        )
    }
    assert stored == {
        "Лаврентьева Зинаида": ("31820455750", "643", "643", 6, "г. Звездоград"),
        "Лаврентьев Тимофей": (None, "643", "643", 6, None),
        "Горбатюк Оксана": ("31820456146", None, "804", 9, "г. Примерный"),
        "Рахимова Дилноза": ("31820457047", "860", "860", 7, "г. Ташкент"),
        "Белозёров Аркадий": ("31820458857", "643", "643", 1, "г. Примерск"),
    }
    main = dict(_rows(hub, "SELECT doctype, is_main FROM identity_document WHERE docnum = '4418823'"))
    assert main == {
        11: False
    }  # the second DOC of DOC_LIST is the residence permit, not the identity document


def test_full_addresses_are_stored_and_answered_in_the_documented_forms(hub: Hub) -> None:
    _submit(hub)  # the same REQUEST_ID again: the batch is in once, whichever test ran first
    enp = "7748120826040212"  # record 5's ЕНП; record 6 (П040 without VIZIT) gave the actual address
    card = _identification(hub).service.getPersonData(ENP=enp)

    zl = card.ZL
    assert zl.PERSON.SS == "31820458857" and zl.PERSON.C_OKSM == "643" and zl.WORKING is True
    assert (zl.ADDRES_P.INDX, zl.ADDRES_P.KORP, zl.ADDRES_P.UL) == ("000152", "1", "ул. Речная")
    assert zl.ADDRES_P.FIAS_HOUSEID == "3e4f5061-7283-4d9e-9f0a-2b3c4d5e6f70"
    assert str(zl.ADDRES_G.DREG) == "2025-08-28"
    (pensioner,) = _rows(
        hub,
        "SELECT p.main_enp FROM person p JOIN person_data d ON d.person_id = p.id AND d.superseded_at IS NULL"
        " WHERE d.fam = 'Лаврентьева'",
    )
    zl = _identification(hub).service.getPersonData(ENP=pensioner[0]).ZL
    assert zl.PERSON.KATEG == 6 and zl.WORKING is False
    g = zl.ADDRES_G
    assert (g.INDX, g.KORP, g.KV, str(g.DREG), g.BOMG) == ("000117", "2", "41", "1989-06-02", None)
    assert g.FIAS_AOID == "0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d"
    (stateless,) = _rows(
        hub,
        "SELECT p.main_enp FROM person p JOIN person_data d ON d.person_id = p.id AND d.superseded_at IS NULL"
        " WHERE d.fam = 'Горбатюк'",
    )
    zl = _identification(hub).service.getPersonData(ENP=stateless[0]).ZL
    assert zl.PERSON.C_OKSM is None and zl.PERSON.BIRTH_OKSM == "804"


def _rows(hub: Hub, sql: str) -> list[Any]:
    from sqlalchemy import text

    with hub.engine.connect() as conn:
        return list(conn.execute(text(sql)).all())


def _op_with_documents(*mains: str | None) -> Any:
    docs = "".join(
        f"<reg:DOC><cmn:DOCTYPE>{9 if i == 0 else 11}</cmn:DOCTYPE><cmn:DOCNUM>{i}</cmn:DOCNUM>"
        + (f"<cmn:MAIN>{m}</cmn:MAIN>" if m is not None else "")
        + "</reg:DOC>"
        for i, m in enumerate(mains)
    )
    return etree.fromstring(
        f'<reg:OP xmlns:reg="{REG}" xmlns:cmn="{CMN}"><reg:N_REC>1</reg:N_REC><reg:TIP_OP>П040</reg:TIP_OP>'
        "<reg:PERSON><cmn:W>1</cmn:W><cmn:DR>1990-01-01</cmn:DR><cmn:KATEG>7</cmn:KATEG></reg:PERSON>"
        f"<reg:INSURANCE><reg:TER_ST>45000</reg:TER_ST></reg:INSURANCE><reg:DOC_LIST>{docs}</reg:DOC_LIST>"
        "</reg:OP>"
    )


@pytest.mark.parametrize(
    ("mains", "expected"),
    [
        ((None, None), (True, False)),  # I_Policies: the identity document first
        ((None, "false"), (True, False)),
        (("false", None), (False, True)),
        ((None, "true"), (False, True)),
        (("true", "true"), (True, True)),
    ],
)
def test_without_main_the_first_unmarked_document_is_the_identity_document(
    mains: tuple[str | None, ...], expected: tuple[bool, ...]
) -> None:
    record = operation_record(_op_with_documents(*mains), "45001")

    assert tuple(d.is_main for d in record.documents) == expected
    assert record.visit is None
