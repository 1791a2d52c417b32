"""One bad record never refuses the batch: a field that fails its type or pattern is that record's F012
error (901–904, the element and its parent named), the other records are processed; a problem of the
batch's own shape is still a Fault for the batch."""

from __future__ import annotations

import re
import uuid
from typing import Any

from lxml import etree  # type: ignore[import-untyped, unused-ignore]

from tests.conftest import data_path
from tests.soap.conftest import Hub
from tests.soap.independent import CMN, call, fault_code

REG = "urn:ru:rserz:soap:register:v1"
BATCH = data_path("soap", "submitOperations-smo-software-request.xml")


def _batch(request_id: str, edit: Any = None) -> str:
    root = etree.parse(str(BATCH), etree.XMLParser(remove_comments=True)).getroot()
    root.find(f"{{{REG}}}REQUEST_ID").text = request_id
    if edit is not None:
        edit(root)
    return str(etree.tostring(root, encoding="unicode"))


def _op(root: Any, n: int) -> Any:
    return next(op for op in root.iter(f"{{{REG}}}OP") if op.findtext(f"{{{REG}}}N_REC") == str(n))


def test_one_broken_field_rejects_only_its_record(hub: Hub) -> None:
    def break_snils_of_record_3(root: Any) -> None:
        ss = _op(root, 3).find(f".//{{{CMN}}}SS")
        ss.text = "318-204-5X"  # neither 11 digits nor XXX-XXX-XXX YY

    status, answer = call(hub.url, hub.pki, "smo-45001", _batch(str(uuid.uuid4()), break_snils_of_record_3))
    assert status == 200, etree.tostring(answer)[:500]
    reps = {int(r.findtext(f"{{{REG}}}N_REC")): r for r in answer.iter(f"{{{REG}}}REP")}
    assert sorted(reps) == [1, 2, 3, 4, 5, 6]
    assert {n: r.findtext(f"{{{REG}}}CODE_ERP") for n, r in reps.items()} == {
        1: "AA",
        2: "AA",
        3: "AE",
        4: "AA",
        5: "AA",
        6: "AA",
    }
    errors = [
        (
            pr.findtext(f"{{{REG}}}N_REC"),
            pr.findtext(f"{{{REG}}}OSHIB"),
            pr.findtext(f"{{{REG}}}IM_POL"),
            pr.findtext(f"{{{REG}}}BAS_EL"),
        )
        for pr in answer.iter(f"{{{REG}}}PR")
    ]
    assert errors == [("3", "903", "SS", "PERSON")]
    assert "318-204-5X" not in etree.tostring(answer, encoding="unicode")  # nothing of the input echoed


def test_kinds_of_format_error_get_their_f012_codes(hub: Hub) -> None:
    def spoil(root: Any) -> None:
        p1 = _op(root, 1).find(f"{{{REG}}}PERSON")
        p1.find(f"{{{CMN}}}W").text = "7"  # 904: not an allowed value
        p2 = _op(root, 2).find(f"{{{REG}}}PERSON")
        p2.find(f"{{{CMN}}}IM").text = ""  # 902: a required field is empty
        p4 = _op(root, 4).find(f"{{{REG}}}PERSON")
        p4.remove(p4.find(f"{{{CMN}}}DR"))  # 901: a required tag is missing

    status, answer = call(hub.url, hub.pki, "smo-45001", _batch(str(uuid.uuid4()), spoil))
    assert status == 200, etree.tostring(answer)[:500]
    found = {
        (pr.findtext(f"{{{REG}}}N_REC"), pr.findtext(f"{{{REG}}}OSHIB"), pr.findtext(f"{{{REG}}}IM_POL"))
        for pr in answer.iter(f"{{{REG}}}PR")
        if re.fullmatch(r"90\d", pr.findtext(f"{{{REG}}}OSHIB") or "")
    }
    assert found == {("1", "904", "W"), ("2", "902", "IM"), ("4", "901", "DR")}


def test_a_problem_of_the_batch_itself_is_still_a_fault(hub: Hub) -> None:
    def no_smocod(root: Any) -> None:
        oplist = root.find(f"{{{REG}}}OPLIST")
        oplist.set("SMOCOD", "4500X")  # the header, not a record

    status, answer = call(hub.url, hub.pki, "smo-45001", _batch(str(uuid.uuid4()), no_smocod))
    assert status == 500 and fault_code(answer) in ("REQ-002", "SEC-121")
