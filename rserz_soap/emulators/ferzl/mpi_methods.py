"""The methods of ФЕРЗЛ (ФОМС's description v5.07 §3) over the emulator's store.

Each method takes the request (verified, of the served version, valid against its schema) and returns
the children of its answer. The person is the store's card (``fed_person.card``, the register's
``PersonCard``); what ФЕРЗЛ adds to it is derived here: the ОИП (``fed_oip``), policy letters and statuses
(``domain/policy_types``, ``domain/federal``), the social status from the category (V013: 1–5 working).

Emulated fully: §3.1.1–3.1.5, §3.2.1–4 (getAllCurrentEnp, getInsuranceStatusChanges), §3.2.5–6
(getViewDataInsurance), §3.2.11–12 (getChangesEvent), §3.3.1–2, §3.4.1, §3.5, §3.6, §3.8.1. Served with
empty results (the stand holds no such data; docs/federal.md says so per method): the other витрины and
mass operations of §3.2, НИЛ (§3.7) and НР (§3.9).
"""

from __future__ import annotations

import base64
import csv
import dataclasses
import datetime as dt
import io
import logging
import secrets
import uuid
import zipfile
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

from lxml import etree  # type: ignore[import-untyped, unused-ignore]
from sqlalchemy import Connection, Engine, func, select, text, update
from sqlalchemy.dialects.postgresql import insert

from rserz_soap.domain.federal import policy_status
from rserz_soap.domain.federal_events import EVENTS
from rserz_soap.domain.identifiers import make_enp
from rserz_soap.domain.person import (
    Address,
    Attachment,
    Document,
    InsurancePeriod,
    PersonCard,
    PersonData,
    Status,
    StopReason,
)
from rserz_soap.domain.policy_types import DIGITAL, f008_of, letter_of
from rserz_soap.emulators.ferzl.cards import decode_card, latest_policy
from rserz_soap.emulators.ferzl.mpi import Answer, Ctx, MpiError
from rserz_soap.emulators.ferzl.service import EXECUTOR, current_card, write_person
from rserz_soap.emulators.ferzl.store import fed_event, fed_oip, fed_operation, fed_person, fed_record

__all__ = ["METHODS", "enp_of", "oip_of", "record_event"]

log = logging.getLogger(__name__)

SOURCE = "ФЕРЗЛ"
SOURCE_TYPE = "1"
PAGE: Final = 20

# -- XML helpers -----------------------------------------------------------------------------------------


def e(parent: Any, ns: str, name: str, value: object = None) -> Any:
    el = (
        etree.SubElement(parent, f"{{{ns}}}{name}")
        if parent is not None
        else etree.Element(f"{{{ns}}}{name}")
    )
    if value is not None:
        if isinstance(value, bool):
            el.text = "true" if value else "false"
        elif isinstance(value, (dt.datetime, dt.date)):
            el.text = value.isoformat()
        else:
            el.text = str(value)
    return el


def opt(parent: Any, ns: str, name: str, value: object) -> None:
    if value is not None and value != "":
        e(parent, ns, name, value)


def find(el: Any, *path: str) -> Any:
    """The first descendant along local names (namespaces ignored: the schema has checked them)."""
    cur = el
    for name in path:
        if cur is None:
            return None
        cur = next((c for c in cur if isinstance(c.tag, str) and etree.QName(c).localname == name), None)
    return cur


def txt(el: Any, *path: str) -> str | None:
    found = find(el, *path)
    return (found.text or "").strip() if found is not None else None


def day(el: Any, *path: str) -> dt.date | None:
    value = txt(el, *path)
    return dt.date.fromisoformat(value[:10]) if value else None


def _flag(value: str | None) -> bool:
    return value in ("true", "1")


# -- ОИП -------------------------------------------------------------------------------------------------

OIP_BASE: Final = 900_000_000_000


def oip_of(conn: Connection, enp: str) -> str:
    """The person's ОИП (12 digits), assigned the first time it is asked for."""
    conn.execute(insert(fed_oip).values(enp=enp).on_conflict_do_nothing(index_elements=["enp"]))
    n = conn.execute(select(fed_oip.c.n).where(fed_oip.c.enp == enp)).scalar_one()
    return str(OIP_BASE + int(n))


def enp_of(conn: Connection, oip: str) -> str | None:
    if not oip.isdigit() or int(oip) <= OIP_BASE:
        return None
    found: str | None = conn.execute(select(fed_oip.c.enp).where(fed_oip.c.n == int(oip) - OIP_BASE)).scalar()
    return found


_EVENT: Final = text(
    """
    WITH o AS (
        INSERT INTO fed_oip (enp) VALUES (:enp)
        ON CONFLICT (enp) DO UPDATE SET enp = excluded.enp
        RETURNING n
    )
    INSERT INTO fed_event (enp, oip, region, smo, event, dt)
    SELECT :enp, (:base + o.n)::text, :region, :smo, :event, now() FROM o
    RETURNING event_id
    """
)


def record_event(conn: Connection, enp: str, region: str, code: str, smo: str | None = None) -> int:
    """An event that changed a person (§5), as the change feeds will deliver it — with the person's ОИП
    (assigned on first use, as :func:`oip_of` does), in one statement."""
    values = {"enp": enp, "base": OIP_BASE, "region": region, "smo": smo, "event": code}
    return int(conn.execute(_EVENT, values).scalar_one())


# -- finding the person ----------------------------------------------------------------------------------


def _norm(value: str | None) -> str:
    return (value or "").replace(" ", "").upper()


def find_person(conn: Connection, psi: Any) -> str | None:
    """The ЕНП a PersonCommonSearchParamsType finds (groups AND-ed, §3.1.2; historical identifiers count)."""
    if psi is None:
        return None
    p = fed_person.c
    candidates: set[str] | None = None

    def narrow(found: Iterable[str]) -> None:
        nonlocal candidates
        found = set(found)
        candidates = found if candidates is None else candidates & found

    oip = txt(psi, "oip")
    if oip:
        enp = enp_of(conn, oip)
        narrow([enp] if enp else [])
    pcy = find(psi, "pcy")
    if pcy is not None:
        enp, num, ser = txt(pcy, "enp"), txt(pcy, "pcyNum") or txt(pcy, "tmpcertNum"), txt(pcy, "pcySer")
        if enp:
            rows = conn.execute(select(p.enp).where(p.enp == enp)).scalars().all()
            if not rows:  # an ЕНП of a historical policy
                rows = (
                    conn.execute(select(p.enp).where(p.card.contains({"insurance": [{"enp": enp}]})).limit(3))
                    .scalars()
                    .all()
                )
            narrow(rows)
        elif num:
            rows = conn.execute(select(p.enp, p.policy_ser).where(p.policy_num == num).limit(5)).all()
            hits = [r.enp for r in rows if not ser or _norm(r.policy_ser) == _norm(ser)]
            if not hits:
                hits = list(
                    conn.execute(
                        select(p.enp).where(p.card.contains({"insurance": [{"npolis": num}]})).limit(5)
                    ).scalars()
                )
            narrow(hits)
    dudl = find(psi, "dudl")
    if dudl is not None:
        doctype, num, ser = (
            int(txt(dudl, "dudlType") or 0),
            _norm(txt(dudl, "dudlNum")),
            _norm(txt(dudl, "dudlSer")),
        )
        rows = conn.execute(select(p.enp, p.doc_ser).where(p.doc_type == doctype, p.doc_num == num)).all()
        hits = [r.enp for r in rows if _norm(r.doc_ser) == ser]
        if not hits:  # an earlier document
            cards = conn.execute(
                select(p.enp, p.card).where(
                    p.card.contains({"documents": [{"doctype": doctype, "docnum": num}]})
                )
            ).all()
            hits = [
                r.enp
                for r in cards
                if any(d.key == (doctype, ser, num) for d in decode_card(r.card).documents)
            ]
        narrow(hits)
    snils_dr = find(psi, "snilsDr")
    if snils_dr is not None:
        snils, birth = txt(snils_dr, "snils"), day(snils_dr, "birthDay")
        where = [p.snils == "".join(ch for ch in snils or "" if ch.isdigit())]
        if birth is not None:
            where.append(p.birth_date == birth)
        narrow(conn.execute(select(p.enp).where(*where).limit(3)).scalars())
    if candidates is None or len(candidates) != 1:
        return None
    return next(iter(candidates))


