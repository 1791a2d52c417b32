"""Which person an incoming record is about.

The record's own keys are tried from the most to the least specific — ЕНП (main or alias), policy,
identity document, СНИЛС with birth date — and the first key that names exactly one person wins. A key
that names several persons is reported, never guessed: the buffer sends such a record to review.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date

from rserz_soap.db.search import Search
from rserz_soap.domain.flk.reference import Reference
from rserz_soap.domain.person import PolicyType
from rserz_soap.domain.records import OperationRecord


@dataclass(frozen=True)
class Prefetched:
    """The policy and СНИЛС keys of a batch of records asked at once (:func:`prefetch_keys`)."""

    policies: dict[tuple[str, str | None], list[int]] = field(default_factory=dict)
    snils: dict[tuple[str, date], list[int]] = field(default_factory=dict)


def prefetch_keys(search: Search, records: Sequence[OperationRecord], ref: Reference) -> Prefetched:
    """Ask, in one query, the policy and СНИЛС keys :func:`resolve_person` will try for ``records``: those
    of records whose ЕНП does not already name a person (``ref`` has the ЕНП owners prefetched)."""
    policies: set[tuple[str, str | None]] = set()
    snils: set[tuple[str, date]] = set()
    for rec in records:
        if rec.insurance.enp and ref.enp_owner(rec.insurance.enp) is not None:
            continue  # the first key names the person: the others are never tried
        policy = rec.insurance.policy
        if policy is not None and policy.vpolis in _POLICY_KEYS:
            policies.add((policy.npolis, policy.spolis))
        if rec.person.ss:
            snils.add((rec.person.ss, rec.person.dr))
    if not policies and not snils:
        return Prefetched()
    found = search.policy_and_snils_owners(sorted(policies, key=str), sorted(snils))
    return Prefetched(*found)


_POLICY_KEYS = (PolicyType.OLD_STYLE, PolicyType.VS)


@dataclass(frozen=True)
class Resolution:
    person_id: int | None
    key: str | None = None  # which key found the person
    ambiguous: tuple[int, ...] = ()  # persons a key matched when it matched several


def resolve_person(
    search: Search, rec: OperationRecord, ref: Reference, prefetched: Prefetched | None = None
) -> Resolution:
    """Keys are tried lazily: most records carry an ЕНП and stop at the first (prefetched) lookup; a
    policy or СНИЛС key in ``prefetched`` is answered from it, any other is asked of the database."""
    ins = rec.insurance
    known = prefetched or Prefetched()
    tries: list[tuple[str, Callable[[], list[int]]]] = []
    if ins.enp:
        enp = ins.enp
        tries.append(("ENP", lambda: [p] if (p := ref.enp_owner(enp)) is not None else []))
    policy = ins.policy
    if policy is not None and policy.vpolis in _POLICY_KEYS:
        pkey = (policy.npolis, policy.spolis)
        tries.append(
            ("POLIS", lambda: known.policies[pkey] if pkey in known.policies else search.by_policy(*pkey))
        )
    documents = ([rec.old_document] if rec.old_document else []) + [d for d in rec.documents if d.is_main]
    for doc in documents:
        tries.append(("DOC", lambda doc=doc: sorted(ref.document_owners(doc.key))))  # type: ignore[misc]
    if rec.person.ss:
        skey = (rec.person.ss, rec.person.dr)
        tries.append(("SS", lambda: known.snils[skey] if skey in known.snils else search.by_snils(*skey)))
    for key, lookup in tries:
        found = lookup()
        if len(found) == 1:
            return Resolution(found[0], key)
        if len(found) > 1:
            return Resolution(None, key, tuple(found))
    return Resolution(None)
