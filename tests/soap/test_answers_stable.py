"""The hub's answers to a fixed conversation stay what they were: a guard for refactoring.

One scripted conversation — identification by every key, a batch of operations and its repeat, the
protocol, stop lists, corrections, history, changes, snapshots, attachments and a few refusals — is sent
as signed raw XML, and each answer's Body is compared with ``tests/data/soap/golden-answers.json`` after
the values that differ from run to run by design (ЕНП allocated at random, ids, record times, correlation
ids) are replaced by stable placeholders. A deliberate change of the contract regenerates the file:

    RSERZ_UPDATE_GOLDEN=1 pytest tests/soap/test_answers_stable.py

and the diff of the JSON file is the reviewable record of what changed.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from datetime import date

import requests
from lxml import etree  # type: ignore[import-untyped, unused-ignore]

from rserz_soap.domain.identifiers import make_snils
from rserz_soap.xmlsig.wsse import sign_envelope
from tests.conftest import data_path
from tests.soap.conftest import Hub

ENV = "http://schemas.xmlsoap.org/soap/envelope/"
NS = {
    "idn": "urn:ru:rserz:soap:identification:v1",
    "reg": "urn:ru:rserz:soap:register:v1",
    "chg": "urn:ru:rserz:soap:changes:v1",
    "att": "urn:ru:rserz:soap:attachment:v1",
    "cmn": "urn:ru:rserz:soap:common:v1",
}
GOLDEN = data_path("soap", "golden-answers.json")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}:\d{2}|Z)?")
#: elements whose text is an identifier or instant of this run, not a fact of the conversation
_VOLATILE = {"RECORDED_AT", "RECEIVED", "CORRELATION_ID", "BATCH_ID", "REQUEST_ID", "SEQ", "NEXT_SEQ"}


def _envelope(service: str, operation: str, children: str) -> bytes:
    ns = NS[service]
    return (
        f'<soap:Envelope xmlns:soap="{ENV}"><soap:Body><{service}:{operation} xmlns:{service}="{ns}"'
        f' xmlns:cmn="{NS["cmn"]}">{children}</{service}:{operation}></soap:Body></soap:Envelope>'
    ).encode()


class _Normaliser:
    """Replaces run-specific values by placeholders numbered in order of first appearance."""

    def __init__(self) -> None:
        self.seen: dict[str, str] = {}

    def _token(self, kind: str, value: str) -> str:
        key = f"{kind}:{value}"
        if key not in self.seen:
            self.seen[key] = f"<{kind}-{sum(1 for k in self.seen if k.startswith(kind + ':')) + 1}>"
        return self.seen[key]

    def body(self, raw: bytes) -> str:
        today = date.today().isoformat()
        root = etree.fromstring(raw)
        body = root.find(f"{{{ENV}}}Body")
        assert body is not None
        for el in body.iter():
            if not isinstance(el.tag, str) or el.text is None:
                continue
            local = etree.QName(el).localname
            if local in _VOLATILE:
                el.text = self._token(local, el.text)
            elif local in ("ENP", "NPOLIS", "ID") or (local == "COMMENT" and el.text):
                el.text = _ENP.sub(lambda m: self._token("ENP", m.group(0)), el.text).replace(
                    today, "<TODAY>"
                )
                if local in ("NPOLIS", "ID"):
                    el.text = self._token(local, el.text) if el.text.isdigit() else el.text
            else:
                el.text = _TIME.sub("<TIME>", _UUID.sub("<UUID>", el.text)).replace(today, "<TODAY>")
        return str(etree.tostring(body[0], encoding="unicode"))


_ENP = re.compile(r"\b\d{16}\b")


def _conversation(hub: Hub) -> list[tuple[str, str, str, str]]:
    """(label, participant folder, service, request) — the script, in order."""
    p0, p1 = hub.persons[0], hub.persons[1]
    doc = sorted(p0.documents, key=lambda d: d.key)[0]
    rid = str(uuid.UUID(int=0x5EED))
    op = (
        "<reg:OP><reg:N_REC>{n}</reg:N_REC><reg:TIP_OP>П010</reg:TIP_OP><reg:PERSON>"
        "<cmn:FAM>{fam}</cmn:FAM><cmn:IM>Ольга</cmn:IM><cmn:OT>Ивановна</cmn:OT><cmn:W>2</cmn:W>"
        "<cmn:DR>{dr}</cmn:DR><cmn:MR>г. Северск</cmn:MR><cmn:C_OKSM>643</cmn:C_OKSM>"
        "<cmn:SS>{ss}</cmn:SS><cmn:KATEG>1</cmn:KATEG></reg:PERSON>"
        "<reg:DOC><cmn:DOCTYPE>14</cmn:DOCTYPE><cmn:DOCSER>45 09</cmn:DOCSER><cmn:DOCNUM>{docnum}</cmn:DOCNUM>"
        "<cmn:DOCDATE>2024-08-01</cmn:DOCDATE><cmn:NAME_VP>УМВД</cmn:NAME_VP><cmn:MAIN>true</cmn:MAIN></reg:DOC>"
        "<reg:ADDRES_G><cmn:OKATO>45000000000</cmn:OKATO><cmn:NPNAME>г. Северск</cmn:NPNAME>"
        "<cmn:UL>ул. Мира</cmn:UL><cmn:DOM>{n}</cmn:DOM></reg:ADDRES_G>"
        "<reg:VIZIT><reg:DVIZIT>2025-04-01</reg:DVIZIT><reg:METHOD>1</reg:METHOD><reg:RSMO>1</reg:RSMO>"
        "<reg:RPOLIS>1</reg:RPOLIS></reg:VIZIT><reg:INSURANCE><reg:TER_ST>45000</reg:TER_ST><reg:POLIS>"
        "<cmn:VPOLIS>2</cmn:VPOLIS><cmn:NPOLIS>09{n:07d}</cmn:NPOLIS><cmn:DBEG>2025-04-01</cmn:DBEG>"
        "<cmn:DEND>2025-05-13</cmn:DEND></reg:POLIS></reg:INSURANCE></reg:OP>"
    )
    ops = op.format(
        n=1, fam="Голдова", dr="1979-07-14", ss=make_snils(610_000_001), docnum="910001"
    ) + op.format(n=2, fam="Голдова", dr="2031-01-01", ss=make_snils(610_000_002), docnum="910002")
    submit = (
        f"<reg:REQUEST_ID>{rid}</reg:REQUEST_ID><reg:OPLIST><reg:VERS>1.0</reg:VERS>"
        f"<reg:FILENAME>OP45001_golden</reg:FILENAME><reg:SMOCOD>45001</reg:SMOCOD>"
        f"<reg:NRECORDS>2</reg:NRECORDS>{ops}</reg:OPLIST>"
    )
    today = date.today()
    return [
        ("identify by ENP", "mo-450001", "idn", f"identifyPerson|<idn:ENP>{p0.enp}</idn:ENP>"),
        (
            "identify by document",
            "mo-450001",
            "idn",
            f"identifyPerson|<idn:DOC><idn:DOCTYPE>{doc.doctype}</idn:DOCTYPE>"
            + (f"<idn:DOCSER>{doc.docser}</idn:DOCSER>" if doc.docser else "")
            + f"<idn:DOCNUM>{doc.docnum}</idn:DOCNUM></idn:DOC>",
        ),
        (
            "identify by SNILS",
            "mo-450001",
            "idn",
            f"identifyPerson|<idn:SNILS><idn:SS>{p0.data.ss}</idn:SS><idn:DR>{p0.data.dr}</idn:DR></idn:SNILS>",
        ),
        (
            "identify by name with a typo",
            "smo-45001",
            "idn",
            f"identifyPerson|<idn:FIO><idn:FAM>{p1.data.fam[:-1]}о</idn:FAM><idn:IM>{p1.data.im}</idn:IM>"
            f"<idn:DR>{p1.data.dr}</idn:DR></idn:FIO><idn:DATEON>2025-06-01</idn:DATEON>",
        ),
        ("identify nobody", "mo-450001", "idn", "identifyPerson|<idn:ENP>4500000000000000</idn:ENP>"),
        ("person data", "mo-450001", "idn", f"getPersonData|<idn:ENP>{p0.enp}</idn:ENP>"),
        (
            "person data on a date",
            "iszl",
            "idn",
            f"getPersonData|<idn:ENP>{p1.enp}</idn:ENP><idn:DATEON>2025-04-01</idn:DATEON>",
        ),
        (
            "insurance status",
            "mo-450001",
            "idn",
            f"getInsuranceStatus|<idn:ENP>{p0.enp}</idn:ENP><idn:DATE>2025-06-01</idn:DATE>",
        ),
        (
            "search",
            "smo-45001",
            "idn",
            f"searchPersons|<idn:FAM>{p0.data.fam}</idn:FAM><idn:DR_FROM>{p0.data.dr}</idn:DR_FROM>"
            f"<idn:DR_TO>{p0.data.dr}</idn:DR_TO>",
        ),
        ("submit", "smo-45001", "reg", f"submitOperations|{submit}"),
        ("submit again", "smo-45001", "reg", f"submitOperations|{submit}"),
        ("protocol", "smo-45001", "reg", f"getProtocol|<reg:REQUEST_ID>{rid}</reg:REQUEST_ID>"),
        (
            "stop list",
            "smo-45001",
            "reg",
            f"getStopList|<reg:DATE_FROM>{today}</reg:DATE_FROM><reg:DATE_TO>{today}</reg:DATE_TO>",
        ),
        (
            "corrections",
            "smo-45001",
            "reg",
            f"getCorrections|<reg:DATE_FROM>{today}</reg:DATE_FROM><reg:DATE_TO>{today}</reg:DATE_TO>",
        ),
        ("history", "smo-45001", "reg", f"getPersonHistory|<reg:ENP>{p0.enp}</reg:ENP>"),
        ("changes", "iszl", "chg", "getChanges|<chg:AFTER_SEQ>0</chg:AFTER_SEQ><chg:LIMIT>50</chg:LIMIT>"),
        ("snapshots", "smo-45001", "chg", "listSnapshots|"),
        (
            "snapshot",
            "smo-45001",
            "chg",
            "getSnapshot|<chg:DATE>2025-06-01</chg:DATE><chg:PAGE>1</chg:PAGE><chg:PAGE_SIZE>10</chg:PAGE_SIZE>",
        ),
        (
            "attach",
            "mo-450001",
            "att",
            f"attachPerson|<att:REQUEST_ID>{uuid.UUID(int=0xA1)}</att:REQUEST_ID><att:ENP>{p0.enp}</att:ENP>"
            "<att:MO>450001</att:MO><att:AREA_TYPE>1</att:AREA_TYPE><att:DATE_IN>2025-05-01</att:DATE_IN>"
            "<att:METHOD>2</att:METHOD>",
        ),
        (
            "detach",
            "mo-450001",
            "att",
            f"detachPerson|<att:REQUEST_ID>{uuid.UUID(int=0xA2)}</att:REQUEST_ID><att:ENP>{p0.enp}</att:ENP>"
            "<att:MO>450001</att:MO><att:AREA_TYPE>1</att:AREA_TYPE><att:DATE_OUT>2025-06-01</att:DATE_OUT>",
        ),
        (
            "detach refused",
            "mo-450001",
            "att",
            f"detachPerson|<att:REQUEST_ID>{uuid.UUID(int=0xA3)}</att:REQUEST_ID><att:ENP>{p1.enp}</att:ENP>"
            "<att:MO>450001</att:MO><att:AREA_TYPE>1</att:AREA_TYPE><att:DATE_OUT>2025-06-01</att:DATE_OUT>",
        ),
        ("forbidden", "mo-450001", "reg", f"getPersonHistory|<reg:ENP>{p0.enp}</reg:ENP>"),
        ("schema", "mo-450001", "idn", "getPersonData|<idn:ENP>12</idn:ENP>"),
    ]


def test_the_answers_to_a_fixed_conversation_are_unchanged(hub: Hub) -> None:
    normaliser = _Normaliser()
    answers: dict[str, str] = {}
    for label, folder, service, request in _conversation(hub):
        operation, children = request.split("|", 1)
        env = etree.fromstring(_envelope(service, operation, children))
        sign_envelope(env, hub.keypair(folder))
        path = {"idn": "identification", "reg": "register", "chg": "changes", "att": "attachment"}[service]
        resp = requests.post(
            f"{hub.url}/soap/{path}",
            data=etree.tostring(env),
            headers={"Content-Type": "text/xml; charset=utf-8"},
            timeout=30,
        )
        answers[label] = f"{resp.status_code} {normaliser.body(resp.content)}"
    if os.environ.get("RSERZ_UPDATE_GOLDEN"):
        GOLDEN.write_text(json.dumps(answers, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert set(answers) == set(golden)
    for label in golden:
        assert answers[label] == golden[label], label