def _card(conn: Connection, enp: str) -> PersonCard:
    current = current_card(conn, enp)
    assert current is not None
    return current[0]


# -- the person in the document's shapes -----------------------------------------------------------------


def _policy_items(parent: Any, ns: str, com: str, card: PersonCard, smo_ogrn: Mapping[str, str]) -> None:
    latest = latest_policy(card)
    for q in sorted(card.insurance, key=lambda x: (x.dbeg, x.dstop or dt.date.max)):
        item = e(parent, ns, "policyItems")  # a commonTypes:OmsPolicy: its children are commonTypes'
        omspolicy(item, com, card, q, latest is q, smo_ogrn)


def omspolicy(
    item: Any, com: str, card: PersonCard, q: InsurancePeriod, latest: bool, ogrn: Mapping[str, str]
) -> None:
    letter = letter_of(q.vpolis) if q.vpolis in (1, 2, 3, 4, 5) else DIGITAL
    if letter == "С":
        opt(item, com, "pcySer", q.spolis)
        opt(item, com, "pcyNum", q.npolis)
    e(item, com, "enp", q.enp or card.enp)
    e(item, com, "pcyDateB", q.dbeg)
    opt(item, com, "pcyDateE", q.dstop or q.dend)
    e(item, com, "pcyType", letter)
    e(item, com, "pcyStatus", policy_status(q, card.status, latest))
    e(item, com, "okato", q.ter_st or "")
    e(item, com, "dsource", SOURCE)
    e(item, com, "dsourceType", SOURCE_TYPE)
    e(item, com, "gender", card.data.w if card.data.w in (1, 2) else 1)
    e(item, com, "insurfName", f"СМО {q.smo_code}")
    e(item, com, "insurfOgrn", q.ogrnsmo or ogrn.get(q.smo_code, ""))
    e(item, com, "insurCode", q.smo_code)
    e(item, com, "insurfCode", q.smo_code)
    if letter == "В":
        e(item, com, "tmpcertNum", q.npolis)


def _doc_short(parent: Any, com: str, d: Document, birth: dt.date) -> None:
    opt(parent, com, "dudlSer", d.docser)
    e(parent, com, "dudlNum", d.docnum)
    e(parent, com, "dudlDateB", d.docdate or birth)
    e(parent, com, "dudlType", d.doctype)


def person_data(pd: Any, ns: str, com: str, card: PersonCard, oip: str, show: set[str]) -> None:
    d = card.data
    e(pd, ns, "oip", oip)
    if "Person" in show:
        item = e(e(pd, ns, "person"), ns, "personItems")
        e(item, ns, "surname", d.fam or "-")
        opt(item, ns, "patronymic", d.ot)
        e(item, ns, "firstName", d.im or "-")
        e(item, ns, "birthDay", d.dr)
        e(item, ns, "gender", d.w)
        opt(item, ns, "deathDate", card.ddeath)
        e(item, ns, "dateEdit", dt.datetime.combine(d.dr, dt.time(), tzinfo=dt.UTC))
        e(item, ns, "status", "НСН" if card.status is Status.DEAD else "ДПП")
    if "OmsPolicy" in show and card.insurance:
        _policy_items(e(pd, ns, "policy"), ns, com, card, {})
    if "Dudl" in show and card.documents:
        lst = e(pd, ns, "dudl")
        main = card.main_document()
        for doc in sorted(card.documents, key=lambda x: (x.docdate or dt.date.min, x.docnum)):
            item = e(lst, ns, "dudlItems")
            _doc_short(item, com, doc, d.dr)
            opt(item, com, "dudlDateE", doc.docexp)
            opt(item, com, "issuer", doc.name_vp)
            e(item, ns, "dsource", SOURCE)
            e(item, ns, "dsourceType", SOURCE_TYPE)
            e(item, ns, "dudlStatus", "ДПП" if doc == main else "НАП")
    if "Address" in show and card.addresses:
        lst = e(pd, ns, "address")
        for a in sorted(card.addresses, key=lambda x: x.kind):
            item = e(lst, ns, "addressItems")
            opt(item, com, "okato", a.okato)
            opt(item, com, "aoguid", a.fias_guid)
            text_ = ", ".join(x for x in (a.settlement, a.street, a.house, a.flat) if x)
            opt(item, com, "addressText", text_)
            opt(item, com, "mailIndex", a.postcode)
            e(item, com, "dsourceType", SOURCE_TYPE)
            e(item, com, "dsource", SOURCE)
            e(item, com, "addressType", 1 if a.kind == "G" else 3)
            e(item, com, "addressDateB", a.registered_on or d.dr)
            e(item, com, "addressStatus", "ДПП")
    if "Attach" in show and card.attachments:
        lst = e(pd, ns, "attach")
        for att in sorted(card.attachments, key=lambda x: (x.area_type, x.date_in)):
            item = e(lst, ns, "attachItems")
            attach_item(item, com, att)
    if "Snils" in show and d.ss:
        item = e(e(pd, ns, "snils"), ns, "snilsItems")
        e(item, ns, "snils", d.ss)
        e(item, ns, "dsource", SOURCE)
        e(item, ns, "dsourceType", SOURCE_TYPE)
        e(item, ns, "statusSnils", "ДПП")
    if "SocialStatus" in show:
        item = e(e(pd, ns, "socialStatus"), ns, "socialStatusItems")
        e(item, ns, "socialStatus", social_status(d.kateg))
        e(item, ns, "dsourceType", SOURCE_TYPE)
        e(item, ns, "dsource", "ФНС")
        e(item, ns, "regDate", d.dr)


def attach_item(item: Any, com: str, a: Attachment) -> None:
    from rserz_soap.domain.attachment_codes import federal_area_type, federal_attach_method

    e(item, com, "areaType", federal_area_type(a.area_type) or 1)
    opt(item, com, "areaId", a.section)
    e(item, com, "attachMethod", federal_attach_method(a.method) or 1)
    e(item, com, "dateAttachB", a.date_in)
    opt(item, com, "dateAttachE", a.date_out)
    e(item, com, "moId", frmo_oid(a.mo_code))
    e(item, com, "moCode", a.mo_code)
    opt(item, com, "snilsDoctor", a.doctor_snils)
    e(item, com, "dsource", SOURCE)
    e(item, com, "dsourceType", SOURCE_TYPE)
    e(item, com, "moOkato", "45000")
    e(item, com, "attachStatus", "ДПП" if a.date_out is None else "НСМ")
    e(item, com, "depId", frmo_oid(a.mo_code) + ".1")


def frmo_oid(mo_code: str) -> str:
    """The stand's ФРМО OID of an МО (the real ones are ФРМО's; the demo МО have none)."""
    return f"1.2.643.5.1.13.13.12.2.45.{int(mo_code) if mo_code.isdigit() else 0}"


def social_status(kateg: int) -> str:
    """§5: 0 working, 1 non-working — from V013 (1–5 and 11 working, 6–10 and 12 not)."""
    return "0" if kateg in (1, 2, 3, 4, 5, 11, 13, 14) else "1"


ALL_SHOW: Final = {
    "Person",
    "OmsPolicy",
    "Dudl",
    "Address",
    "Attach",
    "Contact",
    "Snils",
    "SocialStatus",
    "Ern",
}

# -- §3.1 MpiPersonInfoService ---------------------------------------------------------------------------


