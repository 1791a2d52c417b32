"""ФЕРЗЛ's services for a ТФОМС as ФОМС's description v5.07 (API 24.2.6) names them: one table.

Both sides read it: the hub's client (which address, namespace and SOAPAction a method has) and the
emulator (which WSDL it serves, which request element is which method). The facts are the document's
(``docs/federal.md`` cites the sections): nine services (§2, Таблица 2), each with its own WSDL
(``TFOMS_Service``/``TFOMS_Port``/``TFOMS_SoapBinding``), SOAP 1.1 document/literal, one ``payload`` part;
SOAPAction ``http://ffoms.ru/services/tfoms/<operation>`` with the four exceptions the embedded WSDL has;
namespaces ``http://ffoms.ru/types/<version>/<schema>`` and ``http://ffoms.ru/services/<version>/<service>``;
addresses ``<stand>/api/t-foms/integration/ws/<version>/wsdl/<file>`` (§1.4.2).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = [
    "API_PATH",
    "COMMON",
    "KNOWN_VERSIONS",
    "SERVICES",
    "SOAP_ACTION_PREFIX",
    "Op",
    "ServiceSpec",
    "operation",
    "service_of",
    "types_ns",
]

#: the versions the document names (§1.4.2); ФЕРЗЛ keeps at most three alive at once
KNOWN_VERSIONS: Final = ("24.1.2", "24.1.4", "24.2.6")
API_PATH: Final = "/api/t-foms/integration/ws"
SOAP_ACTION_PREFIX: Final = "http://ffoms.ru/services/tfoms/"
COMMON: Final = "commonTypes"


def types_ns(version: str, schema: str) -> str:
    """``http://ffoms.ru/types/<version>/<schema>`` (§1.4)."""
    return f"http://ffoms.ru/types/{version}/{schema}"


def services_ns(version: str, service: str) -> str:
    return f"http://ffoms.ru/services/{version}/{service}"


@dataclass(frozen=True)
class Op:
    name: str
    request: str
    response: str
    action: str  # the last segment of the SOAPAction

    @property
    def soap_action(self) -> str:
        return SOAP_ACTION_PREFIX + self.action


@dataclass(frozen=True)
class ServiceSpec:
    file: str  # the WSDL's file name without .wsdl; the endpoint is …/wsdl/<file>
    tns: str  # the WSDL's targetNamespace suffix
    schema: str  # the XSD of its messages
    ops: tuple[Op, ...]
    section: str

    def path(self, version: str) -> str:
        return f"{API_PATH}/{version}/wsdl/{self.file}"


