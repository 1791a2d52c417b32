"""The hand-written SOAP contract holds together, and what we show participants conforms to it.

`rserz_soap/soap/contract/` (`wsdl/`, `xsd/`) is what СМО and МО developers code against, so they are tested like code: every
schema compiles from a checkout (relative imports, no network), every sample body in `tests/data/soap/`
validates and every `invalid-*` sample is refused for the reason it was written for, every WSDL loads in
zeep with exactly the contracted operations, and zeep — a real SOAP client — builds requests the schemas
accept. The hub's own Fault builder is checked against `FaultDetail` so the two cannot drift apart.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import zeep
from lxml import etree  # type: ignore[import-untyped, unused-ignore]
from zeep.exceptions import ValidationError
from zeep.transports import Transport

ROOT = Path(__file__).resolve().parents[2]
WSDL_DIR = ROOT / "rserz_soap" / "soap" / "contract" / "wsdl"
XSD_DIR = ROOT / "rserz_soap" / "soap" / "contract" / "xsd"
SAMPLES = ROOT / "tests" / "data" / "soap"
CONTRACT_DOC = ROOT / "docs" / "soap-contract.md"

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
XS = "http://www.w3.org/2001/XMLSchema"
WSDL = "http://schemas.xmlsoap.org/wsdl/"
WSDL_SOAP = "http://schemas.xmlsoap.org/wsdl/soap/"
COMMON_NS = "urn:ru:rserz:soap:common:v1"
FAULT_DETAIL = f"{{{COMMON_NS}}}FaultDetail"

#: What the hub substitutes when it serves ?wsdl (docs/soap-contract.md, "The service address").
ADDRESS_PLACEHOLDER = "http://localhost:8080/soap/{service}"

#: The contract of issue 4: service (= path under /soap/ and schema name) → its operations, in WSDL order.
SERVICES: Mapping[str, tuple[str, ...]] = {
    "identification": ("identifyPerson", "getPersonData", "getInsuranceStatus", "searchPersons"),
    "register": ("submitOperations", "getProtocol", "getStopList", "getCorrections", "getPersonHistory"),
    "changes": ("getChanges", "listSnapshots", "getSnapshot"),
    "attachment": ("attachPerson", "detachPerson"),
}
OPERATIONS = {op: service for service, ops in SERVICES.items() for op in ops}

#: The top-level children of each request element, in order (a choice lists all its branches).
REQUEST_CHILDREN: Mapping[str, tuple[str, ...]] = {
    "identifyPerson": ("ENP", "POLIS", "DOC", "SNILS", "FIO", "DATEON", "HISTORY", "LIMIT"),
    "getPersonData": ("ENP", "DATEON"),
    "getInsuranceStatus": ("ENP", "POLIS", "DATE"),
    "searchPersons": ("FAM", "IM", "OT", "W", "DR_FROM", "DR_TO", "MATCH", "PAGE", "PAGE_SIZE"),
    "submitOperations": ("REQUEST_ID", "OPLIST"),
    "getProtocol": ("BATCH_ID", "REQUEST_ID"),
    "getStopList": ("DATE_FROM", "DATE_TO", "PAGE", "PAGE_SIZE"),
    "getCorrections": ("DATE_FROM", "DATE_TO", "PAGE", "PAGE_SIZE"),
    "getPersonHistory": ("ENP",),
    "getChanges": ("AFTER_SEQ", "LIMIT"),
    "listSnapshots": ("DATE_FROM", "DATE_TO"),
    "getSnapshot": ("DATE", "PAGE", "PAGE_SIZE"),
    "attachPerson": ("REQUEST_ID", "ENP", "MO", "AREA_TYPE", "SECTION", "DOCTOR_SS", "DATE_IN", "METHOD"),
    "detachPerson": ("REQUEST_ID", "ENP", "MO", "AREA_TYPE", "DATE_OUT"),
}
WRITE_OPERATIONS = ("submitOperations", "attachPerson", "detachPerson")

#: Negative samples → a fragment the validator's complaint must contain (so each fails for its own reason).
INVALID_SAMPLES: Mapping[str, str] = {
    "invalid-getPersonData-bad-enp.xml": "'455491083400001' is not accepted by the pattern '[0-9]{16}'",
    "invalid-getPersonData-unqualified-child.xml": "Element 'ENP': This element is not expected",
    "invalid-getPersonData-wrong-version.xml": "No matching global declaration available for the validation root",
    "invalid-identifyPerson-two-keys.xml": "identification:v1}FIO': This element is not expected",
    "invalid-identifyPerson-limit-too-large.xml": "LIMIT': [facet 'maxInclusive']",
    "invalid-submitOperations-latin-tip-op.xml": "'P010' is not accepted by the pattern 'П0[0-9]{2}'",
    "invalid-submitOperations-bad-ss.xml": "'112-233-44595' is not accepted by the pattern",
    "invalid-attachPerson-missing-request-id.xml": "Expected is ( {urn:ru:rserz:soap:attachment:v1}REQUEST_ID )",
    "invalid-attachPerson-bad-mo.xml": "'45002' is not accepted by the pattern '[0-9]{6}'",
}


def namespace(service: str) -> str:
    return f"urn:ru:rserz:soap:{service}:v1"


def _parser() -> Any:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, remove_blank_text=True)


def _load_schema(name: str) -> Any:
    return etree.XMLSchema(etree.parse(str(XSD_DIR / f"{name}.xsd"), _parser()))


@pytest.fixture(scope="module")
def schemas() -> dict[str, Any]:
    """Namespace → compiled schema of every XSD of the contract."""
    return {namespace(name): _load_schema(name) for name in ("common", *SERVICES)}


class LocalFilesOnly(Transport):  # type: ignore[misc]
    """zeep reads the contract from the checkout; any attempt to use the network fails the test."""

    def load(self, url: str) -> bytes:
        if re.match(r"^[a-z][a-z0-9+.-]*://", url) and not url.startswith("file://"):
            raise AssertionError(f"the contract must load without the network; zeep asked for {url}")
        return bytes(super().load(url))


def _client(service: str) -> Any:
    return zeep.Client(str(WSDL_DIR / f"{service}.wsdl"), transport=LocalFilesOnly())


@pytest.fixture(scope="module")
def clients() -> dict[str, Any]:
    return {service: _client(service) for service in SERVICES}


def _payload(path: Path) -> Any:
    """The element a sample is about: the body element, or the FaultDetail of a whole Fault envelope."""
    root = etree.parse(str(path), _parser()).getroot()
    if root.tag == f"{{{SOAP_ENV}}}Envelope":
        fault = root.find(f"{{{SOAP_ENV}}}Body/{{{SOAP_ENV}}}Fault")
        assert fault is not None, f"{path.name}: an envelope sample must be a Fault"
        assert fault.findtext("faultcode") in ("soap:Client", "soap:Server")
        assert fault.findtext("faultstring")
        detail = fault.find(f"detail/{FAULT_DETAIL}")
        assert detail is not None, f"{path.name}: the Fault has no detail/cmn:FaultDetail"
        return detail
    return root


def _valid_samples() -> list[Path]:
    return sorted(p for p in SAMPLES.glob("*.xml") if not p.name.startswith("invalid-"))


# -- schemas ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["common", *SERVICES])
def test_schema_compiles_from_the_checkout(name: str) -> None:
    schema_doc = etree.parse(str(XSD_DIR / f"{name}.xsd"), _parser()).getroot()
    assert schema_doc.get("targetNamespace") == namespace(name)
    assert schema_doc.get("elementFormDefault") == "qualified"
    assert schema_doc.get("version", "").startswith("1.")
    for imp in schema_doc.iter(f"{{{XS}}}import"):
        location = imp.get("schemaLocation", "")
        assert not re.match(r"^[a-z]+:", location) and not location.startswith("/"), location
        assert (XSD_DIR / location).is_file(), location
    _load_schema(name)


def test_there_are_exactly_the_contract_files() -> None:
    assert sorted(p.name for p in XSD_DIR.glob("*.xsd")) == sorted(f"{n}.xsd" for n in ("common", *SERVICES))
    assert sorted(p.name for p in WSDL_DIR.glob("*.wsdl")) == sorted(f"{s}.wsdl" for s in SERVICES)


# -- samples ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", _valid_samples(), ids=lambda p: p.name)
def test_sample_validates(path: Path, schemas: dict[str, Any]) -> None:
    element = _payload(path)
    ns = etree.QName(element).namespace
    assert ns in schemas, f"{path.name}: no schema for namespace {ns}"
    schema = schemas[ns]
    assert schema.validate(element), f"{path.name}: {schema.error_log}"


@pytest.mark.parametrize("name", sorted(INVALID_SAMPLES))
def test_invalid_sample_is_refused_for_its_reason(name: str, schemas: dict[str, Any]) -> None:
    element = _payload(SAMPLES / name)
    ns = etree.QName(element).namespace
    # A namespace of another version is checked against the v1 schema of that service, which must not know it.
    schema = schemas.get(ns) or schemas[re.sub(r":v\d+$", ":v1", ns)]
    assert not schema.validate(element), f"{name} was accepted"
    assert INVALID_SAMPLES[name] in str(schema.error_log), str(schema.error_log)


def test_every_invalid_sample_is_listed() -> None:
    assert sorted(p.name for p in SAMPLES.glob("invalid-*.xml")) == sorted(INVALID_SAMPLES)


def test_every_operation_has_request_and_response_samples() -> None:
    for op, service in OPERATIONS.items():
        for kind, element in (("request", op), ("response", f"{op}Response")):
            path = SAMPLES / f"{op}-{kind}.xml"
            assert path.is_file(), f"missing sample {path.name}"
            assert _payload(path).tag == f"{{{namespace(service)}}}{element}", path.name
    assert any(_payload(p).tag == FAULT_DETAIL for p in _valid_samples()), "no Fault sample"


def test_every_sample_is_an_element_of_the_contract() -> None:
    """Each sample's root maps to one operation's request or response (or a Fault): nothing stray."""
    known = {FAULT_DETAIL}
    for op, service in OPERATIONS.items():
        known |= {f"{{{namespace(service)}}}{op}", f"{{{namespace(service)}}}{op}Response"}
    for path in _valid_samples():
        assert _payload(path).tag in known, path.name


# -- WSDL ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_wsdl_exposes_exactly_the_contract(service: str, clients: dict[str, Any]) -> None:
    client = clients[service]
    [svc] = client.wsdl.services.values()
    [port] = svc.ports.values()
    assert port.binding_options["address"] == ADDRESS_PLACEHOLDER.format(service=service)
    operations = port.binding._operations
    assert sorted(operations) == sorted(SERVICES[service])
    ns = namespace(service)
    for name, op in operations.items():
        assert op.input.body.qname == etree.QName(ns, name).text
        assert op.output.body.qname == etree.QName(ns, f"{name}Response").text
        assert op.soapaction == f"{ns}/{name}"
        [fault] = op.faults.values()
        [part] = fault.abstract.parts.values()
        assert part.element.qname == etree.QName(COMMON_NS, "FaultDetail").text
        element = client.get_element(etree.QName(ns, name).text)
        assert tuple(child for child, _ in element.type.elements) == REQUEST_CHILDREN[name], name
        if name in WRITE_OPERATIONS:
            assert not element.type.elements[0][1].is_optional, f"{name}: REQUEST_ID must be required"


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_wsdl_text_keeps_placeholder_and_relative_imports(service: str) -> None:
    """The exact strings the server rewrites when it serves ?wsdl (docs/soap-contract.md)."""
    doc = etree.parse(str(WSDL_DIR / f"{service}.wsdl"), _parser()).getroot()
    assert doc.get("targetNamespace") == namespace(service)
    [address] = doc.iter(f"{{{WSDL_SOAP}}}address")
    assert address.get("location") == ADDRESS_PLACEHOLDER.format(service=service)
    imports = {i.get("namespace"): i.get("schemaLocation") for i in doc.iter(f"{{{XS}}}import")}
    assert imports == {COMMON_NS: "../xsd/common.xsd", namespace(service): f"../xsd/{service}.xsd"}
    [binding] = doc.iter(f"{{{WSDL_SOAP}}}binding")
    assert binding.get("style") == "document"
    assert binding.get("transport") == "http://schemas.xmlsoap.org/soap/http"
    for body in doc.iter(f"{{{WSDL_SOAP}}}body"):
        assert body.get("use") == "literal"
    for operation in doc.find(f"{{{WSDL}}}portType").iter(f"{{{WSDL}}}operation"):
        assert operation.find(f"{{{WSDL}}}fault") is not None, operation.get("name")


# -- zeep builds requests the schemas accept -------------------------------------------------------------

D = dt.date
REQUEST_ID = "0b7f9e2c-3d4a-4e5f-8a6b-7c8d9e0f1a2b"

REQUESTS: Mapping[str, Mapping[str, Any]] = {
    "identifyPerson": {
        "FIO": {"FAM": "Иванов", "IM": "Пётр", "DR": D(1980, 5, 15)},
        "DATEON": D(2025, 3, 10),
        "HISTORY": False,
        "LIMIT": 20,
    },
    "getPersonData": {"ENP": "4554910834000012", "DATEON": D(2025, 3, 10)},
    "getInsuranceStatus": {"POLIS": {"NPOLIS": "4554910834000012"}, "DATE": D(2025, 3, 10)},
    "searchPersons": {
        "FAM": "Смирн",
        "DR_FROM": D(1990, 1, 1),
        "MATCH": "PREFIX",
        "PAGE": 2,
        "PAGE_SIZE": 50,
    },
    "submitOperations": {
        "REQUEST_ID": REQUEST_ID,
        "OPLIST": {
            "VERS": "3.1",
            "SMOCOD": "45002",
            "NRECORDS": 1,
            "OP": [
                {
                    "N_REC": 1,
                    "ID": "SMO-1",
                    "TIP_OP": "П010",
                    "PERSON": {
                        "FAM": "Ковалёва",
                        "IM": "Ольга",
                        "OT": "Петровна",
                        "W": 2,
                        "DR": D(1988, 12, 1),
                        "C_OKSM": "643",
                        "SS": "23456789100",
                        "KATEG": 1,
                    },
                    "DOC": [
                        {"DOCTYPE": 14, "DOCSER": "45 08", "DOCNUM": "112233", "DOCDATE": D(2008, 12, 20)}
                    ],
                    "ADDRES_G": {"OKATO": "45401000000", "NPNAME": "г. Звездоград", "DOM": "15"},
                    "VIZIT": {"DVIZIT": D(2025, 3, 10), "METHOD": 1, "RSMO": 1, "RPOLIS": 1},
                    "INSURANCE": {
                        "TER_ST": "45000",
                        "POLIS": {"VPOLIS": 2, "NPOLIS": "450212345", "DBEG": D(2025, 3, 10)},
                    },
                }
            ],
        },
    },
    "getProtocol": {"BATCH_ID": "45002-20250310-000123"},
    "getStopList": {"DATE_FROM": D(2025, 3, 1), "DATE_TO": D(2025, 3, 31)},
    "getCorrections": {"DATE_FROM": D(2025, 3, 1), "DATE_TO": D(2025, 3, 15), "PAGE": 2, "PAGE_SIZE": 500},
    "getPersonHistory": {"ENP": "4554910834000012"},
    "getChanges": {"AFTER_SEQ": 0, "LIMIT": 1000},
    "listSnapshots": {},
    "getSnapshot": {"DATE": D(2025, 2, 1), "PAGE": 3},
    "attachPerson": {
        "REQUEST_ID": REQUEST_ID,
        "ENP": "4588089796000128",
        "MO": "450002",
        "AREA_TYPE": 2,
        "DATE_IN": D(2025, 3, 12),
        "METHOD": 2,
    },
    "detachPerson": {
        "REQUEST_ID": REQUEST_ID,
        "ENP": "4554910834000012",
        "MO": "450001",
        "AREA_TYPE": 1,
        "DATE_OUT": D(2025, 4, 1),
    },
}

#: Each key group of identifyPerson, built the way a client library builds it.
IDENTIFY_KEYS: Mapping[str, Mapping[str, Any]] = {
    "ENP": {"ENP": "4554910834000020", "HISTORY": True},
    "POLIS": {"POLIS": {"SPOLIS": "ЗВ", "NPOLIS": "0012345678"}},
    "DOC": {"DOC": {"DOCTYPE": 14, "DOCSER": "45 03", "DOCNUM": "123456"}},
    "SNILS": {"SNILS": {"SS": "11223344595", "DR": D(1980, 5, 15)}, "LIMIT": 5},
    "FIO": {"FIO": {"FAM": "Иванов", "IM": "Пётр", "OT": "Сергеевич", "DR": D(1980, 5, 15)}},
}


def _request_body(client: Any, operation: str, kwargs: Mapping[str, Any]) -> Any:
    envelope = client.create_message(client.service, operation, **kwargs)
    body = envelope.find(f"{{{SOAP_ENV}}}Body")
    assert body is not None and len(body) == 1
    return body[0]


def test_every_operation_has_a_zeep_request() -> None:
    assert sorted(REQUESTS) == sorted(OPERATIONS)


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_zeep_request_validates(operation: str, clients: dict[str, Any], schemas: dict[str, Any]) -> None:
    service = OPERATIONS[operation]
    element = _request_body(clients[service], operation, REQUESTS[operation])
    assert element.tag == f"{{{namespace(service)}}}{operation}"
    schema = schemas[namespace(service)]
    assert schema.validate(element), f"{operation}: {schema.error_log}"


@pytest.mark.parametrize("key", sorted(IDENTIFY_KEYS))
def test_zeep_builds_each_identification_key(
    key: str, clients: dict[str, Any], schemas: dict[str, Any]
) -> None:
    element = _request_body(clients["identification"], "identifyPerson", IDENTIFY_KEYS[key])
    ns = namespace("identification")
    assert element[0].tag == f"{{{ns}}}{key}"
    assert schemas[ns].validate(element), str(schemas[ns].error_log)


@pytest.mark.parametrize("operation", WRITE_OPERATIONS)
def test_zeep_will_not_send_a_write_without_request_id(operation: str, clients: dict[str, Any]) -> None:
    """REQUEST_ID is required by the schema, so a client library refuses to build the call without it.

    (zeep checks required elements, not patterns or enumerations: the hub's schema validation does that.)
    """
    request = {k: v for k, v in REQUESTS[operation].items() if k != "REQUEST_ID"}
    with pytest.raises(ValidationError, match="REQUEST_ID"):
        _request_body(clients[OPERATIONS[operation]], operation, request)


# -- the hub's Fault builder -----------------------------------------------------------------------------


def test_hub_faults_follow_fault_detail(schemas: dict[str, Any]) -> None:
    faults = pytest.importorskip("rserz_soap.soap.faults")
    schema = schemas[COMMON_NS]
    for kind in faults.FaultCode:
        fault = faults.SoapFault(kind, "detail", field="ENP", parent="getPersonData")
        envelope = faults.fault_envelope(fault, "6f1c2e3d-4b5a-4978-8c6d-0e1f2a3b4c5d")
        detail = envelope.find(f".//{FAULT_DETAIL}")
        assert detail is not None
        assert schema.validate(detail), f"{kind.code}: {schema.error_log}"


# -- the document participants read ----------------------------------------------------------------------


def test_contract_document_names_what_it_must() -> None:
    text = CONTRACT_DOC.read_text(encoding="utf-8")
    for service, operations in SERVICES.items():
        assert ADDRESS_PLACEHOLDER.format(service=service) in text
        assert namespace(service) in text
        for op in operations:
            assert f"`{op}`" in text, op
    assert COMMON_NS in text
    linked = set(re.findall(r"tests/data/soap/([\w.-]+\.xml)", text))
    assert linked, "the document links no samples"
    for name in linked:
        assert (SAMPLES / name).is_file(), f"docs/soap-contract.md links a missing sample {name}"
    for op in OPERATIONS:
        assert f"{op}-request.xml" in linked and f"{op}-response.xml" in linked, op