def get_person_data(ctx: Ctx, rq: Any) -> Answer:
    params = find(rq, "personDataSearchParams")
    if params is None:
        params = find(rq, "personDataHistorySearchParams")
    shown = (txt(params, "show") or "").split()
    with ctx.engine.connect() as conn:
        enp = find_person(conn, find(params, "personSearchInfo"))
        if enp is None:
            return Answer()
        card, oip = _card(conn, enp), oip_of(conn, enp)
        conn.commit()
    pd = e(None, ctx.ns(), "pd")
    person_data(pd, ctx.ns(), ctx.com, card, oip, set(shown) or ALL_SHOW)
    return Answer([pd])


def get_insurance_status(ctx: Ctx, rq: Any) -> Answer:
    params = find(rq, "insuranceStatusSearchParams")
    on = day(params, "dt") or dt.date.today()
    with ctx.engine.connect() as conn:
        enp = find_person(conn, find(params, "personSearchInfo"))
        if enp is None:
            return Answer()
        card, oip = _card(conn, enp), oip_of(conn, enp)
        conn.commit()
    q = card.period_on(on)
    if q is None or (card.ddeath is not None and card.ddeath <= on):
        return Answer()
    ns = ctx.ns()
    status = e(None, ns, "status")
    e(status, ns, "oip", oip)
    e(
        status,
        ns,
        "fio",
        f"{card.data.fam} {card.data.im[:1]}.{(card.data.ot or '')[:1] + '.' if card.data.ot else ''}",
    )
    e(status, ns, "birthDay", card.data.dr)
    e(status, ns, "gender", card.data.w)
    letter = letter_of(q.vpolis) if q.vpolis in (1, 2, 3, 4, 5) else DIGITAL
    e(status, ns, "policyType", letter)
    if letter == "С":
        opt(status, ns, "policySer", q.spolis)
    e(status, ns, "policyNumEnp", q.enp if letter in ("П", "Э", "Ц", "Х", "М") else q.npolis)
    e(status, ns, "policyStatus", policy_status(q, card.status, latest_policy(card) is q))
    e(status, ns, "smo", q.smo_code)
    e(status, ns, "terr", q.ter_st)
    e(status, ns, "policyValidFrom", q.dbeg)
    opt(status, ns, "policyValidTo", q.dstop or q.dend)
    return Answer([status])


def find_persons_by_pers_criteria(ctx: Ctx, rq: Any) -> Answer:
    crit = find(rq, "persCriteria")
    p = fed_person.c
    where: list[Any] = []
    for name, col in (("surname", p.fam), ("firstName", p.im), ("patronymic", p.ot)):
        value = txt(crit, "fio", name)
        if value:
            where.append(func.lower(col).startswith(value.lower()))
    birth_from, birth_to = day(crit, "birthDayFrom"), day(crit, "birthDayTo")
    if birth_from:
        where.append(p.birth_date >= birth_from)
    if birth_to:
        where.append(p.birth_date <= birth_to)
    if not where:
        raise MpiError("409.1.4", "name parts or dates with ОКАТО are required (§3.1.4)", tag="persCriteria")
    page = int(txt(crit, "pagination", "pageNumber") or 1)
    size = max(1, min(int(txt(crit, "pagination", "itemPerPage") or PAGE), 100))
    with ctx.engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(fed_person).where(*where)).scalar_one()
        rows = conn.execute(
            select(p.enp, p.fam, p.im, p.ot, p.birth_date, p.sex)
            .where(*where)
            .order_by(p.enp)
            .offset((page - 1) * size)
            .limit(size)
        ).all()
        oips = [oip_of(conn, r.enp) for r in rows]
        conn.commit()
    ns = ctx.ns()
    if not rows:
        return Answer()
    persons = e(None, ns, "persons")
    for r, oip in zip(rows, oips, strict=True):
        item = e(persons, ns, "personDataShortItem")
        e(item, ns, "fio", " ".join(x for x in (r.fam, r.im, r.ot) if x))
        e(item, ns, "enp", r.enp)
        e(item, ns, "birthDay", r.birth_date)
        e(item, ns, "gender", r.sex)
        e(item, ns, "oip", oip)
    pagination = e(persons, ns, "pagination")
    e(pagination, ctx.com, "pageNumber", page)
    e(pagination, ctx.com, "itemPerPage", size)
    e(pagination, ctx.com, "count", total)
    return Answer([persons])


def get_merge_ancessor_oip(ctx: Ctx, rq: Any) -> Answer:
    return Answer()  # the stand merges nobody: no surviving duplicate to name


# -- §3.3 MpiPolicyApplicationService --------------------------------------------------------------------


@dataclasses.dataclass
class Application:
    terr: str
    smo: str
    reg_date: dt.date
    app_object: int
    app_cause: int | None
    kl: int
    enp: str | None
    snils: str | None
    policy_end: dt.date | None
    person: PersonData | None
    documents: list[Document]


def _application(pa: Any) -> Application:
    docs: list[Document] = []
    person: PersonData | None = None
    docs_el = find(pa, "applicantDoc")
    for item in docs_el if docs_el is not None else []:
        if not isinstance(item.tag, str):
            continue
        doc = Document(
            int(txt(item, "dudlType") or 0),
            txt(item, "dudlSer"),
            txt(item, "dudlNum") or "",
            docdate=day(item, "dudlDateB"),
            docexp=day(item, "dudlDateE"),
            name_vp=txt(item, "issuer"),
            is_main=not docs,
        )
        docs.append(doc)
        birth = day(item, "birthDay")
        if person is None and birth is not None:
            person = PersonData(
                fam=txt(item, "surname") or "",
                im=txt(item, "firstName") or "",
                ot=txt(item, "patronymic"),
                w=int(txt(item, "gender") or 0),
                dr=birth,
                mr=txt(item, "birthplace"),
            )
    return Application(
        terr=txt(pa, "terr") or "",
        smo=txt(pa, "smo") or "",
        reg_date=day(pa, "regDate") or dt.date.today(),
        app_object=int(txt(pa, "appObject") or 0),
        app_cause=int(txt(pa, "appCause") or 0) or None,
        kl=int(txt(pa, "kl") or 1),
        enp=txt(pa, "enp"),
        snils=txt(pa, "snils"),
        policy_end=day(pa, "policyEndDate"),
        person=person,
        documents=docs,
    )


def _new_enp(conn: Connection, region: str, birth: dt.date, sex: int) -> str:
    for _ in range(50):
        candidate = make_enp(region, birth, sex, secrets.randbelow(100_000))
        if conn.execute(select(fed_person.c.enp).where(fed_person.c.enp == candidate)).first() is None:
            return candidate
    raise RuntimeError("no free ЕНП")


def _document_holder(conn: Connection, doc: Document) -> str | None:
    p = fed_person.c
    rows = conn.execute(
        select(p.enp, p.doc_ser).where(p.doc_type == doc.doctype, p.doc_num == doc.docnum.replace(" ", ""))
    ).all()
    return next((r.enp for r in rows if _norm(r.doc_ser) == _norm(doc.docser)), None)


