"""The operations of the ФЕРЗЛ emulator over its store: one function per operation of the contract.

Each takes the request element (already verified, in the served namespace and valid against
``contract/ferzl.xsd``) and returns the response element. The federal side's own checks of a pushed
regional change are simple but real (``acceptRegionalChange``): a main document held by another person
(``F001``), a change to a dead person that is not about the death (``F002``), an unknown ЕНП for anything
but a new person (``F003``).

Reconciliation batches run in one background thread of the process (``EXECUTOR``); their state and
result are in ``fed_batch``, so any emulator process can answer for them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Final

from lxml import etree  # type: ignore[import-untyped, unused-ignore]
from sqlalchemy import Connection, Engine, RowMapping, func, literal, select, text, update
from sqlalchemy.dialects.postgresql import insert

from rserz_soap.domain.person import InsurancePeriod, PersonCard, Status, StopReason
from rserz_soap.domain.records import Op
from rserz_soap.emulators.ferzl.cards import decode_card, encode_card, flat_columns
from rserz_soap.emulators.ferzl.faults import Faults, draw
from rserz_soap.emulators.ferzl.store import (
    fed_batch,
    fed_change,
    fed_person,
    fed_person_version,
    fed_request,
)
from rserz_soap.emulators.ferzl.xml import (
    card_from_person,
    child,
    child_date,
    child_text,
    flat_person_element,
    person_element,
    policy_element,
    sub,
)

__all__ = [
    "EXECUTOR",
    "OPERATIONS",
    "Context",
    "FerzlFault",
    "apply_federal_change",
    "fail_interrupted_batches",
    "namespace",
]

log = logging.getLogger(__name__)

NS_PREFIX: Final = "urn:ferzl:mpi:types:"
FIND_PAGE_SIZE: Final = 20
CHANGES_PAGE_SIZE: Final = 1000
#: a single background thread computes reconciliation batches, in the order they were started
EXECUTOR = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ferzl-batch")


def namespace(api_version: str) -> str:
    return f"{NS_PREFIX}{api_version}"


class FerzlFault(Exception):
    """Answered as a SOAP Fault (HTTP 500) whose detail is ``tns:fault``."""

    def __init__(self, code: str, text: str, *, server: bool = False) -> None:
        super().__init__(f"{code}: {text}")
        self.code = code
        self.text = text
        self.server = server


@dataclass(frozen=True)
class Context:
    engine: Engine
    ns: str
    faults: Faults
    executor: ThreadPoolExecutor = EXECUTOR


Operation = Callable[[Context, Any], Any]

# --------------------------------------------------------------------------- helpers

_PERSON_FLAT: Final = tuple(c for c in fed_person.c if c.name not in ("card", "updated_at", "version_no"))


def _answer(ctx: Context, request: Any, name: str) -> Any:
    el = etree.Element(f"{{{ctx.ns}}}{name}", nsmap={"tns": ctx.ns})
    sub(el, ctx.ns, "externalRequestId", child_text(request, ctx.ns, "externalRequestId"))
    return el


def _norm_series(value: str | None) -> str:
    return (value or "").replace(" ", "").upper()


def _unique(rows: Sequence[Any]) -> str | None:
    return str(rows[0][0]) if len(rows) == 1 else None


def find_enp(conn: Connection, ns: str, key: Any) -> str | None:
    """The ЕНП a search key identifies; None when nobody or more than one person matches."""
    choice = key[0]
    kind = etree.QName(choice).localname
    p = fed_person.c
    if kind == "enp":
        enp = (choice.text or "").strip()
        return enp if conn.execute(select(p.enp).where(p.enp == enp)).first() else None
    if kind == "policy":
        num = child_text(choice, ns, "policyNum") or ""
        ser = _norm_series(child_text(choice, ns, "policySer"))
        rows = (
            conn.execute(select(p.enp, p.policy_ser).where(p.policy_num == num).limit(5)).all()
            or conn.execute(  # a historical policy: look through the whole cards
                select(p.enp, literal(None)).where(p.card.contains({"insurance": [{"npolis": num}]})).limit(5)
            ).all()
        )
        rows = [r for r in rows if r[1] is None or _norm_series(r[1]) == ser]
        return _unique(rows)
    if kind == "document":
        doctype = int(child_text(choice, ns, "docType") or "0")
        num = (child_text(choice, ns, "docNum") or "").replace(" ", "")
        ser = _norm_series(child_text(choice, ns, "docSer"))
        rows = conn.execute(
            select(p.enp, p.doc_ser).where(p.doc_type == doctype, p.doc_num == num).limit(5)
        ).all()
        found = [r for r in rows if _norm_series(r[1]) == ser]
        if not found:  # an earlier document
            cards = conn.execute(
                select(p.enp, p.card)
                .where(p.card.contains({"documents": [{"doctype": doctype, "docnum": num}]}))
                .limit(5)
            ).all()
            found = [
                r
                for r in cards
                if any(
                    d.doctype == doctype and d.docnum == num and _norm_series(d.docser) == ser
                    for d in decode_card(r[1]).documents
                )
            ]
        return _unique(found)
    if kind == "snils":
        where = [p.snils == child_text(choice, ns, "snils")]
        birth = child_date(choice, ns, "birthDate")
        if birth is not None:
            where.append(p.birth_date == birth)
        return _unique(conn.execute(select(p.enp).where(*where).limit(2)).all())
    # fio + birth date
    where = [func.lower(p.fam) == (child_text(choice, ns, "fam") or "").lower()]
    where.append(p.birth_date == child_date(choice, ns, "birthDate"))
    for name in ("im", "ot"):
        value = child_text(choice, ns, name)
        if value:
            where.append(func.lower(p[name]) == value.lower())
    return _unique(conn.execute(select(p.enp).where(*where).limit(2)).all())


def _current_card(conn: Connection, enp: str, *, lock: bool = False) -> tuple[PersonCard, int, str] | None:
    stmt = select(fed_person.c.card, fed_person.c.version_no, fed_person.c.region).where(
        fed_person.c.enp == enp
    )
    row = conn.execute(stmt.with_for_update() if lock else stmt).first()
    return (decode_card(row.card), int(row.version_no), str(row.region)) if row else None


def _card_on(conn: Connection, enp: str, day: dt.date) -> PersonCard | None:
    """The latest version recorded on or before ``day`` (UTC)."""
    until = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    v = fed_person_version.c
    row = conn.execute(
        select(v.card).where(v.enp == enp, v.recorded_at < until).order_by(v.version_no.desc()).limit(1)
    ).first()
    return decode_card(row.card) if row else None


def _insured_policy(card: PersonCard, day: dt.date) -> InsurancePeriod | None:
    """A policy open on ``day``: begun on or before it, its end and stop (if any) not before it."""
    open_ = [
        q
        for q in card.insurance
        if q.dbeg <= day and (q.dend is None or q.dend >= day) and (q.dstop is None or q.dstop >= day)
    ]
    return max(open_, key=lambda q: q.dbeg) if open_ else None


def _write_person(
    conn: Connection, card: PersonCard, region: str, version_no: int, source: str
) -> PersonCard:
    """Upsert ``fed_person`` with ``card`` as version ``version_no`` and record that version."""
    card = card.replace(version_no=version_no)
    payload = encode_card(card)
    values = {
        "enp": card.enp,
        "region": region,
        **flat_columns(card),
        "card": payload,
        "version_no": version_no,
    }
    stmt = insert(fed_person).values(**values)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[fed_person.c.enp],
            set_={**{k: stmt.excluded[k] for k in values if k != "enp"}, "updated_at": func.now()},
        )
    )
    conn.execute(
        insert(fed_person_version).values(
            enp=card.enp, version_no=version_no, recorded_at=func.now(), source=source, card=payload
        )
    )
    return card


def _record_change(conn: Connection, card: PersonCard, region: str, day: dt.date, reason: str) -> int:
    return int(
        conn.execute(
            insert(fed_change)
            .values(enp=card.enp, region=region, change_date=day, reason=reason, card=encode_card(card))
            .returning(fed_change.c.change_id)
        ).scalar_one()
    )


# --------------------------------------------------------------------------- the person


def get_person_data(ctx: Context, request: Any) -> Any:
    ns = ctx.ns
    day = child_date(request, ns, "date")
    with ctx.engine.connect() as conn:
        enp = find_enp(conn, ns, child(request, ns, "key"))
        card = None
        if enp is not None:
            current = _current_card(conn, enp)
            card = _card_on(conn, enp, day) if day is not None else current[0] if current else None
    answer = _answer(ctx, request, "getPersonDataResponse")
    sub(answer, ns, "found", card is not None)
    if card is not None:
        person_element(answer, ns, card)
    return answer


def get_insurance_status(ctx: Context, request: Any) -> Any:
    ns = ctx.ns
    day = child_date(request, ns, "date")
    assert day is not None  # required by the schema
    with ctx.engine.connect() as conn:
        enp = find_enp(conn, ns, child(request, ns, "key"))
        current = _current_card(conn, enp) if enp is not None else None
    answer = _answer(ctx, request, "getInsuranceStatusResponse")
    sub(answer, ns, "found", current is not None)
    if current is None:
        sub(answer, ns, "insured", False)
        return answer
    card = current[0]
    policy = _insured_policy(card, day)
    if card.ddeath is not None and card.ddeath < day:
        policy = None
    sub(answer, ns, "enp", card.enp)
    sub(answer, ns, "status", flat_columns(card)["status"])
    sub(answer, ns, "insured", policy is not None)
    if policy is not None:
        policy_element(answer, ns, policy)
    return answer


def get_person_data_history(ctx: Context, request: Any) -> Any:
    ns = ctx.ns
    v = fed_person_version.c
    with ctx.engine.connect() as conn:
        rows = conn.execute(
            select(v.version_no, v.recorded_at, v.source, v.card)
            .where(v.enp == child_text(request, ns, "enp"))
            .order_by(v.version_no)
        ).all()
    answer = _answer(ctx, request, "getPersonDataHistoryResponse")
    sub(answer, ns, "found", bool(rows))
    for row in rows:
        version = sub(answer, ns, "version")
        sub(version, ns, "versionNo", row.version_no)
        sub(version, ns, "recordedAt", row.recorded_at.astimezone(dt.UTC).isoformat())
        sub(version, ns, "source", row.source)
        person_element(version, ns, decode_card(row.card))
    return answer


def find_persons_by_pers_criteria(ctx: Context, request: Any) -> Any:
    ns = ctx.ns
    p = fed_person.c
    where = [func.lower(p.fam) == (child_text(request, ns, "fam") or "").lower()]
    for name in ("im", "ot"):
        value = child_text(request, ns, name)
        if value:
            where.append(func.lower(p[name]) == value.lower())
    birth = child_date(request, ns, "birthDate")
    if birth is not None:
        where.append(p.birth_date == birth)
    page = int(child_text(request, ns, "page") or 1)
    size = int(child_text(request, ns, "pageSize") or FIND_PAGE_SIZE)
    with ctx.engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(fed_person).where(*where)).scalar_one()
        cards = conn.execute(
            select(p.card).where(*where).order_by(p.enp).offset((page - 1) * size).limit(size)
        ).scalars()
        persons = [decode_card(c) for c in cards]
    answer = _answer(ctx, request, "findPersonsByPersCriteriaResponse")
    sub(answer, ns, "total", total)
    sub(answer, ns, "page", page)
    sub(answer, ns, "pageSize", size)
    for card in persons:
        person_element(answer, ns, card)
    return answer


# --------------------------------------------------------------------------- reconciliation

_RESULT_COLUMNS: Final = tuple(c.name for c in _PERSON_FLAT)
_DATE_COLUMNS: Final = frozenset(c.name for c in _PERSON_FLAT if c.type.python_type is dt.date)


def _jsonable(row: RowMapping) -> list[Any]:
    return [v.isoformat() if isinstance(v, dt.date) else v for v in (row[c] for c in _RESULT_COLUMNS)]


def _from_json(values: Sequence[Any]) -> dict[str, Any]:
    row = dict(zip(_RESULT_COLUMNS, values, strict=True))
    for name in _DATE_COLUMNS:
        if row[name] is not None:
            row[name] = dt.date.fromisoformat(row[name])
    return row


def compute_batch(engine: Engine, request: Mapping[str, Any]) -> dict[str, Any]:
    """The result of a batch from the flat columns (no card is decoded), persons in ЕНП order."""
    region = request["region"]
    p = fed_person.c
    with engine.connect() as conn:
        if "enps" in request:
            wanted = list(dict.fromkeys(request["enps"]))
            rows = conn.execute(
                select(*_PERSON_FLAT).where(p.region == region, p.enp.in_(wanted)).order_by(p.enp)
            ).mappings()
            persons = [_jsonable(r) for r in rows]
            found = {r[0] for r in persons}
            return {"persons": persons, "notFound": sorted(e for e in wanted if e not in found)}
        limit = int(request["limit"])
        where = [p.region == region]
        if request.get("afterEnp"):
            where.append(p.enp > request["afterEnp"])
        rows = conn.execute(select(*_PERSON_FLAT).where(*where).order_by(p.enp).limit(limit)).mappings()
        persons = [_jsonable(r) for r in rows]
    return {
        "persons": persons,
        "lastEnp": persons[-1][0] if persons else request.get("afterEnp"),
        "endOfRegion": len(persons) < limit,
    }


def run_batch(engine: Engine, batch_id: str) -> None:
    """Compute a queued batch (in the background thread): RUNNING, then DONE or FAILED."""
    b = fed_batch.c
    try:
        with engine.begin() as conn:
            request = conn.execute(
                update(fed_batch)
                .where(b.batch_id == batch_id, b.state == "QUEUED")
                .values(state="RUNNING")
                .returning(b.request)
            ).scalar()
        if request is None:
            return
        result = compute_batch(engine, request)
        with engine.begin() as conn:
            conn.execute(
                update(fed_batch)
                .where(b.batch_id == batch_id)
                .values(state="DONE", result=result, done_at=func.now())
            )
    except Exception as exc:
        log.exception("reconciliation batch %s failed", batch_id)
        with engine.begin() as conn:
            conn.execute(
                update(fed_batch)
                .where(b.batch_id == batch_id)
                .values(state="FAILED", error=f"{type(exc).__name__}: {exc}"[:2000], done_at=func.now())
            )


def fail_interrupted_batches(engine: Engine) -> int:
    """Batches a stopped process left QUEUED or RUNNING are FAILED (their thread is gone)."""
    b = fed_batch.c
    with engine.begin() as conn:
        result = conn.execute(
            update(fed_batch)
            .where(b.state.in_(("QUEUED", "RUNNING")))
            .values(state="FAILED", error="interrupted: the emulator restarted", done_at=func.now())
        )
    return int(result.rowcount)


def start_reconciliation(ctx: Context, request: Any) -> Any:
    ns = ctx.ns
    spec: dict[str, Any] = {"region": child_text(request, ns, "region")}
    enp_list = child(request, ns, "enpList")
    if enp_list is not None:
        spec["enps"] = [(e.text or "").strip() for e in enp_list.findall(f"{{{ns}}}enp")]
    else:
        piece = child(request, ns, "slice")
        spec["afterEnp"] = child_text(piece, ns, "afterEnp")
        spec["limit"] = int(child_text(piece, ns, "limit") or 0)
    batch_id = uuid.uuid4().hex
    with ctx.engine.begin() as conn:
        conn.execute(fed_batch.insert().values(batch_id=batch_id, state="QUEUED", request=spec))
    ctx.executor.submit(run_batch, ctx.engine, batch_id)
    answer = _answer(ctx, request, "startReconciliationResponse")
    sub(answer, ns, "batchId", batch_id)
    sub(answer, ns, "state", "QUEUED")
    return answer


def _batch(ctx: Context, request: Any) -> Any:
    batch_id = child_text(request, ctx.ns, "batchId")
    with ctx.engine.connect() as conn:
        row = conn.execute(select(fed_batch).where(fed_batch.c.batch_id == batch_id)).first()
    if row is None:
        raise FerzlFault("MPI-404", f"no reconciliation batch {batch_id}")
    return row


def get_reconciliation_status(ctx: Context, request: Any) -> Any:
    ns = ctx.ns
    row = _batch(ctx, request)
    answer = _answer(ctx, request, "getReconciliationStatusResponse")
    sub(answer, ns, "batchId", row.batch_id)
    sub(answer, ns, "state", row.state)
    if row.state == "DONE":
        sub(answer, ns, "count", len(row.result["persons"]))
    if row.state == "FAILED":
        error = sub(answer, ns, "error")
        sub(error, ns, "code", "MPI-500")
        sub(error, ns, "text", row.error or "failed")
    return answer


def _repeated(items: Sequence[Any], rate: float) -> list[Any]:
    """``items`` with that share of them repeated right after themselves (the duplicate fault)."""
    out: list[Any] = []
    for item in items:
        out.append(item)
        if draw(rate):
            out.append(item)
    return out


def get_reconciliation_result(ctx: Context, request: Any) -> Any:
    ns = ctx.ns
    row = _batch(ctx, request)
    if row.state != "DONE":
        detail = f": {row.error}" if row.error else ""
        raise FerzlFault("MPI-409", f"batch {row.batch_id} is {row.state}, not DONE{detail}")
    result = row.result
    answer = _answer(ctx, request, "getReconciliationResultResponse")
    sub(answer, ns, "batchId", row.batch_id)
    sub(answer, ns, "state", row.state)
    if "endOfRegion" in result:
        if result.get("lastEnp"):
            sub(answer, ns, "lastEnp", result["lastEnp"])
        sub(answer, ns, "endOfRegion", bool(result["endOfRegion"]))
    for values in _repeated(result["persons"], ctx.faults.duplicate_rate):
        flat_person_element(answer, ns, _from_json(values))
    for enp in result.get("notFound", ()):
        sub(answer, ns, "notFound", enp)
    return answer


# --------------------------------------------------------------------------- changes


def get_insurance_status_changes(ctx: Context, request: Any) -> Any:
    ns = ctx.ns
    c = fed_change.c
    size = int(child_text(request, ns, "pageSize") or CHANGES_PAGE_SIZE)
    after = int(child_text(request, ns, "afterChangeId") or 0)
    with ctx.engine.connect() as conn:
        rows = conn.execute(
            select(c.change_id, c.change_date, c.reason, c.card)
            .where(
                c.region == child_text(request, ns, "region"),
                c.change_date.between(
                    child_date(request, ns, "dateBegin"), child_date(request, ns, "dateEnd")
                ),
                c.change_id > after,
            )
            .order_by(c.change_id)
            .limit(size + 1)
        ).all()
    answer = _answer(ctx, request, "getInsuranceStatusChangesResponse")
    sub(answer, ns, "more", len(rows) > size)
    for row in _repeated(rows[:size], ctx.faults.duplicate_rate):
        change = sub(answer, ns, "change")
        sub(change, ns, "changeId", row.change_id)
        sub(change, ns, "changeDate", row.change_date)
        sub(change, ns, "reason", row.reason)
        person_element(change, ns, decode_card(row.card))
    return answer


def _about_death(operation: str, pushed: PersonCard) -> bool:
    return operation == Op.P022 or pushed.status is Status.DEAD or pushed.ddeath is not None


def accept_regional_change(ctx: Context, request: Any) -> Any:
    ns = ctx.ns
    request_id = child_text(request, ns, "externalRequestId") or ""
    region = child_text(request, ns, "region") or ""
    operation = child_text(request, ns, "operation") or ""
    if operation not in {op.value for op in Op}:
        raise FerzlFault("MPI-400", f"unknown operation code {operation!r} (R001: П010…П063)")
    day = child_date(request, ns, "changeDate")
    assert day is not None  # required by the schema
    person = child(request, ns, "person")
    enp = child_text(person, ns, "enp") or ""
    with ctx.engine.begin() as conn:
        # one answer per externalRequestId, even for two copies arriving at once
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:id))"), {"id": request_id})
        stored = conn.execute(
            select(fed_request.c.answer).where(fed_request.c.external_request_id == request_id)
        ).scalar()
        if stored is not None:
            return etree.fromstring(stored.encode("utf-8"))
        current = _current_card(conn, enp, lock=True)
        base = current[0] if current else None
        pushed = card_from_person(person, ns, base)
        errors: list[tuple[str, str]] = []
        doc = pushed.main_document()
        if doc is not None:
            p = fed_person.c
            holders = conn.execute(
                select(p.enp, p.doc_ser).where(
                    p.doc_type == doc.doctype, p.doc_num == doc.docnum.replace(" ", ""), p.enp != enp
                )
            ).all()
            other = next(
                (r.enp for r in holders if _norm_series(r.doc_ser) == _norm_series(doc.docser)), None
            )
            if other is not None:
                errors.append(("F001", f"the main document is held by another person (ЕНП {other})"))
        if base is not None and base.status is Status.DEAD and not _about_death(operation, pushed):
            errors.append(
                ("F002", f"the person died on {base.ddeath}; only a change about the death is accepted")
            )
        if base is None and operation != Op.P010:
            errors.append(("F003", f"ЕНП {enp} is unknown; only П010 registers a new person"))
        answer = _answer(ctx, request, "acceptRegionalChangeResponse")
        sub(answer, ns, "result", "REJECTED" if errors else "ACCEPTED")
        sub(answer, ns, "enp", enp)
        for code, message in errors:
            error = sub(answer, ns, "error")
            sub(error, ns, "code", code)
            sub(error, ns, "text", message)
        if not errors:
            version_no = current[1] + 1 if current else 1
            card = _write_person(conn, pushed, region, version_no, f"region:{region}:{operation}")
            _record_change(conn, card, region, day, operation)
        conn.execute(
            fed_request.insert().values(
                external_request_id=request_id,
                operation="acceptRegionalChange",
                answer=etree.tostring(answer, encoding="unicode"),
            )
        )
    return answer


# --------------------------------------------------------------------------- federal changes (control API)

#: the keys of a control change's "set" object
CHANGE_KEYS: Final = frozenset({"fam", "im", "ot", "ss", "ddeath", "smo"})


def _changed_card(card: PersonCard, values: Mapping[str, Any], day: dt.date) -> PersonCard:
    data = card.data
    names = {k: values[k] for k in ("fam", "im", "ot", "ss") if k in values}
    if names:
        card = card.replace(data=dataclasses.replace(data, **names))
    open_ = card.open_period()
    if values.get("smo"):
        smo = str(values["smo"])
        periods = [q for q in card.insurance if q != open_]
        if open_ is not None:
            periods.append(
                open_.stopped(max(open_.dbeg, day - dt.timedelta(days=1)), StopReason.YEARLY_CHANGE)
            )
        template = open_ or (max(card.insurance, key=lambda q: q.dbeg) if card.insurance else None)
        periods.append(
            InsurancePeriod(
                smo_code=smo,
                ter_st=template.ter_st if template else "",
                enp=card.enp or "",
                vpolis=template.vpolis if template else 3,
                npolis=template.npolis if template else card.enp or "",
                dbeg=day,
            )
        )
        card = card.with_periods(periods).replace(status=Status.INSURED)
    if values.get("ddeath"):
        death = dt.date.fromisoformat(str(values["ddeath"]))
        open_ = card.open_period()
        periods = [q.stopped(death, StopReason.DEATH) if q == open_ else q for q in card.insurance]
        card = card.with_periods(periods).replace(status=Status.DEAD, ddeath=death)
    return card


def apply_federal_change(
    engine: Engine, enp: str, day: dt.date, reason: str, values: Mapping[str, Any]
) -> int | None:
    """A change the federal register learnt itself (ЗАГС, another region): new version + fed_change row.

    Returns the change id, or None when the ЕНП is unknown.
    """
    unknown = set(values) - CHANGE_KEYS
    if unknown:
        raise ValueError(f"unknown keys in set: {sorted(unknown)}; known: {sorted(CHANGE_KEYS)}")
    with engine.begin() as conn:
        current = _current_card(conn, enp, lock=True)
        if current is None:
            return None
        card, version_no, region = current
        new = _write_person(
            conn, _changed_card(card, values, day), region, version_no + 1, f"federal:{reason}"
        )
        return _record_change(conn, new, region, day, reason)


#: request element name → operation
OPERATIONS: Final[dict[str, Operation]] = {
    "getPersonDataRequest": get_person_data,
    "getInsuranceStatusRequest": get_insurance_status,
    "getPersonDataHistoryRequest": get_person_data_history,
    "findPersonsByPersCriteriaRequest": find_persons_by_pers_criteria,
    "startReconciliationRequest": start_reconciliation,
    "getReconciliationStatusRequest": get_reconciliation_status,
    "getReconciliationResultRequest": get_reconciliation_result,
    "getInsuranceStatusChangesRequest": get_insurance_status_changes,
    "acceptRegionalChangeRequest": accept_regional_change,
}
