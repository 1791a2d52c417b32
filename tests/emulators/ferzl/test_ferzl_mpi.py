"""The emulator speaks ФОМС's description v5.07: every method of its §3, two versions, the token, MTOM.

Every method listed in ``ferzl-services.md`` §3 (the reference beside the project, or the same table in
``docs/federal.md``) is called through the hub's client over real HTTP; the emulator validates each
request against the schema of the version, and this test validates each answer against it too.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import requests
from lxml import etree

from rserz_soap.emulators.ferzl.mpi_contract import schema
from rserz_soap.federal import contract
from rserz_soap.federal.mpi_client import XOP_NS, MpiClient, Reply, _s
from rserz_soap.usecases.federal_port import FederalError, FederalUnavailable
from tests.emulators.ferzl.conftest import Ferzl

ROOT = Path(__file__).resolve().parents[3]
REFERENCE = ROOT.parent / "shared" / "docs" / "ferzl-services.md"
VERSIONS = ("24.1.4", "24.2.6")


def listed_methods() -> list[str]:
    """The method names of the reference's §3 table (async ones as Start/Poll); without the reference beside
    the project (a CI clone has it), the same list from docs/federal.md's table."""
    if not REFERENCE.exists():
        return list(documented_methods())
    text = REFERENCE.read_text(encoding="utf-8")
    section = text[text.index("## 3. Services and methods") : text.index("## 4.")]
    names: list[str] = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 5 or not re.search(r"\b(R|W)\b", cells[3]):
            continue
        for part in cells[1].split(" / "):
            wsdl = re.search(r"WSDL op `(\w+)`", part)
            name = wsdl.group(1) if wsdl else re.sub(r"[^\w].*", "", part.strip())
            names += [f"{name}Start", f"{name}Poll"] if re.search(r"\bA\b", cells[3]) else [name]
    return names


def documented_methods() -> dict[str, str]:
    """docs/federal.md «Every method of §3»: method → what the emulator does with it."""
    text = (ROOT / "docs" / "federal.md").read_text(encoding="utf-8")
    section = text[text.index("## Every method of §3") :]
    section = section[: section.index("\n## ", 5)] if "\n## " in section[5:] else section
    out: dict[str, str] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 5 or not cells[2].startswith("3."):
            continue
        for part in cells[1].split(" / "):
            wsdl = re.search(r"`(\w+)`", part)
            name = wsdl.group(1) if wsdl else part.split()[0]
            halves = ["Start", "Poll"] if "Start/Poll" in part else [""]
            for half in halves:
                out[f"{name}{half}"] = cells[3]
    return out


def client(ferzl: Ferzl, version: str = "24.2.6", **kw: Any) -> MpiClient:
    password = ferzl.settings.ferzl_password_path.read_text().strip()
    return MpiClient(
        ferzl.url, version, ferzl.settings.ferzl_login, lambda: password, poll_seconds=0.05, **kw
    )


def checked(reply: Reply, version: str, method: str) -> Reply:
    """Validate the answer against the version's schema (the attachment put back inline)."""
    svc, _op = contract.operation(method)
    element = etree.fromstring(etree.tostring(reply.element))
    for include in element.iter(f"{{{XOP_NS}}}Include"):
        parent = include.getparent()
        parent.remove(include)
        parent.text = base64.b64encode(reply.content or b"").decode()
    validator = schema(version, svc.schema)
    assert validator.validate(element), f"{method}: {validator.error_log}"
    return reply