def submit_policy_application(ctx: Ctx, rq: Any) -> Answer:
    pa = find(rq, "rq", "pa")
    app = _application(pa)
    if app.app_object in (1, 2) and app.app_cause is None:
        raise MpiError("409.39.1", "appCause is required for appObject 1 and 2", tag="rq/pa/appCause")
    first = app.app_object == 1 and app.app_cause == 1
    if not first and not app.enp:
        raise MpiError("409.39.3", "enp is required except for a first choice", tag="rq/pa/enp")
    with ctx.begin() as conn:
        region = ctx.region_code
        if first:
            if app.person is None or not app.documents:
                raise MpiError(
                    "409.39.4", "applicantDoc with the person's data is required", tag="rq/pa/applicantDoc"
                )
            holder = _document_holder(conn, app.documents[0])
            if holder is not None:
                raise MpiError(
                    "409.39.5",
                    f"the identity document belongs to a person already registered (ЕНП {holder})",
                    tag="rq/pa/applicantDoc/applicantDocItem/dudlNum",
                    value=app.documents[0].docnum,
                )
            enp = _new_enp(conn, region, app.person.dr, app.person.w)
            data = dataclasses.replace(app.person, ss=app.snils, kateg=app.kl)
            card = PersonCard(data=data, enp=enp, documents=frozenset(app.documents))
            version, event = 1, "1П"
        else:
            assert app.enp is not None
            current = current_card(conn, app.enp, lock=True)
            if current is None:
                raise MpiError(
                    "409.39.6", f"ЕНП {app.enp} is not in the register", tag="rq/pa/enp", value=app.enp
                )
            card, version, _ = current
            version += 1
            if card.status is Status.DEAD:
                raise MpiError(
                    "409.39.7", f"the person died on {card.ddeath}", tag="rq/pa/enp", value=app.enp
                )
            event = {1: "ЗСМО", 2: "ЗПБЗСМО", 3: "СДАЧУТР"}[app.app_object]
            if app.app_object == 2 and app.app_cause == 3:
                event = "ВОССТ"
            if app.person is not None:
                changed_core = (app.person.w, app.person.dr) != (card.data.w, card.data.dr)
                data = dataclasses.replace(
                    card.data,
                    fam=app.person.fam,
                    im=app.person.im,
                    ot=app.person.ot,
                    w=app.person.w,
                    dr=app.person.dr,
                    ss=app.snils or card.data.ss,
                )
                card = card.replace(data=data)
                if app.documents:
                    card = card.replace(documents=frozenset(app.documents))
                if app.app_object == 2 and changed_core:  # §3.3.1 cases 5–7: a new ЕНП
                    card = card.replace(enp=_new_enp(conn, region, data.dr, data.w))
        open_ = card.open_period()
        periods = [q for q in card.insurance if q is not open_]
        new_enp = card.enp
        assert new_enp is not None
        enp = new_enp
        if open_ is not None:
            reason = StopReason.OTHER if app.app_object == 3 else StopReason.REISSUED
            periods.append(open_.stopped(max(open_.dbeg, app.reg_date - dt.timedelta(days=1)), reason))
        created: InsurancePeriod | None = None
        if app.app_object != 3:
            created = InsurancePeriod(
                smo_code=app.smo,
                ter_st=app.terr,
                enp=enp,
                vpolis=f008_of(DIGITAL),
                npolis=enp,
                dbeg=app.reg_date,
                dend=app.policy_end,
            )
            periods.append(created)
        status = Status.INSURED if created is not None else Status.NOT_INSURED
        card = card.with_periods(periods).replace(status=status)
        if app.enp and card.enp != app.enp:  # the old ЕНП's record goes away with the new number
            conn.execute(fed_person.delete().where(fed_person.c.enp == app.enp))
            conn.execute(update(fed_oip).where(fed_oip.c.enp == app.enp).values(enp=card.enp))
            version = 1
        write_person(conn, card, region, version, f"application:{app.app_object}/{app.app_cause}")
        record_event(conn, enp, region, event, app.smo)
    ns = ctx.ns()
    result = e(None, ns, "submitApplicationResponseType")
    if created is not None:
        pcy = e(result, ns, "createdPcy")
        e(pcy, ns, "enp", enp)
        e(pcy, ns, "pcyDateB", created.dbeg)
        opt(pcy, ns, "pcyDateE", created.dend)
        e(pcy, ns, "pcyDateT", created.dbeg)
        e(pcy, ns, "pcyType", DIGITAL)
        e(pcy, ns, "pcyStatus", "ДНП")
        e(pcy, ns, "okato", created.ter_st)
        e(pcy, ns, "gender", card.data.w)
        e(pcy, ns, "insurfOgrn", "")
        e(pcy, ns, "insurCode", created.smo_code)
        e(pcy, ns, "insurfCode", created.smo_code)
        e(pcy, ns, "pcyCategory", app.kl)
        e(pcy, ns, "surname", card.data.fam)
        opt(pcy, ns, "patronymic", card.data.ot)
        e(pcy, ns, "firstName", card.data.im)
        e(pcy, ns, "birthDay", card.data.dr)
    return Answer([result])


