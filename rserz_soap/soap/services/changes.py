"""/soap/changes (СМО, МО, ИСЗЛ): getChanges, listSnapshots, getSnapshot."""

from __future__ import annotations

from datetime import date
from typing import Any

from rserz_soap.soap import xml
from rserz_soap.soap.server import Operation, Request, Service
from rserz_soap.usecases import changes, snapshots

NS = xml.NS["chg"]
READERS = frozenset({"smo", "mo", "iszl", "tfoms"})


def get_changes(req: Request) -> Any:
    after = xml.child_int(req.element, "AFTER_SEQ", 0)
    limit = xml.child_int(req.element, "LIMIT", 1000)
    p = req.caller.participant
    found = changes.changes(req.hub.db.unit_of_work(), after, limit, kind=p.kind, code=p.code)
    entries = found.entries
    req.disclose(e.person_id for e in entries)
    out = xml.element(NS, "getChangesResponse")
    b = xml.Builder(out, NS)
    xml.result(b, 0 if entries else 1, "Выполнено" if entries else "Новых изменений нет")
    for e in entries:
        c = xml.Builder(b.add("CHANGE"), NS)
        c.add("SEQ", e.feed_seq)
        c.add("ENP", e.enp)
        c.add("OPERATION", e.operation)
        c.add("DATE", e.valid_from)
        c.add("RECORDED_AT", e.recorded_at.isoformat())
        c.opt("SMOCOD", e.smo_code)
        for mo in e.mo_codes:
            c.add("MO", mo)
    b.add("NEXT_SEQ", found.next_seq)
    b.add("MORE", found.more)
    return out


def list_snapshots(req: Request) -> Any:
    el = req.element
    found = snapshots.published(
        req.hub.db.reading(), xml.child_date(el, "DATE_FROM"), xml.child_date(el, "DATE_TO")
    )
    out = xml.element(NS, "listSnapshotsResponse")
    b = xml.Builder(out, NS)
    xml.result(b, 0 if found else 1, "Выполнено" if found else "Опубликованных срезов за период нет")
    for info in found:
        s = xml.Builder(b.add("SNAPSHOT"), NS)
        s.add("DATE", info.day)
        s.add("STATUS", info.state)
        s.opt("PUBLISHED_AT", info.published_at.isoformat() if info.published_at else None)
        s.add("TOTAL", info.persons)
        s.add("VISIBLE", snapshots.visible(info, req.submitter))
        for smo, total in sorted(info.counts.get("smo", {}).items()):
            t = xml.Builder(s.add("SMO"), NS)
            t.add("SMOCOD", smo)
            t.add("TOTAL", total)
    return out


def get_snapshot(req: Request) -> Any:
    el = req.element
    day = xml.child_date(el, "DATE") or date.today()
    page, size = xml.child_int(el, "PAGE", 1), xml.child_int(el, "PAGE_SIZE", 1000)
    found = snapshots.page(req.hub.db.reading(), day, req.submitter, page=page, page_size=size)
    out = xml.element(NS, "getSnapshotResponse")
    b = xml.Builder(out, NS)
    if found is None:
        xml.result(b, 1, "Срез на эту дату не опубликован")
        total, rows = 0, []
    else:
        xml.result(b, 0 if found.total else 1, "Выполнено" if found.total else "Застрахованных в срезе нет")
        total, rows = found.total, found.rows
    req.disclose(r.person_id for r in rows)
    b.add("DATE", day)
    b.add("TOTAL", total)
    b.add("PAGE", page)
    b.add("PAGE_SIZE", size)
    for r in rows:
        z = xml.Builder(b.add("ZL"), NS)
        z.add("ENP", r.enp)
        z.opt("FAM", r.fam)
        z.opt("IM", r.im)
        z.opt("OT", r.ot)
        z.add("DR", r.dr)
        z.add("W", r.w)
        z.add("SMOCOD", r.smo_code)
        pol = xml.Builder(z.add("POLIS"), xml.COMMON_NS)
        pol.add("VPOLIS", r.vpolis)
        pol.opt("SPOLIS", r.spolis)
        pol.add("NPOLIS", r.npolis)
        pol.add("DBEG", r.dbeg)
        pol.opt("DEND", r.dend)
        for mo in r.mo_codes:
            z.add("MO", mo)
    return out


SERVICE = Service(
    "changes",
    NS,
    {
        "getChanges": Operation(get_changes, READERS),
        "listSnapshots": Operation(list_snapshots, READERS),
        "getSnapshot": Operation(get_snapshot, READERS),
    },
)
