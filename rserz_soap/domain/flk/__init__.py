"""Format-logical control (ФЛК): the checks a record passes before it may change the register.

* :mod:`.directory` — the error directory as data (code, message, field, parent, severity E/W/N, kind);
* :mod:`.reference` — what the checks ask the outside world (НСИ on a date, identifier owners);
* :mod:`.rules` and ``rules_*`` — one small function per error code, grouped 1xx…5xx;
* :mod:`.engine` — :func:`check` for one record, :func:`check_batch` for a batch (with 905 duplicates).
"""

from rserz_soap.domain.flk.directory import (
    CATEGORIES,
    CategoryGroup,
    DirectoryError,
    ErrorDirectory,
    ErrorEntry,
    FlkError,
    Kind,
    Severity,
    render_markdown,
)
from rserz_soap.domain.flk.engine import (
    DUPLICATE_KEY,
    SERVICE_CODES,
    check,
    check_batch,
    rejected,
    verify_directory,
)
from rserz_soap.domain.flk.reference import (
    DocTypeRef,
    InMemoryReference,
    MoRef,
    Reference,
    SmoRef,
    add_working_days,
)
from rserz_soap.domain.flk.rules import Finding, RuleContext, owner_smo, registered_rules, rule

__all__ = [
    "CATEGORIES",
    "DUPLICATE_KEY",
    "SERVICE_CODES",
    "CategoryGroup",
    "DirectoryError",
    "DocTypeRef",
    "ErrorDirectory",
    "ErrorEntry",
    "Finding",
    "FlkError",
    "InMemoryReference",
    "Kind",
    "MoRef",
    "Reference",
    "RuleContext",
    "Severity",
    "SmoRef",
    "add_working_days",
    "check",
    "check_batch",
    "owner_smo",
    "registered_rules",
    "rejected",
    "render_markdown",
    "rule",
    "verify_directory",
]