def submit_policy_application_with_sign(ctx: Ctx, rq: Any) -> Answer:
    """§3.3.2: ``data`` is the base64 of a ``submitPolicyApplication`` document, ``sign`` a detached
    signature over it and ``certificate`` the signer's. The algorithm and container are not described: the
    stand reads ``sign`` as GOST R 34.10-2012 (Streebog) ``s ‖ r`` over the bytes of ``data`` and verifies
    it with the certificate's GOST key (the certificate's chain is not checked: the document says nothing
    of whose certificates ФЕРЗЛ trusts). docs/federal.md says so."""
    data = base64.b64decode(txt(rq, "data") or "")
    if not (txt(rq, "sign") and txt(rq, "certificate")):
        raise MpiError("409.39.8", "sign and certificate are required", tag="sign")
    if not _signature_holds(
        data, base64.b64decode(txt(rq, "sign") or ""), base64.b64decode(txt(rq, "certificate") or "")
    ):
        raise MpiError("409.39.10", "the signature of data does not verify with the certificate", tag="sign")
    try:
        inner = etree.fromstring(data, parser=etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError:
        raise MpiError("409.39.9", "data is not an XML document", tag="data") from None
    if etree.QName(inner).localname != "submitPolicyApplication":
        raise MpiError("409.39.9", "data is not a submitPolicyApplication document", tag="data")
    from rserz_soap.emulators.ferzl.mpi_contract import schema

    checker = schema(ctx.version, ctx.schema)
    if not checker.validate(inner):
        err = checker.error_log.last_error
        raise MpiError(
            "409.39.9", f"data does not match the schema: {err.message if err else '?'}", tag="data"
        )
    return submit_policy_application(ctx, inner)


def _signature_holds(data: bytes, sign: bytes, certificate: bytes) -> bool:
    from cryptography import x509

    from rserz_soap.xmlsig.gost.asn1 import certificate_public_key

    try:
        key = certificate_public_key(x509.load_der_x509_certificate(certificate))
    except ValueError:
        return False
    return key is not None and key.verify(sign, data)


# -- §3.4, §3.6 objects of the person ----------------------------------------------------------------------


def _target(conn: Connection, rq: Any) -> tuple[PersonCard, int, str]:
    psi = etree.Element("psi")
    for name in ("pcy", "dudl", "oip"):
        found = find(rq, name)
        if found is not None:
            psi.append(_copy(found))
    enp = find_person(conn, psi)
    if enp is None:
        raise MpiError("409.40.1", "the person is not found by pcy/dudl/oip", tag="pcy")
    current = current_card(conn, enp, lock=True)
    assert current is not None
    return current


def _copy(el: Any) -> Any:
    return etree.fromstring(etree.tostring(el))


def register_snils(ctx: Ctx, rq: Any) -> Answer:
    with ctx.begin() as conn:
        card, version, region = _target(conn, rq)
        card = card.replace(data=dataclasses.replace(card.data, ss=txt(rq, "snils")))
        write_person(conn, card, region, version + 1, "registerSnils")
        assert card.enp is not None
        record_event(conn, card.enp, region, "ЗДАДРС")
        oip = oip_of(conn, card.enp)
    return Answer([e(None, ctx.ns(), "oip", oip)])


def register_dudl(ctx: Ctx, rq: Any) -> Answer:
    add = find(rq, "dudlToAdd")
    doc = Document(
        int(txt(add, "dudlType") or 0),
        txt(add, "dudlSer"),
        txt(add, "dudlNum") or "",
        docdate=day(add, "dudlDateB"),
        docexp=day(add, "dudlDateE"),
        name_vp=txt(add, "issuer"),
    )
    with ctx.begin() as conn:
        card, version, region = _target(conn, rq)
        holder = _document_holder(conn, doc)
        if holder is not None and holder != card.enp:
            raise MpiError(
                "409.40.2", f"the document belongs to another person (ЕНП {holder})", tag="dudlToAdd"
            )
        others = frozenset(dataclasses.replace(d, is_main=False) for d in card.documents if d.key != doc.key)
        card = card.replace(documents=others | {doc})
        write_person(conn, card, region, version + 1, "registerDudl")
        assert card.enp is not None
        record_event(conn, card.enp, region, "ЗДАДРС")
        oip = oip_of(conn, card.enp)
    return Answer([e(None, ctx.ns(), "oip", oip)])


def register_address(ctx: Ctx, rq: Any) -> Answer:
    addr = find(rq, "addr")
    kind = "G" if txt(addr, "addressType") == "1" else "P"
    new = Address(
        kind, okato=txt(addr, "okato"), fias_guid=txt(addr, "aoguid"), registered_on=day(addr, "validFrom")
    )
    with ctx.begin() as conn:
        card, version, region = _target(conn, rq)
        card = card.replace(addresses=frozenset({a for a in card.addresses if a.kind != kind} | {new}))
        write_person(conn, card, region, version + 1, "registerAddress")
        assert card.enp is not None
        record_event(conn, card.enp, region, "ЗДАДРС")
    return Answer()


def register_attach(ctx: Ctx, rq: Any) -> Answer:
    att = find(rq, "att")
    check_only = _flag(txt(rq, "checkFlk"))
    enp = txt(att, "enp") or ""
    area_federal = int(txt(att, "areaType") or 1)
    with ctx.begin() as conn:
        current = current_card(conn, enp, lock=True)
        if current is None:
            raise MpiError("409.41.1", f"ЕНП {enp} is not in the register", tag="att/enp", value=enp)
        card, version, region = current
        if card.status is Status.DEAD:
            raise MpiError("409.41.2", "the person is dead", tag="att/enp", value=enp)
        if not txt(att, "moDepId") and (day(att, "dateAttachE") or dt.date.max) > dt.date.today():
            raise MpiError(
                "409.41.3", "moDepId is required for an open attachment (§3.4.1)", tag="att/moDepId"
            )
        new = Attachment(
            mo_code=txt(att, "moCode") or "",
            area_type=_regional_area(area_federal),
            date_in=day(att, "dateAttachB") or dt.date.today(),
            method=int(txt(att, "attachMethod") or 1),
            doctor_snils=txt(att, "snilsDoctor"),
            date_out=day(att, "dateAttachE"),
        )
        if check_only:
            return Answer()
        kept = {
            a
            if a.area_type != new.area_type or a.date_out is not None
            else dataclasses.replace(a, date_out=new.date_in)
            for a in card.attachments
        }
        card = card.replace(attachments=frozenset(kept | {new}))
        write_person(conn, card, region, version + 1, "registerAttach")
        record_event(conn, enp, region, "ПРИКРМО")
    cur = e(None, ctx.ns(), "currAttach")
    ns = ctx.ns()
    for name in (
        "enp",
        "dateAttachB",
        "dateAttachE",
        "attachMethod",
        "areaType",
        "areaId",
        "moId",
        "moCode",
        "moFId",
        "doctorId",
        "snilsDoctor",
        "doctorSince",
        "moDepId",
    ):
        value = txt(att, name)
        if value:
            e(cur, ns, name, value)
    e(cur, ns, "mCapitation", 1)
    e(cur, ns, "attachStatus", "ДПП" if new.date_out is None else "НСМ")
    e(cur, ns, "dsource", SOURCE)
    e(cur, ns, "dsourceType", SOURCE_TYPE)
    e(cur, ns, "moOkato", ctx.region_okato)
    return Answer([cur])


def _regional_area(federal: int) -> int:
    from rserz_soap.domain.attachment_codes import AREA_TYPES

    return next((c.code for c in AREA_TYPES.values() if c.federal == federal), 1)


# -- §3.8 legal representation -----------------------------------------------------------------------------


def _records(ctx: Ctx, kind: str) -> list[dict[str, Any]]:
    with ctx.engine.connect() as conn:
        rows = conn.execute(
            select(fed_record.c.data).where(fed_record.c.kind == kind).order_by(fed_record.c.record_id)
        ).scalars()
        return [dict(r) for r in rows]


def get_legal_representation(ctx: Ctx, rq: Any) -> Answer:
    """§3.8.1: the person's representatives, and the persons they represent (``isActual``: Д… only)."""
    oip, actual = txt(rq, "oip"), _flag(txt(rq, "isActual"))
    ns = ctx.ns()
    out = []
    for wrapper, mine, other in (
        ("legalRepresentation", "child", "parent"),
        ("legalRepresentationBy", "parent", "child"),
    ):
        items = [
            r
            for r in _records(ctx, "legalrep")
            if r[mine] == oip and (not actual or r["status"].startswith("Д"))
        ]
        if not items:
            continue
        lst = e(None, ns, wrapper)
        for r in items:
            item = e(lst, ns, "legalRepresentationItem")
            e(item, ns, "oip", r[other])
            e(item, ns, "legRepType", r["type"])
            e(item, ns, "legRepDateB", r["date_b"])
            opt(item, ns, "legRepDateE", r.get("date_e"))
            e(item, ns, "status", r["status"])
        out.append(lst)
    return Answer(out)


def find_nrs(ctx: Ctx, rq: Any) -> Answer:
    """§3.9.1: newborns without state registration, by their unconfirmed representative's ЕНП or ОИП."""
    enp, oip = txt(rq, "legalPerson", "enp"), txt(rq, "legalPerson", "oip")
    ns = ctx.ns()
    out = []
    for r in _records(ctx, "nr"):
        if (enp and r.get("legal_enp") != enp) or (oip and r.get("legal_oip") != oip):
            continue
        item = e(None, ns, "NR")
        e(item, ns, "oip", r["oip"])
        e(item, ns, "surnameEstim", r["surname"])
        e(item, ns, "gender", r["gender"])
        opt(item, ns, "birthday", r.get("birthday"))
        legal = e(item, ns, "legalPerson")
        opt(legal, ns, "oip", r.get("legal_oip"))
        opt(legal, ns, "enp", r.get("legal_enp"))
        out.append(item)
    return Answer(out)


# -- §3.7, §3.9 НИЛ and НР ----------------------------------------------------------------------------------


def _empty_page(ctx: Ctx, rq: Any, wrapper: str | None) -> Answer:
    return Answer()


def make_nil_ident_decision(ctx: Ctx, rq: Any) -> Answer:
    """§3.7.3: the decision is a signed ``data`` document (``makeNilIdentDecisionRequestData/rq`` → ``nlr``,
    ``decision``); the stand records nothing (it holds no НИЛ) and answers the decision as taken today."""
    try:
        inner = etree.fromstring(
            base64.b64decode(txt(rq, "data") or ""),
            parser=etree.XMLParser(resolve_entities=False, no_network=True),
        )
    except (etree.XMLSyntaxError, ValueError):
        inner = etree.Element("none")
    nil = e(None, ctx.ns(), "nil")
    e(nil, ctx.ns(), "nlr", txt(inner, "rq", "nlr") or "")
    e(nil, ctx.ns(), "decision", txt(inner, "rq", "decision") or "")
    e(nil, ctx.ns(), "decisionDate", dt.date.today())
    return Answer([nil])


def find_nils(ctx: Ctx, rq: Any) -> Answer:
    """§3.7.1: the НИЛ an МО registered (by ``nil/moCode``), paged."""
    mo = txt(rq, "nil", "moCode")
    ns = ctx.ns()
    found = [r for r in _records(ctx, "nil") if not mo or r["mo_code"] == mo]
    page = int(txt(rq, "pagination", "pageNumber") or 1)
    size = int(txt(rq, "pagination", "itemPerPage") or PAGE)
    out = []
    window = found[(page - 1) * size : page * size]
    if window:
        lst = e(None, ns, "nil")
        for r in window:
            item = e(lst, ns, "nil")
            for name in ("oip", "nlr", "fioEstim", "birthDay", "gender", "dateKhodat"):
                e(item, ns, name, r[name])
            opt(item, ns, "decision", r.get("decision"))
            e(item, ns, "moCode", r["mo_code"])
            e(item, ns, "moOkato", r.get("mo_okato", ctx.region_okato))
        out.append(lst)
    pagination = e(None, ns, "pagination")
    e(pagination, ctx.com, "pageNumber", page)
    e(pagination, ctx.com, "itemPerPage", size)
    e(pagination, ctx.com, "count", len(found))
    return Answer([*out, pagination])


# -- §3.2 asynchronous operations ---------------------------------------------------------------------------

Compute = Callable[[Engine, Mapping[str, Any]], tuple[dict[str, Any] | None, bytes | None]]


def _start(ctx: Ctx, method: str, params: dict[str, Any], compute: Compute) -> Answer:
    token = uuid.uuid4().hex
    with ctx.engine.begin() as conn:
        conn.execute(
            insert(fed_operation).values(op_token=token, method=method, params=params, state="QUEUED")
        )
    EXECUTOR.submit(_run, ctx.engine, token, compute)
    return Answer([e(None, ctx.com, "opToken", token)])


def _run(engine: Engine, token: str, compute: Compute) -> None:
    o = fed_operation.c
    try:
        with engine.begin() as conn:
            params = conn.execute(
                update(fed_operation)
                .where(o.op_token == token, o.state == "QUEUED")
                .values(state="RUNNING")
                .returning(o.params)
            ).scalar()
        if params is None:
            return
        result, content = compute(engine, params)
        with engine.begin() as conn:
            conn.execute(
                update(fed_operation)
                .where(o.op_token == token)
                .values(state="COMPLETED", result=result, content=content)
            )
    except Exception as exc:
        log.exception("ФЕРЗЛ operation %s failed", token)
        with engine.begin() as conn:
            conn.execute(
                update(fed_operation).where(o.op_token == token).values(state="FAILED", error=str(exc)[:500])
            )


def _poll(ctx: Ctx, rq: Any, method: str) -> tuple[Any, str, dict[str, Any] | None, bytes | None]:
    token = txt(rq, "opToken") or ""
    with ctx.engine.connect() as conn:
        row = conn.execute(select(fed_operation).where(fed_operation.c.op_token == token)).first()
    if row is None or row.method != method:
        raise MpiError("409.2.1", f"no {method} operation with this opToken", tag="opToken", value=token)
    if row.state == "FAILED":
        raise MpiError("500.2.2", f"the operation failed: {row.error}", tag="opToken", value=token, http=409)
    state = "COMPLETED" if row.state == "COMPLETED" else "IN_PROGRESS"
    return token, state, row.result, row.content


def _poll_head(ctx: Ctx, token: str, state: str) -> list[Any]:
    return [e(None, ctx.com, "opToken", token), e(None, ctx.com, "processingStatus", state)]


def _events_compute(engine: Engine, params: Mapping[str, Any]) -> tuple[dict[str, Any] | None, bytes | None]:
    ev = fed_event.c
    where = [
        ev.region == params["region"],
        ev.dt >= dt.datetime.fromisoformat(params["from"]),
        ev.dt < dt.datetime.fromisoformat(params["to"]),
    ]
    if params.get("smo"):
        where.append(ev.smo == params["smo"])
    if params.get("events"):
        where.append(ev.event.in_(params["events"]))
    with engine.connect() as conn:
        rows = conn.execute(select(ev.enp, ev.oip, ev.event, ev.dt).where(*where).order_by(ev.event_id)).all()
    items = [[r.enp, r.oip, r.event, r.dt.isoformat()] for r in rows]
    return {"events": items}, None


def _window(ctx: Ctx, rq: Any) -> dict[str, Any]:
    start, end = day(rq, "dtFrom"), day(rq, "dtTo")
    assert start is not None and end is not None
    if end < start:
        raise MpiError("409.2.3", "dtTo is before dtFrom", tag="dtTo")
    if (end - start).days > 30:
        raise MpiError("409.2.4", "the period is longer than 30 days (§3.2.3)", tag="dtTo")
    terr = txt(rq, "terr")
    if terr != ctx.region_okato:
        raise MpiError("403.2.5", f"terr {terr} is not the caller's territory", tag="terr", value=terr)
    return {
        "region": ctx.region_code,
        "from": dt.datetime.combine(start, dt.time(), tzinfo=dt.UTC).isoformat(),
        "to": dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC).isoformat(),
        "smo": txt(rq, "smo"),
    }


