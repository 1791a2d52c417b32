"""A СМО's OPLIST package (the legacy file intake): applied once, through the same batch as submitOperations.

The adapter (``files/oplist.py``) has already refused anything wrong with the package as a whole
(F012 801–804) and read its records exactly as ``submitOperations`` reads them. Here the package is
claimed by its name and by its content (``intake_package``) in the transaction that receives, checks and
decides its records (``submit.submit_operations``): a package handed in again — or twice at once — is
applied once, and the repeat is refused with 805.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from rserz_soap.db.packages import ImportedPackage
from rserz_soap.db.uow import UnitOfWork
from rserz_soap.domain.buffer import ACCEPTED_CODE, BatchProtocol, Submitter
from rserz_soap.domain.records import OperationRecord
from rserz_soap.usecases.intake import Intake
from rserz_soap.usecases.submit import protocol, submit_operations

ALREADY_REGISTERED = "805"


class AlreadyRegistered(Exception):
    """F012 805: this СМО handed in a package with this name (or these very bytes) before."""

    code = ALREADY_REGISTERED

    def __init__(self, earlier: ImportedPackage | None, name: str) -> None:
        when = f" on {earlier.imported_at:%d.%m.%Y %H:%M}" if earlier else ""
        same = earlier is not None and earlier.name != name
        super().__init__(
            f"package {name} is already registered{when}"
            + (f" (the same content as {earlier.name})" if same and earlier else "")
        )
        self.earlier = earlier


@dataclass(frozen=True)
class PackageOutcome:
    name: str
    protocol: BatchProtocol

    @property
    def accepted(self) -> int:
        return sum(1 for r in self.protocol.lines if r.code_erp == ACCEPTED_CODE)

    @property
    def rejected(self) -> int:
        return sum(1 for r in self.protocol.lines if r.final and r.code_erp != ACCEPTED_CODE)


def smo_submitter(uow: UnitOfWork, code: str) -> Submitter | None:
    """The registered, active СМО with this F002 code, as the sender of a package."""
    with uow:
        found = [p for p in uow.participants.all() if p.kind == "smo" and p.code == code and p.active]
    return Submitter(found[0].id, found[0].kind, found[0].code) if found else None


def import_package(
    uow: UnitOfWork,
    intake: Intake,
    submitter: Submitter,
    records: Sequence[OperationRecord],
    *,
    name: str,
    sha256: str,
    encoding: str,
    przcod: str,
    request_id: uuid.UUID,
) -> PackageOutcome:
    """Claim the package and put its records through the batch, all in one transaction."""
    with uow:
        package_id = uow.packages.claim(submitter.participant_id, name, sha256, encoding, przcod)
        if package_id is None:
            raise AlreadyRegistered(uow.packages.find(submitter.participant_id, name, sha256), name)
        protocol = submit_operations(
            uow, intake, submitter, records, request_id, fingerprint=sha256, file_name=name
        )
        outcome = PackageOutcome(name, protocol)
        uow.packages.settle(
            package_id, uuid.UUID(protocol.batch_id), len(protocol.lines), outcome.accepted, outcome.rejected
        )
    return outcome


def answer(uow: UnitOfWork, submitter: Submitter, name: str) -> tuple[ImportedPackage, BatchProtocol] | None:
    """The package this СМО handed in under ``name`` and its batch's protocol as it stands now (records
    that waited for review or ФЕРЗЛ then have their final answer); None if there is no such package."""
    with uow:
        package = uow.packages.by_name(submitter.participant_id, name)
        if package is None or package.batch_id is None:
            return None
        found = protocol(uow, submitter, batch_id=package.batch_id)
    return (package, found) if found is not None else None


def imported(uow: UnitOfWork, submitter: Submitter | None = None) -> list[ImportedPackage]:
    with uow:
        return uow.packages.list(submitter.participant_id if submitter else None)
