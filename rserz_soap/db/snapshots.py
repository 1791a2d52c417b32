"""Who was insured on a date, from history (domain.md §10): the query behind snapshots and getSnapshot.

A person counts on D when an insurance period has DBEG ≤ D, is not stopped on or before D, has not
ended before D, the person was not dead on D and not suspended. Read from current rows (valid time as
known now).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Connection, text

from rserz_soap.domain.snapshot import InsuredRow

_BASE = (
    " FROM insurance_period i JOIN person p ON p.id = i.person_id"
    " JOIN person_data d ON d.person_id = i.person_id AND d.superseded_at IS NULL AND d.valid_to IS NULL"
    " WHERE i.superseded_at IS NULL AND i.dbeg <= :d AND (i.dstop IS NULL OR i.dstop > :d)"
    " AND (i.dend IS NULL OR i.dend >= :d) AND (d.ddeath IS NULL OR d.ddeath > :d) AND d.status <> 'suspended'"
    " AND p.merged_into IS NULL"
)


class Snapshots:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def insured_on(
        self,
        day: date,
        *,
        smo: str | None = None,
        mo: str | None = None,
        page: int = 1,
        page_size: int = 100,
    ) -> tuple[int, list[InsuredRow]]:
        """Persons insured on ``day`` (optionally of one СМО, or attached to one МО), paged by person id."""
        where = ""
        params: dict[str, object] = {"d": day, "lim": page_size, "off": (page - 1) * page_size}
        if smo is not None:
            where += " AND i.smo_code = :smo"
            params["smo"] = smo
        if mo is not None:
            where += (
                " AND EXISTS (SELECT 1 FROM attachment a WHERE a.person_id = i.person_id AND a.superseded_at IS NULL"
                " AND a.mo_code = :mo AND a.date_in <= :d AND (a.date_out IS NULL OR a.date_out > :d))"
            )
            params["mo"] = mo
        total = self._conn.execute(
            text("SELECT count(DISTINCT i.person_id)" + _BASE + where), params
        ).scalar_one()
        rows = self._conn.execute(
            text(
                "SELECT DISTINCT ON (i.person_id) i.person_id, p.main_enp, d.fam, d.im, d.ot, d.dr, d.w, i.smo_code,"
                " i.vpolis, i.spolis, i.npolis, i.dbeg, i.dend,"
                " (SELECT string_agg(a.mo_code, ' ' ORDER BY a.area_type) FROM attachment a WHERE a.person_id = i.person_id"
                " AND a.superseded_at IS NULL AND a.date_in <= :d AND (a.date_out IS NULL OR a.date_out > :d)) AS mo_codes"
                + _BASE
                + where
                + " ORDER BY i.person_id, i.dbeg DESC LIMIT :lim OFFSET :off"
            ),
            params,
        ).all()
        return int(total), [
            InsuredRow(
                r.person_id,
                r.main_enp,
                r.fam,
                r.im,
                r.ot,
                r.dr,
                r.w,
                r.smo_code,
                r.vpolis,
                r.spolis,
                r.npolis,
                r.dbeg,
                r.dend,
                tuple((r.mo_codes or "").split()),
            )
            for r in rows
        ]