SERVICES: Final[tuple[ServiceSpec, ...]] = (
    ServiceSpec("mpiPersonInfoServiceWs", "mpiPersonInfoService", "mpiPersonInfoSchema", (
        Op("getInsuranceStatus", "getInsuranceStatusRequest", "getInsuranceStatusResponse", "getInsuranceStatus"),
        Op("getPersonData", "getPersonDataRequest", "getPersonDataResponse", "getPersonData"),
        Op("getPersonDataHistory", "getPersonDataHistoryRequest", "getPersonDataResponse", "getPersonDataHistory"),
        Op("findPersonsByPersCriteria", "findPersonsByPersCriteriaRequest", "findPersonsByPersCriteriaResponse",
           "findPersonsByPersCriteria"),
        Op("getMergeAncessorOip", "getMergeAncessorOipRequest", "getMergeAncessorOipResponse", "getMergeAncessorOip"),
    ), "§3.1"),
    ServiceSpec("mpiAsyncOperationsServiceWs", "mpiAsyncOperationsService", "mpiAsyncOperationsSchema", tuple(
        Op(f"{m}{half}", f"{m}{half}Request", f"{m}{half}Response", action)
        for m, actions in (
            ("getAllCurrentEnp", None),
            ("getInsuranceStatusChanges", None),
            ("getViewDataAttach", None),
            ("getViewDataInsurance", None),
            ("submitMassPolicyAppointment", None),
            # the embedded WSDL gives the Poll the Start's SOAPAction (§1, a quirk kept as it is)
            ("changeAllPoliciesInsuranceToTfoms", ("Start", "Start")),
            ("getChangesEvent", None),
            ("findPersonsByTerrSmo", None),
            ("getViewDataSocStatus", None),
            ("getMassInsuranceStatus", None),
            ("getInsuredUnassigned", None),
        )
        for half, action in (
            ("Start", f"{m}{(actions or ('Start', 'Poll'))[0]}"),
            ("Poll", f"{m}{(actions or ('Start', 'Poll'))[1]}"),
        )
    ), "§3.2"),
    ServiceSpec("mpiPolicyApplicationServiceWs", "mpiPolicyApplicationService", "mpiPolicyApplicationSchema", (
        Op("submitPolicyApplication", "submitPolicyApplicationRequest", "submitPolicyApplicationResponse",
           "submitPolicyApplication"),
        Op("submitPolicyApplicationWithSign", "submitPolicyApplicationWithSignRequest",
           "submitPolicyApplicationWithSignResponse", "submitPolicyApplicationWithSign"),
    ), "§3.3"),
    ServiceSpec("mpiAttachControlServiceWs", "mpiAttachControlService", "mpiAttachControlSchema", (
        Op("registerAttach", "registerAttachRequest", "registerAttachResponse", "registerAttach"),
    ), "§3.4"),
    ServiceSpec("insuranceSuspendServiceWs", "insuranceSuspendService", "insuranceSuspendSchema", (
        Op("suspendOmsPolicyStart", "suspendOmsPolicyStartRequest", "suspendOmsPolicyStartResponse",
           "suspendOmsPolicy"),
        Op("suspendOmsPolicyPoll", "suspendOmsPolicyPollRequest", "suspendOmsPolicyPollResponse", "getStatusPackage"),
    ), "§3.5"),
    ServiceSpec("mpiPersonObjectsControlWs", "mpiPersonObjectsControlWs", "mpiPersonObjectsControlSchema", (
        Op("registerSnils", "registerSnilsRequest", "registerSnilsResponse", "registerSnils"),
        Op("registerAddress", "registerAddressRequest", "registerAddressResponse", "registerAddres"),
        Op("registerDudl", "registerDudlRequest", "registerDudlResponse", "registerDudl"),
    ), "§3.6"),
    ServiceSpec("mpiNilServiceWs", "mpiNilService", "mpiNilSchema", (
        Op("findNils", "findNilsRequest", "findNilsResponse", "findNils"),
        Op("getNilsData", "getNilsDataRequest", "getNilsDataResponse", "getNilsData"),
        Op("makeNilIdentDecision", "makeNilIdentDecisionRequest", "makeNilIdentDecisionResponse",
           "makeNilIdentDecision"),
    ), "§3.7"),
    ServiceSpec("mpiLegalRepresentationServiceWs", "mpiLegalRepresentationServiceWs", "mpiLegalRepresentationSchema", (
        Op("getLegalRepresentation", "getLegalRepresentationRequest", "getLegalRepresentationResponse",
           "getLegalRepresentation"),
    ), "§3.8"),
    ServiceSpec("mpiNRServiceWs", "mpiNrService", "mpiNRSchema", (
        Op("findNRs", "findNRsRequest", "findNRsResponse", "findNRs"),
        Op("getNRData", "getNRDataRequest", "getNRDataResponse", "getNRData"),
    ), "§3.9"),
)  # fmt: skip

_BY_NAME: Final = {op.name: (svc, op) for svc in SERVICES for op in svc.ops}


def operation(name: str) -> tuple[ServiceSpec, Op]:
    """The service and operation of a method name (``getPersonData``, ``getChangesEventStart`` …)."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"ФЕРЗЛ has no method {name!r}") from None


def service_of(file: str) -> ServiceSpec | None:
    return next((s for s in SERVICES if s.file == file), None)