def fillers(ferzl: Ferzl, c: MpiClient, enp: str) -> dict[str, Any]:
    com, today = c.com, dt.date.today()

    def ns(m: str) -> str:
        return c.ns(m)

    def psi(el: Any, m: str, wrapper: str) -> None:
        params = etree.SubElement(el, f"{{{ns(m)}}}{wrapper}")
        info = etree.SubElement(params, f"{{{ns(m)}}}personSearchInfo")
        pcy = etree.SubElement(info, f"{{{ns(m)}}}pcy")
        _s(pcy, com, "enp", enp)

    def window(m: str) -> Any:
        return lambda el: (_s(el, ns(m), "dtFrom", today - dt.timedelta(days=1)), _s(el, ns(m), "dtTo", today),
                           _s(el, ns(m), "terr", "45000"))  # fmt: skip

    def criteria(el: Any) -> None:
        crit = etree.SubElement(el, f"{{{ns('getViewDataAttachStart')}}}criteria")
        for name, value in (("fieldNameAttached", "smo_okato"), ("logicOperation", 0), ("value", "45000")):
            _s(crit, ns("getViewDataAttachStart"), name, value)

    def mass(el: Any) -> None:
        req = etree.SubElement(el, f"{{{ns('getMassInsuranceStatusStart')}}}requests")
        _s(req, ns("getMassInsuranceStatusStart"), "enp", enp)

    def signed(el: Any, m: str) -> None:
        for name in ("sign", "certificate", "data"):
            _s(el, ns(m), name, base64.b64encode(b"<x/>").decode())

    return {
        "getInsuranceStatus": lambda el: psi(el, "getInsuranceStatus", "insuranceStatusSearchParams"),
        "getPersonData": lambda el: psi(el, "getPersonData", "personDataSearchParams"),
        "getPersonDataHistory": lambda el: psi(el, "getPersonDataHistory", "personDataHistorySearchParams"),
        "findPersonsByPersCriteria": lambda el: _s(
            etree.SubElement(
                etree.SubElement(el, f"{{{ns('findPersonsByPersCriteria')}}}persCriteria"),
                f"{{{ns('findPersonsByPersCriteria')}}}fio",
            ),
            ns("findPersonsByPersCriteria"),
            "surname",
            "Ива",
        ),
        "getMergeAncessorOip": lambda el: _s(
            etree.SubElement(el, f"{{{ns('getMergeAncessorOip')}}}personSearchInfo"),
            ns("getMergeAncessorOip"),
            "oip",
            "900000000001",
        ),
        "getAllCurrentEnpStart": lambda el: _s(el, ns("getAllCurrentEnpStart"), "terr", "45000"),
        "getInsuranceStatusChangesStart": window("getInsuranceStatusChangesStart"),
        "getViewDataAttachStart": criteria,
        "getViewDataInsuranceStart": lambda el: None,
        "submitMassPolicyAppointmentStart": lambda el: [
            _s(el, ns("submitMassPolicyAppointmentStart"), n, v)
            for n, v in (
                ("dt", today),
                ("insurfCode", "45000"),
                ("insurCode", "45001"),
                ("enpChangeSubmit", enp),
            )
        ],
        "changeAllPoliciesInsuranceToTfomsStart": lambda el: [
            _s(el, ns("changeAllPoliciesInsuranceToTfomsStart"), n, v)
            for n, v in (("dt", today), ("insurfCode", "45000"), ("insurCode", "45003"))
        ],
        "getChangesEventStart": window("getChangesEventStart"),
        "findPersonsByTerrSmoStart": lambda el: _s(el, ns("findPersonsByTerrSmoStart"), "smoCode", "45001"),
        "getViewDataSocStatusStart": lambda el: [
            _s(el, ns("getViewDataSocStatusStart"), n, v)
            for n, v in (("dt", today.replace(day=1)), ("terr", "45000"), ("quarter", True))
        ],
        "getMassInsuranceStatusStart": mass,
        "getInsuredUnassignedStart": lambda el: [
            _s(el, ns("getInsuredUnassignedStart"), n, v)
            for n, v in (("dt", today.replace(day=1)), ("areaType", 1))
        ],
        "submitPolicyApplicationWithSign": lambda el: signed(el, "submitPolicyApplicationWithSign"),
        "makeNilIdentDecision": lambda el: signed(el, "makeNilIdentDecision"),
        "findNils": lambda el: None,
        "getNilsData": lambda el: None,
        "findNRs": lambda el: None,
        "getNRData": lambda el: None,
        "getLegalRepresentation": lambda el: [
            _s(el, ns("getLegalRepresentation"), n, v)
            for n, v in (("oip", "900000000001"), ("isActual", True))
        ],
    }


def _enp(ferzl: Ferzl) -> str:
    return str(
        ferzl.scalar(
            "SELECT enp FROM fed_person WHERE status = 'INSURED' AND snils IS NOT NULL ORDER BY enp LIMIT 1"
        )
    )


