"""published snapshots stored one partition per snapshot

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05

``snapshot_row`` and ``snapshot_mo`` become tables partitioned by ``LIST (snapshot_id)``: a snapshot is
built into tables of its own (``snapshot_row_<id>``, ``snapshot_mo_<id>``) with no index and no
foreign-key trigger per row, indexed in one sorted pass and attached — the foreign key to ``snapshot`` is
then checked once, by one query, instead of by a trigger on each of a million rows (issue 15: a 1M
snapshot stored and exported in ≤ 30 s). Reading a snapshot touches only its own partition.

Rows already published are moved into partitions of their own; nothing in them changes.
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import text

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_ROW_COLUMNS = (
    "snapshot_id, enp, person_id, fam, im, ot, dr, w, smo_code, vpolis, spolis, npolis, dbeg, dend, mo_codes"
)


def _create(partitioned: bool) -> None:
    by = " PARTITION BY LIST (snapshot_id)" if partitioned else ""
    op.execute(
        f"""
        CREATE TABLE snapshot_row (
          snapshot_id integer NOT NULL, enp varchar(16) NOT NULL, person_id bigint NOT NULL,
          fam varchar(40) NOT NULL, im varchar(40) NOT NULL, ot varchar(40), dr date NOT NULL,
          w smallint NOT NULL, smo_code varchar(5) NOT NULL, vpolis smallint NOT NULL, spolis varchar(10),
          npolis varchar(20) NOT NULL, dbeg date NOT NULL, dend date, mo_codes text,
          CONSTRAINT pk_snapshot_row PRIMARY KEY (snapshot_id, enp),
          CONSTRAINT fk_snapshot_row_snapshot_id_snapshot FOREIGN KEY (snapshot_id) REFERENCES snapshot (id)
        ){by}
        """
    )
    op.execute("CREATE INDEX ix_snapshot_row_smo ON snapshot_row (snapshot_id, smo_code, enp)")
    op.execute("COMMENT ON COLUMN snapshot_row.enp IS 'rows are read in ЕНП order'")
    op.execute("COMMENT ON COLUMN snapshot_row.mo_codes IS 'attached МО on the day, space-separated'")
    op.execute(
        f"""
        CREATE TABLE snapshot_mo (
          snapshot_id integer NOT NULL, mo_code varchar(6) NOT NULL, enp varchar(16) NOT NULL,
          CONSTRAINT pk_snapshot_mo PRIMARY KEY (snapshot_id, mo_code, enp),
          CONSTRAINT fk_snapshot_mo_snapshot_id_snapshot FOREIGN KEY (snapshot_id) REFERENCES snapshot (id)
        ){by}
        """
    )
    op.execute(
        "COMMENT ON TABLE snapshot_mo IS 'a snapshot''s persons by attached МО (an МО reads its own page by page)'"
    )


def _move(into_partitions: bool) -> None:
    """Carry the rows of ``snapshot_row_old``/``snapshot_mo_old`` into the new tables, then drop the old."""
    conn = op.get_bind()
    ids = list(conn.execute(text("SELECT DISTINCT snapshot_id FROM snapshot_row_old ORDER BY 1")).scalars())
    ids += [
        i
        for i in conn.execute(text("SELECT DISTINCT snapshot_id FROM snapshot_mo_old ORDER BY 1")).scalars()
        if i not in ids
    ]
    if into_partitions:
        for sid in ids:
            for table in ("snapshot_row", "snapshot_mo"):
                op.execute(f"CREATE TABLE {table}_{int(sid)} PARTITION OF {table} FOR VALUES IN ({int(sid)})")
    op.execute(f"INSERT INTO snapshot_row ({_ROW_COLUMNS}) SELECT {_ROW_COLUMNS} FROM snapshot_row_old")
    op.execute("INSERT INTO snapshot_mo (snapshot_id, mo_code, enp) SELECT snapshot_id, mo_code, enp FROM snapshot_mo_old")
    op.execute("DROP TABLE snapshot_row_old")
    op.execute("DROP TABLE snapshot_mo_old")


def _set_aside() -> None:
    for table in ("snapshot_row", "snapshot_mo"):
        op.execute(f"ALTER TABLE {table} RENAME TO {table}_old")
        op.execute(f"ALTER TABLE {table}_old RENAME CONSTRAINT pk_{table} TO pk_{table}_old")
        op.execute(f"ALTER TABLE {table}_old RENAME CONSTRAINT fk_{table}_snapshot_id_snapshot TO fk_{table}_old")
    op.execute("ALTER INDEX ix_snapshot_row_smo RENAME TO ix_snapshot_row_smo_old")


def upgrade() -> None:
    _set_aside()
    _create(partitioned=True)
    _move(into_partitions=True)


def downgrade() -> None:
    _set_aside()
    _create(partitioned=False)
    _move(into_partitions=False)
