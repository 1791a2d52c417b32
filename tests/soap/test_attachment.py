"""attachPerson / detachPerson by an МО over HTTP; idempotent by REQUEST_ID; only for its own code."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import pytest
import zeep
from zeep.exceptions import Fault

from rserz_soap.xmlsig.trust import TrustStore
from rserz_soap.xmlsig.zeep_plugin import WsseSigner
from tests.soap.conftest import Hub


def _client(hub: Hub, folder: str = "mo-450001") -> Any:
    signer = WsseSigner(
        hub.keypair(folder), trust=TrustStore.from_pki_dir(hub.pki), expected_signers={hub.sha256("hub")}
    )
    return zeep.Client(f"{hub.url}/soap/attachment?wsdl", wsse=signer)


def test_attach_then_detach(hub: Hub) -> None:
    client = _client(hub)
    enp = hub.persons[2].enp
    rid = str(uuid.uuid4())
    done = client.service.attachPerson(
        REQUEST_ID=rid, ENP=enp, MO="450001", AREA_TYPE=1, DATE_IN=date(2025, 6, 2), METHOD=2
    )
    assert done.ERR_CODE == "0" and [a.MO for a in done.ATTACH] == ["450001"]
    versions = hub.scalar("SELECT count(*) FROM person_version")
    again = client.service.attachPerson(
        REQUEST_ID=rid, ENP=enp, MO="450001", AREA_TYPE=1, DATE_IN=date(2025, 6, 2), METHOD=2
    )
    assert again.ERR_CODE == "0" and hub.scalar("SELECT count(*) FROM person_version") == versions
    out = client.service.detachPerson(
        REQUEST_ID=str(uuid.uuid4()), ENP=enp, MO="450001", AREA_TYPE=1, DATE_OUT=date(2025, 10, 1)
    )
    assert out.ERR_CODE == "0" and not out.ATTACH


def test_an_mo_attaches_only_to_itself_and_an_smo_not_at_all(hub: Hub) -> None:
    with pytest.raises(Fault) as exc:
        _client(hub).service.attachPerson(
            REQUEST_ID=str(uuid.uuid4()),
            ENP=hub.persons[2].enp,
            MO="450002",
            AREA_TYPE=1,
            DATE_IN=date(2025, 6, 2),
            METHOD=2,
        )
    assert "may not" in exc.value.message
    with pytest.raises(Fault) as exc:
        _client(hub, "smo-45001").service.attachPerson(
            REQUEST_ID=str(uuid.uuid4()),
            ENP=hub.persons[2].enp,
            MO="450001",
            AREA_TYPE=1,
            DATE_IN=date(2025, 6, 2),
            METHOD=2,
        )
    assert "may not call" in exc.value.message


def test_an_unknown_person_is_a_coded_answer(hub: Hub) -> None:
    answer = _client(hub).service.attachPerson(
        REQUEST_ID=str(uuid.uuid4()),
        ENP="4554910834000012",
        MO="450001",
        AREA_TYPE=1,
        DATE_IN=date(2025, 6, 2),
        METHOD=2,
    )
    assert answer.ERR_CODE == "1" and not answer.ATTACH
