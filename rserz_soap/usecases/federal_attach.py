"""An attachment to an МО registered in ФЕРЗЛ (ФОМС's description v5.07 §3.4.1 ``registerAttach``).

The register keeps attachments itself (``usecases/attachments.py``); ФЕРЗЛ must know them too, with the
identifiers of ФРМО (the МО's head OID ``moId`` and its subdivision's ``moDepId``) and the federal area
type and method (``domain/attachment_codes.py``, the one table). ФРМО's OIDs are not in F003: the region
loads them (``frmo``: МО code → (OID, subdivision OID)); an МО without one cannot be registered and is
said so. Once per attachment: the caller's ``request_id`` is the same on every attempt, and ФЕРЗЛ answers a
repeat with its first answer (the attachment's federal status, e.g. ДПП).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from rserz_soap.domain.attachment_codes import federal_area_type, federal_attach_method
from rserz_soap.domain.federal import FederalAnswer
from rserz_soap.domain.person import Attachment


class AttachPort(Protocol):
    def register_attach(
        self,
        request_id: str,
        enp: str,
        attachment: Attachment,
        *,
        area_type: int,
        method: int,
        mo_oid: str,
        dep_oid: str | None,
    ) -> FederalAnswer: ...


def register_attachment(
    federal: AttachPort,
    request_id: str,
    enp: str,
    attachment: Attachment,
    frmo: Mapping[str, tuple[str, str | None]],
) -> FederalAnswer:
    """Open (or, with ``date_out``, close) an attachment in ФЕРЗЛ; the answer's ``oip`` field carries the
    federal status of the attachment (§4: ДПП active per-capita, НСМ closed …)."""
    area = federal_area_type(attachment.area_type)
    method = federal_attach_method(attachment.method)
    if area is None or method is None:
        why = f"area type {attachment.area_type} / method {attachment.method} have no federal code"
        return FederalAnswer(False, errors=(("AREA", why),))
    ids = frmo.get(attachment.mo_code)
    if ids is None:
        return FederalAnswer(False, errors=(("FRMO", f"МО {attachment.mo_code} has no ФРМО identifier"),))
    return federal.register_attach(
        request_id, enp, attachment, area_type=area, method=method, mo_oid=ids[0], dep_oid=ids[1]
    )
