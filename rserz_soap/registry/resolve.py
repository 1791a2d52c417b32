"""Which person an incoming record is about.

The record's own keys are tried from the most to the least specific — ЕНП (main or alias), policy,
identity document, СНИЛС with birth date — and the first key that names exactly one person wins. A key
that names several persons is reported, never guessed: the buffer sends such a record to review.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection

from rserz_soap.db import search
from rserz_soap.domain.person import PolicyType
from rserz_soap.domain.records import OperationRecord


@dataclass(frozen=True)
class Resolution:
    person_id: int | None
    key: str | None = None  # which key found the person
    ambiguous: tuple[int, ...] = ()  # persons a key matched when it matched several


def resolve_person(conn: Connection, rec: OperationRecord) -> Resolution:
    ins = rec.insurance
    tries: list[tuple[str, list[int]]] = []
    if ins.enp:
        tries.append(("ENP", search.by_enp(conn, ins.enp)))
    if ins.policy is not None and ins.policy.vpolis in (PolicyType.OLD_STYLE, PolicyType.VS):
        tries.append(("POLIS", search.by_policy(conn, ins.policy.npolis, ins.policy.spolis)))
    documents = ([rec.old_document] if rec.old_document else []) + [d for d in rec.documents if d.is_main]
    for doc in documents:
        tries.append(("DOC", search.by_document(conn, doc.doctype, doc.docser, doc.docnum)))
    if rec.person.ss:
        tries.append(("SS", search.by_snils(conn, rec.person.ss, rec.person.dr)))
    for key, found in tries:
        if len(found) == 1:
            return Resolution(found[0], key)
        if len(found) > 1:
            return Resolution(None, key, tuple(found))
    return Resolution(None)
