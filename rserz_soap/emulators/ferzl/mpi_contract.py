"""The emulator's contract files: the schemas of each served API version and the WSDL of each service.

The XSD files (``contract/xsd/``) follow the 24.2.6 schemas embedded in ФОМС's description v5.07 with the
version as ``@API_VERSION@``; a block between ``<!--@since V …-->`` and ``<!--@end-->`` exists only from
version V on (24.2.6 added the legal representatives' documents, the v5.07 change list). The WSDLs are
written from the one table of services (``federal/contract.py``): the document's WSDLs differ only in
their operations, SOAPActions and namespaces, and the table holds exactly those.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any, Final

from lxml import etree  # type: ignore[import-untyped, unused-ignore]

from rserz_soap.federal.contract import SERVICES, ServiceSpec, services_ns, types_ns

__all__ = ["SCHEMA_NAMES", "XSD_DIR", "schema", "schema_text", "wsdl_text"]

XSD_DIR: Final = Path(__file__).resolve().parent / "contract" / "xsd"
SCHEMA_NAMES: Final = tuple(sorted(p.stem for p in XSD_DIR.glob("*.xsd")))
_SINCE: Final = re.compile(r"[ \t]*<!--@since (\S+)[^>]*-->\n(.*?)[ \t]*<!--@end-->\n", re.S)


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split("."))


def schema_text(version: str, name: str) -> str:
    """One XSD of ``version`` (``name`` without ``.xsd``)."""
    if name not in SCHEMA_NAMES:
        raise KeyError(name)
    text = (XSD_DIR / f"{name}.xsd").read_text(encoding="utf-8")

    def keep(m: re.Match[str]) -> str:
        return m.group(2) if _version_key(version) >= _version_key(m.group(1)) else ""

    return _SINCE.sub(keep, text).replace("@API_VERSION@", version)


class _Resolver(etree.Resolver):  # type: ignore[misc]
    def __init__(self, version: str) -> None:
        super().__init__()
        self.version = version

    def resolve(self, url: str, pubid: Any, context: Any) -> Any:
        name = url.rsplit("/", 1)[-1].removesuffix(".xsd")
        if name in SCHEMA_NAMES:
            return self.resolve_string(schema_text(self.version, name).encode("utf-8"), context)
        return None


@cache
def schema(version: str, name: str) -> Any:
    """The compiled XMLSchema of one schema file of ``version`` (its commonTypes import resolved here)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    parser.resolvers.add(_Resolver(version))
    doc = etree.fromstring(
        schema_text(version, name).encode("utf-8"), parser, base_url=f"ferzl:{version}/xsd/{name}.xsd"
    )
    return etree.XMLSchema(doc)


def wsdl_text(version: str, svc: ServiceSpec, address: str, xsd_base: str) -> str:
    """The WSDL of ``svc``: ``TFOMS_Service``/``TFOMS_Port``/``TFOMS_SoapBinding``, one ``payload`` part."""
    tns, types = services_ns(version, svc.tns), types_ns(version, svc.schema)
    messages, ports, bindings = [], [], []
    seen: set[str] = set()
    for op in svc.ops:
        for element in (op.request, op.response):
            if element not in seen:
                seen.add(element)
                messages.append(
                    f'  <wsdl:message name="{element}"><wsdl:part name="payload" element="types:{element}"/>'
                    "</wsdl:message>"
                )
        ports.append(
            f'    <wsdl:operation name="{op.name}"><wsdl:input message="tns:{op.request}"/>'
            f'<wsdl:output message="tns:{op.response}"/></wsdl:operation>'
        )
        bindings.append(
            f'    <wsdl:operation name="{op.name}"><soap:operation soapAction="{op.soap_action}"/>'
            '<wsdl:input><soap:body use="literal"/></wsdl:input>'
            '<wsdl:output><soap:body use="literal"/></wsdl:output></wsdl:operation>'
        )
    nl = "\n"
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<!-- ФЕРЗЛ {svc.file} (ФОМС's description v5.07 {svc.section}), API {version}: the РС ЕРЗ emulator -->
<wsdl:definitions xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
    xmlns:types="{types}" xmlns:tns="{tns}" name="TFOMS_{svc.tns}" targetNamespace="{tns}">
  <wsdl:types><xsd:schema xmlns:xsd="http://www.w3.org/2001/XMLSchema">
    <xsd:import namespace="{types}" schemaLocation="{xsd_base}/{svc.schema}.xsd"/>
  </xsd:schema></wsdl:types>
{nl.join(messages)}
  <wsdl:portType name="TFOMS_PortType">
{nl.join(ports)}
  </wsdl:portType>
  <wsdl:binding name="TFOMS_SoapBinding" type="tns:TFOMS_PortType">
    <soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>
{nl.join(bindings)}
  </wsdl:binding>
  <wsdl:service name="TFOMS_Service"><wsdl:port name="TFOMS_Port" binding="tns:TFOMS_SoapBinding">
    <soap:address location="{address}"/></wsdl:port></wsdl:service>
</wsdl:definitions>
"""


def all_services() -> tuple[ServiceSpec, ...]:
    return SERVICES