def get_changes_event_start(ctx: Ctx, rq: Any) -> Answer:
    params = _window(ctx, rq)
    params["events"] = [
        (c.text or "").strip() for c in rq if isinstance(c.tag, str) and etree.QName(c).localname == "event"
    ]
    return _start(ctx, "getChangesEvent", params, _events_compute)


def _event_items(ctx: Ctx, items: list[list[Any]]) -> Iterable[tuple[Any, list[Any]]]:
    from rserz_soap.emulators.faults import draw

    for item in items:
        yield item, item
        if draw(ctx.faults.duplicate_rate):
            yield item, item  # a duplicate delivery


def _event_el(parent: Any, ctx: Ctx, ns: str, item: list[Any]) -> None:
    el = e(parent, ns, "enpChangedEvent")
    opt(el, ctx.com, "enp", item[0])
    e(el, ctx.com, "oip", item[1])
    e(el, ctx.com, "event", item[2])
    e(el, ctx.com, "dt", item[3])


def get_changes_event_poll(ctx: Ctx, rq: Any) -> Answer:
    token, state, result, _ = _poll(ctx, rq, "getChangesEvent")
    out = _poll_head(ctx, token, state)
    holder = etree.Element("x")
    for item, _same in _event_items(ctx, (result or {}).get("events", [])):
        _event_el(holder, ctx, ctx.ns(), item)
    return Answer(out + list(holder))


ARRIVED: Final = frozenset({"1П", "ВОССТ", "ОФСМ"})
DEPARTED: Final = frozenset({"СДАЧУТР", "ФСМ", "ОПОМС", "ПРИОСТ"})
CHANGED: Final = frozenset(
    {"ЗСМО", "ПРОДЛЕН", "ЗПБЗСМО", "СДУБЛ", "ЗДАДРС", "ИСПРОШ", "РОШДУБЛ", "ИЗЕРН", "ДИРОПРСМО"}
)


def get_insurance_status_changes_start(ctx: Ctx, rq: Any) -> Answer:
    return _start(ctx, "getInsuranceStatusChanges", _window(ctx, rq), _events_compute)


def get_insurance_status_changes_poll(ctx: Ctx, rq: Any) -> Answer:
    token, state, result, _ = _poll(ctx, rq, "getInsuranceStatusChanges")
    ns = ctx.ns()
    groups = {name: e(None, ns, name) for name in ("enpArrived", "enpDeparted", "enpChanged")}
    for item, _same in _event_items(ctx, (result or {}).get("events", [])):
        code = item[2]
        group = (
            "enpArrived"
            if code in ARRIVED
            else "enpDeparted"
            if code in DEPARTED
            else "enpChanged"
            if code in CHANGED
            else None
        )
        if group is not None:
            _event_el(groups[group], ctx, ns, item)
    return Answer(_poll_head(ctx, token, state) + list(groups.values()))