@pytest.mark.parametrize("version", VERSIONS)
def test_every_method_of_the_document_is_served_and_answers_within_the_schema(
    calm: Ferzl, version: str
) -> None:
    listed = listed_methods()
    served = [op.name for svc in contract.SERVICES for op in svc.ops]
    assert len(listed) >= 40 and set(listed) == set(served), set(listed) ^ set(served)
    documented = documented_methods()  # docs/federal.md says, for each, what the emulator does
    assert set(documented) == set(listed), set(documented) ^ set(listed)
    not_served = {m: what for m, what in documented.items() if not what.startswith("served")}
    assert not not_served, not_served
    c = client(calm, version)
    enp = _enp(calm)
    fill = fillers(calm, c, enp)
    writes_covered_elsewhere = {"submitPolicyApplication", "registerAttach", "registerDudl", "registerSnils",
                                "registerAddress", "suspendOmsPolicyStart", "suspendOmsPolicyPoll"}  # fmt: skip
    answered = set()
    tokens: dict[str, str] = {}
    for name in listed:
        if name in writes_covered_elsewhere:
            continue
        base = name.removesuffix("Start").removesuffix("Poll")
        el, _rid = c.request(name)
        if name.endswith("Poll") and base in tokens:
            _s(el, c.com, "opToken", tokens[base])
            for _ in range(100):
                reply = checked(c.call(name, el), version, name)
                if reply.element.findtext(f"{{{c.com}}}processingStatus") == "COMPLETED":
                    break
                time.sleep(0.05)
                el, _rid = c.request(name)
                _s(el, c.com, "opToken", tokens[base])
            assert reply.element.findtext(f"{{{c.com}}}processingStatus") == "COMPLETED", name
        else:
            fill[name](el)
            reply = checked(c.call(name, el), version, name)
            token = reply.element.findtext(f"{{{c.com}}}opToken")
            if name.endswith("Start"):
                assert token, name
                tokens[base] = token
        answered.add(name)
    assert answered | writes_covered_elsewhere == set(listed)


def test_the_contract_is_served_per_version_at_the_documents_addresses(calm: Ferzl) -> None:
    for version in VERSIONS:
        svc = contract.SERVICES[0]
        with urllib.request.urlopen(f"{calm.url}{svc.path(version)}.wsdl") as r:
            wsdl = r.read().decode()
        assert f'targetNamespace="http://ffoms.ru/services/{version}/mpiPersonInfoService"' in wsdl
        assert 'soapAction="http://ffoms.ru/services/tfoms/getPersonData"' in wsdl
        assert "TFOMS_SoapBinding" in wsdl and f"{svc.path(version)}" in wsdl
        with urllib.request.urlopen(
            f"{calm.url}{contract.API_PATH}/{version}/xsd/mpiLegalRepresentationSchema.xsd"
        ) as r:
            xsd = r.read().decode()
        assert ("ListOfVouchers" in xsd) is (version == "24.2.6")  # 24.2.6 added the vouchers (v5.07 changes)
    async_wsdl = (
        urllib.request.urlopen(f"{calm.url}{contract.SERVICES[1].path('24.2.6')}.wsdl").read().decode()
    )
    # the embedded WSDL's quirk: changeAllPoliciesInsuranceToTfomsPoll carries the Start's SOAPAction
    assert (
        async_wsdl.count('soapAction="http://ffoms.ru/services/tfoms/changeAllPoliciesInsuranceToTfomsStart"')
        == 2
    )


def test_an_unknown_version_is_refused_and_a_version_speaks_only_its_namespaces(calm: Ferzl) -> None:
    with pytest.raises(FederalError) as caught:
        client(calm, "24.1.2").person(enp=_enp(calm))
    assert caught.value.code == "400" and "24.1.2" in caught.value.text and "24.2.6" in caught.value.text
    # a request of 24.1.4's namespaces sent to 24.2.6's address
    c = client(calm, "24.1.4")
    el, _ = c.request("getPersonData")
    c.version = "24.2.6"
    with pytest.raises(FederalError, match="400"):
        c.call("getPersonData", el)


