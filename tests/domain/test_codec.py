from __future__ import annotations

import json
from datetime import date

from rserz_soap.domain.codec import decode, encode
from rserz_soap.domain.person import Attachment, InsurancePeriod, PersonCard, Status
from rserz_soap.domain.records import OperationRecord
from tests import builders


def test_an_operation_record_survives_json() -> None:
    rec = builders.record("П022", ddeath=date(2025, 2, 1), record_id="A-17")
    back = decode(OperationRecord, json.loads(json.dumps(encode(rec))))
    assert back == rec
    assert back.person.dr == date(1985, 4, 12) and back.documents[0].doctype == 14


def test_a_card_with_sets_and_enums_survives_json() -> None:
    card = PersonCard(
        data=builders.person_data(),
        status=Status.DEAD,
        ddeath=date(2025, 1, 2),
        enp="4554910834000012",
        insurance=frozenset(
            {
                InsurancePeriod(
                    "45001",
                    "45000",
                    "4554910834000012",
                    3,
                    "4554910834000012",
                    date(2020, 1, 1),
                    dstop=date(2025, 1, 2),
                    stop_reason=1,
                )
            }
        ),
        attachments=frozenset({Attachment("450001", 1, date(2020, 2, 2), 2)}),
        aliases=frozenset({"1", "2"}),
    )
    back = decode(PersonCard, json.loads(json.dumps(encode(card))))
    assert back == card and back.status is Status.DEAD