def _zip(name: str, rows: Iterable[list[Any]]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    for row in rows:
        writer.writerow(["null" if v is None else v for v in row])
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(name, buf.getvalue())
    return out.getvalue()


def _all_current_enp(engine: Engine, params: Mapping[str, Any]) -> tuple[dict[str, Any] | None, bytes | None]:
    p = fed_person.c
    with engine.connect() as conn:
        rows = conn.execute(
            select(p.enp, p.snils)
            .where(p.region == params["region"], p.status.in_(("INSURED",)))
            .order_by(p.enp)
        ).all()
    return None, _zip("allCurrentEnp.csv", ([r.enp, None, r.snils] for r in rows))


def get_all_current_enp_start(ctx: Ctx, rq: Any) -> Answer:
    terr = txt(rq, "terr")
    if terr != ctx.region_okato:
        raise MpiError("403.2.5", f"terr {terr} is not the caller's territory", tag="terr", value=terr)
    return _start(ctx, "getAllCurrentEnp", {"region": ctx.region_code}, _all_current_enp)


def _content_poll(method: str) -> Callable[[Ctx, Any], Answer]:
    def poll(ctx: Ctx, rq: Any) -> Answer:
        token, state, _result, content = _poll(ctx, rq, method)
        return Answer(_poll_head(ctx, token, state), content=content if state == "COMPLETED" else None)

    return poll


#: §3.2.6: the 28 columns of the insurance витрина, from the flat columns of the federal copy
_VIEW_SQL = text(
    "SELECT p.enp, p.policy_type, p.policy_ser, p.policy_num, p.sex, p.birth_date, p.smo, p.policy_okato,"
    " p.doc_ser, p.doc_num, p.doc_date, p.doc_type, p.snils, p.death_date, p.status, o.n"
    " FROM fed_person p LEFT JOIN fed_oip o ON o.enp = p.enp WHERE p.region = :region ORDER BY p.enp"
)


def age_text(birth: dt.date, on: dt.date) -> str:
    """«Возраст» as the витрины write it (``16Г 3М 10Д``)."""
    months = (on.year - birth.year) * 12 + on.month - birth.month - (1 if on.day < birth.day else 0)
    anchor_month = birth.month + months
    anchor = dt.date(birth.year + (anchor_month - 1) // 12, (anchor_month - 1) % 12 + 1, 1)
    days = (on - anchor.replace(day=min(birth.day, 28))).days if on.day < birth.day else on.day - birth.day
    return f"{months // 12}Г {months % 12}М {max(days, 0)}Д"


def _view_insurance(engine: Engine, params: Mapping[str, Any]) -> tuple[dict[str, Any] | None, bytes | None]:
    on = dt.date.fromisoformat(params["on"])
    period = f"{on.month:02d}.{on.year}"
    rows_out = []
    with engine.connect() as conn:
        for r in conn.execute(_VIEW_SQL, {"region": params["region"]}):
            if params.get("smo") and r.smo != params["smo"]:
                continue
            letter = letter_of(r.policy_type) if r.policy_type in (1, 2, 3, 4, 5) else DIGITAL
            policy = (
                f"{r.policy_ser or ''}{r.policy_num or ''}"
                if letter == "С"
                else r.policy_num
                if letter == "В"
                else r.enp
            )
            status = {"DEAD": 0, "INSURED": 1, "MERGED": 2}.get(r.status, 3)
            rows_out.append([
                period, r.enp, letter, policy, r.sex, r.birth_date.year, age_text(r.birth_date, on), "Г",
                r.smo, None, r.policy_okato, r.doc_ser, r.doc_num, r.doc_date, None, r.doc_type, "RUS",
                None, None, None, None, None, None,
                str(OIP_BASE + r.n) if r.n else None, None, r.snils, r.death_date, status,
            ])  # fmt: skip
    return None, _zip("viewDataInsurance.csv", rows_out)


def get_view_data_insurance_start(ctx: Ctx, rq: Any) -> Answer:
    terr = txt(rq, "terr")
    if terr and terr != ctx.region_okato:
        raise MpiError("403.2.5", f"terr {terr} is not the caller's territory", tag="terr", value=terr)
    on = day(rq, "dt") or dt.date.today()
    params = {"region": ctx.region_code, "on": on.isoformat(), "smo": txt(rq, "smo")}
    return _start(ctx, "getViewDataInsurance", params, _view_insurance)


def _empty_zip(name: str) -> Compute:
    def compute(engine: Engine, params: Mapping[str, Any]) -> tuple[dict[str, Any] | None, bytes | None]:
        return None, _zip(name, [])

    return compute


def _simple_start(method: str, compute: Compute) -> Callable[[Ctx, Any], Answer]:
    def start(ctx: Ctx, rq: Any) -> Answer:
        return _start(ctx, method, {"region": ctx.region_code}, compute)

    return start


def _list_poll(method: str) -> Callable[[Ctx, Any], Answer]:
    def poll(ctx: Ctx, rq: Any) -> Answer:
        token, state, _result, _ = _poll(ctx, rq, method)
        return Answer(_poll_head(ctx, token, state))

    return poll


def _nothing(engine: Engine, params: Mapping[str, Any]) -> tuple[dict[str, Any] | None, bytes | None]:
    return {}, None


def mass_appointment_start(ctx: Ctx, rq: Any) -> Answer:
    enps = [
        (c.text or "").strip()
        for c in rq
        if isinstance(c.tag, str) and etree.QName(c).localname == "enpChangeSubmit"
    ]
    return _start(
        ctx,
        "submitMassPolicyAppointment",
        {"enps": enps},
        lambda engine, params: ({"enps": params["enps"]}, None),
    )


def mass_appointment_poll(ctx: Ctx, rq: Any) -> Answer:
    """§3.2.10: one ``submitResult`` per ЕНП; the stand holds no ТФОМС-held policies, so each is refused."""
    token, state, result, _ = _poll(ctx, rq, "submitMassPolicyAppointment")
    out = _poll_head(ctx, token, state)
    ns = ctx.ns()
    for enp in (result or {}).get("enps", []) or [None]:
        item = e(None, ns, "submitResult")
        if enp:
            e(item, ns, "enp", enp)
            err = e(e(item, ns, "errors"), ctx.com, "errorItem")
            e(err, ctx.com, "code", "409.2.9")
            e(err, ctx.com, "message", "the policy is not held by the ТФОМС as an СМО")
        out.append(item)
    return Answer(out)


# -- §3.5 military suspension -------------------------------------------------------------------------------


def suspend_oms_policy_start(ctx: Ctx, rq: Any) -> Answer:
    persons = []
    listed = find(rq, "persons")
    for person in listed if listed is not None else []:
        if not isinstance(person.tag, str):
            continue
        dudl = find(person, "dudl")
        persons.append(
            {
                "oip": txt(person, "oip"),
                "index": txt(person, "localPersonIndex"),
                "dudl": [txt(dudl, "dudlType"), txt(dudl, "dudlSer"), txt(dudl, "dudlNum")],
                "snils": txt(person, "snils"),
                "birth": txt(person, "personInfo", "birthDay"),
                "start": txt(person, "milSvc", "startDate"),
            }
        )
    return _start(ctx, "suspendOmsPolicy", {"region": ctx.region_code, "persons": persons}, _suspend)


def _suspend(engine: Engine, params: Mapping[str, Any]) -> tuple[dict[str, Any] | None, bytes | None]:
    results = []
    for person in params["persons"]:
        with engine.begin() as conn:
            psi = etree.Element("psi")
            if person["oip"]:
                etree.SubElement(psi, "oip").text = person["oip"]
            dudl = etree.SubElement(psi, "dudl")
            for name, value in zip(("dudlType", "dudlSer", "dudlNum"), person["dudl"], strict=True):
                if value:
                    etree.SubElement(dudl, name).text = value
            enp = find_person(conn, psi)
            if enp is None:
                results.append({"index": person["index"], "error": ["409.43.1", "person not found"]})
                continue
            card, version, region = current_card(conn, enp, lock=True) or (None, 0, "")
            assert card is not None
            start = dt.date.fromisoformat(person["start"])
            open_ = card.open_period()
            if open_ is not None:
                periods = [
                    q.stopped(max(q.dbeg, start), StopReason.OTHER) if q is open_ else q
                    for q in card.insurance
                ]
                card = card.with_periods(periods)
            write_person(conn, card.replace(status=Status.SUSPENDED), region, version + 1, "suspendOmsPolicy")
            record_event(conn, enp, region, "ПРИОСТ")
            results.append({"index": person["index"], "oip": oip_of(conn, enp)})
    return {"results": results}, None


def suspend_oms_policy_poll(ctx: Ctx, rq: Any) -> Answer:
    token, state, result, _ = _poll(ctx, rq, "suspendOmsPolicy")
    out = _poll_head(ctx, token, state)
    ns = ctx.ns()
    for r in (result or {}).get("results", []):
        el = e(None, ns, "milPersonResult")
        opt(el, ns, "oip", r.get("oip"))
        e(el, ns, "localPersonIndex", r["index"])
        if r.get("error"):
            item = e(e(el, ns, "errors"), ctx.com, "errorItem")
            e(item, ctx.com, "code", r["error"][0])
            e(item, ctx.com, "message", r["error"][1])
        out.append(el)
    return Answer(out)


# -- the stand's own changes (control API) -----------------------------------------------------------------


def apply_event(engine: Engine, enp: str, code: str, values: Mapping[str, Any]) -> int | None:
    """What the federal register learnt elsewhere (ЗАГС, ФНС, another region) as one of §5's events:
    the card changed accordingly and the event recorded. None when the ЕНП is unknown."""
    with engine.begin() as conn:
        current = current_card(conn, enp, lock=True)
        if current is None:
            return None
        card, version, region = current
        today = dt.date.fromisoformat(str(values.get("date") or dt.date.today().isoformat()))
        data = card.data
        names = {k: values[k] for k in ("fam", "im", "ot", "ss") if k in values}
        if names:
            data = dataclasses.replace(data, **names)
        if code == "РАБ" and data.kateg in (6, 7, 8, 9, 10, 12):
            data = dataclasses.replace(data, kateg=data.kateg - 5 if data.kateg != 12 else 11)
        if code == "НЕРАБ" and data.kateg in (1, 2, 3, 4, 5, 11):
            data = dataclasses.replace(data, kateg=data.kateg + 5 if data.kateg != 11 else 12)
        card = card.replace(data=data)
        open_ = card.open_period()
        if code == "ФСМ":
            death = dt.date.fromisoformat(str(values["ddeath"]))
            card = card.replace(status=Status.DEAD, ddeath=death).with_periods(
                [q.stopped(death, StopReason.DEATH) if q is open_ else q for q in card.insurance]
            )
        elif code == "ОФСМ":
            last = max(card.insurance, key=lambda q: q.dbeg) if card.insurance else None
            periods = [
                dataclasses.replace(q, dstop=None, stop_reason=None) if q is last else q
                for q in card.insurance
            ]
            card = card.replace(status=Status.INSURED, ddeath=None).with_periods(periods)
        elif code in ("ПРИОСТ", "СДАЧУТР") and open_ is not None:
            card = card.replace(status=Status.SUSPENDED).with_periods(
                [q.stopped(today, StopReason.OTHER) if q is open_ else q for q in card.insurance]
            )
        elif code in ("ВОССТ", "ДИРОПРСМО", "ЗСМО") or values.get("smo"):
            smo = str(values.get("smo") or (open_.smo_code if open_ else latest_policy(card).smo_code))  # type: ignore[union-attr]
            periods = [
                q.stopped(max(q.dbeg, today - dt.timedelta(days=1)), StopReason.REISSUED) if q is open_ else q
                for q in card.insurance
            ]
            template = open_ or latest_policy(card)
            periods.append(
                InsurancePeriod(
                    smo_code=smo,
                    ter_st=template.ter_st if template else "45000",
                    enp=enp,
                    vpolis=f008_of(DIGITAL),
                    npolis=enp,
                    dbeg=today,
                )
            )
            card = card.with_periods(periods).replace(status=Status.INSURED)
        write_person(conn, card, region, version + 1, f"event:{code}")
        return record_event(conn, enp, region, code, values.get("smo"))


def birth(engine: Engine, region: str, okato: str, values: Mapping[str, Any]) -> str:
    """A birth ЗАГС reported (1П): a new person insured by the СМО named (or ТФОМС-held), ЕНП formed."""
    with engine.begin() as conn:
        dr = dt.date.fromisoformat(str(values["dr"]))
        w = int(values["w"])
        enp = _new_enp(conn, region, dr, w)
        data = PersonData(
            fam=str(values["fam"]), im=str(values["im"]), ot=values.get("ot"), w=w, dr=dr, kateg=6
        )
        docs = (
            frozenset({Document(3, values.get("docser"), str(values["docnum"]), docdate=dr)})
            if values.get("docnum")
            else frozenset()
        )
        period = InsurancePeriod(
            smo_code=str(values.get("smo") or "45001"),
            ter_st=okato,
            enp=enp,
            vpolis=f008_of(DIGITAL),
            npolis=enp,
            dbeg=dt.date.fromisoformat(str(values.get("date") or dt.date.today().isoformat())),
        )
        card = PersonCard(
            data=data, status=Status.INSURED, documents=docs, insurance=frozenset({period}), enp=enp
        )
        write_person(conn, card, region, 1, "event:1П")
        record_event(conn, enp, region, "1П", period.smo_code)
    return enp


def known_event(code: str) -> bool:
    return code in EVENTS


METHODS: Final[dict[str, Callable[[Ctx, Any], Answer]]] = {
    "getInsuranceStatus": get_insurance_status,
    "getPersonData": get_person_data,
    "getPersonDataHistory": get_person_data,
    "findPersonsByPersCriteria": find_persons_by_pers_criteria,
    "getMergeAncessorOip": get_merge_ancessor_oip,
    "getAllCurrentEnpStart": get_all_current_enp_start,
    "getAllCurrentEnpPoll": _content_poll("getAllCurrentEnp"),
    "getInsuranceStatusChangesStart": get_insurance_status_changes_start,
    "getInsuranceStatusChangesPoll": get_insurance_status_changes_poll,
    "getViewDataInsuranceStart": get_view_data_insurance_start,
    "getViewDataInsurancePoll": _content_poll("getViewDataInsurance"),
    "getViewDataAttachStart": _simple_start("getViewDataAttach", _empty_zip("viewDataAttach.csv")),
    "getViewDataAttachPoll": _content_poll("getViewDataAttach"),
    "submitMassPolicyAppointmentStart": mass_appointment_start,
    "submitMassPolicyAppointmentPoll": mass_appointment_poll,
    "changeAllPoliciesInsuranceToTfomsStart": _simple_start("changeAllPoliciesInsuranceToTfoms", _nothing),
    "changeAllPoliciesInsuranceToTfomsPoll": _list_poll("changeAllPoliciesInsuranceToTfoms"),
    "getChangesEventStart": get_changes_event_start,
    "getChangesEventPoll": get_changes_event_poll,
    "findPersonsByTerrSmoStart": _simple_start(
        "findPersonsByTerrSmo", _empty_zip("findPersonsByTerrSmo.xml")
    ),
    "findPersonsByTerrSmoPoll": _content_poll("findPersonsByTerrSmo"),
    "getViewDataSocStatusStart": _simple_start("getViewDataSocStatus", _empty_zip("viewDataSocStatus.csv")),
    "getViewDataSocStatusPoll": _content_poll("getViewDataSocStatus"),
    "getMassInsuranceStatusStart": _simple_start(
        "getMassInsuranceStatus", _empty_zip("massInsuranceStatus.xml")
    ),
    "getMassInsuranceStatusPoll": _content_poll("getMassInsuranceStatus"),
    "getInsuredUnassignedStart": _simple_start("getInsuredUnassigned", _empty_zip("insuredUnassigned.csv")),
    "getInsuredUnassignedPoll": _content_poll("getInsuredUnassigned"),
    "submitPolicyApplication": submit_policy_application,
    "submitPolicyApplicationWithSign": submit_policy_application_with_sign,
    "registerAttach": register_attach,
    "suspendOmsPolicyStart": suspend_oms_policy_start,
    "suspendOmsPolicyPoll": suspend_oms_policy_poll,
    "registerSnils": register_snils,
    "registerAddress": register_address,
    "registerDudl": register_dudl,
    "findNils": find_nils,
    "getNilsData": lambda ctx, rq: Answer(),
    "makeNilIdentDecision": make_nil_ident_decision,
    "getLegalRepresentation": get_legal_representation,
    "findNRs": find_nrs,
    "getNRData": lambda ctx, rq: Answer(),
}