def test_the_token_is_required_renewed_and_scoped(calm: Ferzl) -> None:
    svc = contract.SERVICES[0]
    c = client(calm)
    el, _ = c.request("getPersonData")
    env = (
        b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>'
        + etree.tostring(el)
        + b"</s:Body></s:Envelope>"
    )
    url = f"{calm.url}{svc.path('24.2.6')}"
    assert requests.post(url, data=env, headers={"Content-Type": "text/xml"}, timeout=10).status_code == 401
    bad = requests.post(
        url, data=env, headers={"Content-Type": "text/xml", "X-Auth-Token": "a.b.c"}, timeout=10
    )
    assert bad.status_code == 401
    # a token about to expire is renewed before use; a revoked one (401) is renewed once
    assert c.person(enp=_enp(calm)) is not None
    first = c._token
    assert first is not None and "value" not in repr(first) and first.value not in repr(first)
    first.value = "forged.token.value"
    assert (
        c.person(enp=_enp(calm)) is not None
        and c._token is not None
        and c._token.value != "forged.token.value"
    )
    # a read-only session may read but not write (403)
    status, body = calm.control("POST", "token", {"scope": "read"})
    assert status == 200
    headers = {"Content-Type": "text/xml", "X-Auth-Token": body["token"]}
    reg, _ = c.request("registerSnils")
    pcy = etree.SubElement(reg, f"{{{c.ns('registerSnils')}}}pcy")
    _s(pcy, c.com, "enp", _enp(calm))
    _s(reg, c.ns("registerSnils"), "snils", "11223344595")
    env = (
        b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>'
        + etree.tostring(reg)
        + b"</s:Body></s:Envelope>"
    )
    objects = contract.operation("registerSnils")[0]
    assert (
        requests.post(
            f"{calm.url}{objects.path('24.2.6')}", data=env, headers=headers, timeout=10
        ).status_code
        == 403
    )


def test_the_client_fails_closed_on_an_answer_it_cannot_trust(
    calm: Ferzl, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = client(calm)
    enp = _enp(calm)
    real = c._session.post

    def other_request_id(*args: Any, **kw: Any) -> Any:
        response = real(*args, **kw)
        if b"externalRequestId" in response.content:
            response._content = re.sub(rb"(externalRequestId>)[^<]+", rb"\g<1>00000000-0000-0000-0000-000000000000",
                                       response.content)  # fmt: skip
        return response

    monkeypatch.setattr(c._session, "post", other_request_id)
    with pytest.raises(FederalUnavailable, match="not to request"):
        c.person(enp=enp)
    monkeypatch.setattr(c._session, "post", real)
    with pytest.raises(ValueError, match="loopback"):
        MpiClient("http://ferzl.example/ferzl", "24.2.6", "x", lambda: "y")


def test_a_bulk_result_comes_as_an_mtom_zip(calm: Ferzl) -> None:
    from rserz_soap.federal.mpi_client import read_csv

    c = client(calm)
    zipped = c.bulk("getViewDataInsurance", lambda el: None)
    rows = list(read_csv(zipped))
    assert len(rows) == calm.scalar("SELECT count(*) FROM fed_person") and all(len(r) == 28 for r in rows)
    enps = {r[1] for r in rows}
    assert _enp(calm) in enps


def test_the_planted_list_is_the_populations(calm: Ferzl) -> None:
    from rserz_soap.emulators.ferzl.population import Divergence, federal_population
    from tests.emulators.ferzl.conftest import SEED, SHARE, N

    _people, planted = federal_population(calm.reference, N, SEED, share=SHARE)
    status, served = calm.control("GET", "planted")
    assert status == 200 and calm.planted == planted
    assert [(p["index"], p["enp"], p["kind"], p["field"], p["regional"], p["federal"]) for p in served] == [
        (m.index, m.enp, m.kind.value, m.field, m.regional, m.federal) for m in planted
    ]
    assert {m.kind for m in planted} == set(Divergence)
    health = calm.control("GET", "health")[1]
    assert health["persons"] == calm.scalar("SELECT count(*) FROM fed_person")
    assert health["versions"] == ["24.1.4", "24.2.6"]
