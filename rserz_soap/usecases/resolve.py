"""Which person an incoming record is about.

The record's own keys are tried from the most to the least specific — ЕНП (main or alias), policy,
identity document, СНИЛС with birth date — and the first key that names exactly one person wins. A key
that names several persons is reported, never guessed: the buffer sends such a record to review.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rserz_soap.db.search import Search
from rserz_soap.domain.flk.reference import Reference
from rserz_soap.domain.person import PolicyType
from rserz_soap.domain.records import OperationRecord


@dataclass(frozen=True)
class Resolution:
    person_id: int | None
    key: str | None = None  # which key found the person
    ambiguous: tuple[int, ...] = ()  # persons a key matched when it matched several


def resolve_person(search: Search, rec: OperationRecord, ref: Reference) -> Resolution:
    """Keys are tried lazily: most records carry an ЕНП and stop at the first (prefetched) lookup."""
    ins = rec.insurance
    tries: list[tuple[str, Callable[[], list[int]]]] = []
    if ins.enp:
        enp = ins.enp
        tries.append(("ENP", lambda: [p] if (p := ref.enp_owner(enp)) is not None else []))
    policy = ins.policy
    if policy is not None and policy.vpolis in (PolicyType.OLD_STYLE, PolicyType.VS):
        tries.append(("POLIS", lambda: search.by_policy(policy.npolis, policy.spolis)))
    documents = ([rec.old_document] if rec.old_document else []) + [d for d in rec.documents if d.is_main]
    for doc in documents:
        tries.append(("DOC", lambda doc=doc: sorted(ref.document_owners(doc.key))))  # type: ignore[misc]
    if rec.person.ss:
        ss, dr = rec.person.ss, rec.person.dr
        tries.append(("SS", lambda: search.by_snils(ss, dr)))
    for key, lookup in tries:
        found = lookup()
        if len(found) == 1:
            return Resolution(found[0], key)
        if len(found) > 1:
            return Resolution(None, key, tuple(found))
    return Resolution(None)
