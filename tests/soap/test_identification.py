"""identifyPerson, getPersonData, getInsuranceStatus, searchPersons over real HTTP with zeep, signed."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
import zeep
from lxml import etree  # type: ignore[import-untyped, unused-ignore]

from rserz_soap.soap.server import XSD_DIR
from rserz_soap.xmlsig.trust import TrustStore
from rserz_soap.xmlsig.zeep_plugin import WsseSigner
from tests.soap.conftest import Hub


def _client(hub: Hub, folder: str = "mo-450001") -> Any:
    signer = WsseSigner(
        hub.keypair(folder), trust=TrustStore.from_pki_dir(hub.pki), expected_signers={hub.sha256("hub")}
    )
    settings = zeep.Settings(strict=True, xml_huge_tree=False)
    return zeep.Client(f"{hub.url}/soap/identification?wsdl", wsse=signer, settings=settings)


def test_the_served_wsdl_carries_the_real_address(hub: Hub) -> None:
    client = _client(hub)
    address = client.service._binding_options["address"]
    assert address == f"{hub.url}/soap/identification"


def test_identify_by_each_key(hub: Hub) -> None:
    client = _client(hub)
    card = hub.persons[0]
    doc = card.main_document()
    calls = [
        {"ENP": card.enp},
        {"POLIS": {"NPOLIS": "070000000"}},
        {"DOC": {"DOCTYPE": doc.doctype, "DOCSER": doc.docser, "DOCNUM": doc.docnum}},
        {"SNILS": {"SS": card.data.ss, "DR": card.data.dr}},
        {"FIO": {"FAM": card.data.fam, "IM": card.data.im, "OT": card.data.ot, "DR": card.data.dr}},
    ]
    for kwargs in calls:
        answer = client.service.identifyPerson(**kwargs)
        assert answer.ERR_CODE == "0", kwargs
        assert [z.ENP for z in answer.ZL] == [card.enp], kwargs
        assert answer.EXCESS is False


def test_not_identified_is_an_empty_answer_with_code_1(hub: Hub) -> None:
    answer = _client(hub).service.identifyPerson(ENP="4554910834000012")
    assert answer.ERR_CODE == "1" and not answer.ZL


def test_person_data_and_insurance_status(hub: Hub) -> None:
    client = _client(hub)
    card = hub.persons[1]
    data = client.service.getPersonData(ENP=card.enp)
    assert card.data.fam == data.ZL.PERSON.FAM and data.ZL.INSURANCE[0].SMOCOD == "45001"
    insured = client.service.getInsuranceStatus(ENP=card.enp, DATE=date(2025, 3, 10))
    assert insured.INSURED is True and insured.INSURANCE.POLIS.NPOLIS == "070000001"
    before = client.service.getInsuranceStatus(ENP=card.enp, DATE=date(2025, 3, 1))
    assert before.INSURED is False
    by_policy = client.service.getInsuranceStatus(POLIS={"NPOLIS": "070000001"}, DATE=date(2025, 3, 10))
    assert by_policy.INSURED is True and card.enp == by_policy.ENP


def test_search_with_a_typo(hub: Hub) -> None:
    answer = _client(hub).service.searchPersons(FAM="Кузнецава", IM="Анна")
    assert answer.TOTAL >= 1 and hub.persons[1].enp == answer.ZL[0].ENP


def test_responses_validate_against_the_contract(hub: Hub) -> None:
    client = _client(hub)
    node = client.create_message(client.service, "getPersonData", ENP=hub.persons[2].enp)
    assert node is not None
    schema = etree.XMLSchema(etree.parse(str(XSD_DIR / "identification.xsd")))
    with client.settings(raw_response=True):
        raw = client.service.getPersonData(ENP=hub.persons[2].enp)
    body = etree.fromstring(raw.content).find("{http://schemas.xmlsoap.org/soap/envelope/}Body")[0]
    assert schema.validate(body), schema.error_log


@pytest.mark.parametrize("folder", ["smo-45001", "smo-45002", "iszl"])
def test_every_reader_kind_may_identify_and_ec_keys_work(hub: Hub, folder: str) -> None:
    answer = _client(hub, folder).service.identifyPerson(ENP=hub.persons[0].enp)
    assert answer.ERR_CODE == "0"
