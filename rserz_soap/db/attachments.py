"""Attachments read across persons: where the one-per-area-type rule arrived broken."""

from __future__ import annotations

import dataclasses
from collections import defaultdict

from sqlalchemy import Connection, and_, func, select

from rserz_soap.db.tables import attachment
from rserz_soap.domain.person import Attachment


class Attachments:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def doubles(self) -> dict[tuple[int, int], list[Attachment]]:
        """(person, area type) → its open attachments, where there is more than one (oldest first)."""
        a = attachment
        open_now = and_(a.c.superseded_at.is_(None), a.c.date_out.is_(None))
        doubles = (
            select(a.c.person_id, a.c.area_type)
            .where(open_now)
            .group_by(a.c.person_id, a.c.area_type)
            .having(func.count() > 1)
            .subquery("doubles")
        )
        fields = [f.name for f in dataclasses.fields(Attachment)]
        rows = self._conn.execute(
            select(*(a.c[f] for f in fields), a.c.person_id)
            .join(doubles, and_(doubles.c.person_id == a.c.person_id, doubles.c.area_type == a.c.area_type))
            .where(open_now)
            .order_by(a.c.person_id, a.c.area_type, a.c.date_in, a.c.id)
        ).mappings()
        grouped: dict[tuple[int, int], list[Attachment]] = defaultdict(list)
        for row in rows:
            value = Attachment(**{f: row[f] for f in fields})
            grouped[(int(row["person_id"]), value.area_type)].append(value)
        return dict(grouped)
