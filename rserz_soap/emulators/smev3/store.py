"""The СМЭВ 3 emulator's own database (``<hub database>_smev``): queues, population, ground truth, faults.

* ``mx_message`` — every message sent through the emulator, a queue row per recipient: the sender's
  data element and signature exactly as sent, the selector fields (namespace and root of the content),
  and the delivery state ``queued`` → ``delivered`` → ``acked``. A delivered message not acknowledged
  within the redelivery interval is delivered again.
* ``mx_person`` — the population the providers answer from: the demo region's persons (same generator,
  reference, size and seed as the hub's, so they match), each with the СНИЛС СФР holds, plus planted
  twins (another person with the same name and birth date).
* ``mx_planted`` — the ground truth of what ЗАГС told: every planted death, ambiguous death,
  cancellation and birth, so tests compare the register with it.
* ``mx_fault`` — the fault switches (one row).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Engine,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from rserz_soap.emulators.store import database_url, switches_table

__all__ = [
    "DATABASE_SUFFIX",
    "create_schema",
    "metadata",
    "mx_fault",
    "mx_message",
    "mx_person",
    "mx_planted",
    "smev_database_url",
]

DATABASE_SUFFIX = "_smev"

metadata = MetaData()

mx_message = Table(
    "mx_message",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("message_id", Text, nullable=False, unique=True),
    Column("version", Text, nullable=False),
    Column("kind", Text, nullable=False),  # request | response
    Column("sender", Text, nullable=False),
    Column("recipient", Text, nullable=False),
    Column("namespace_uri", Text, nullable=False),
    Column("root", Text, nullable=False),
    Column("original_message_id", Text),  # responses: the request answered
    Column("reply_to", Text),  # requests: where the answer goes
    Column("data_xml", Text, nullable=False),
    Column("signature_xml", Text),
    Column("state", Text, nullable=False, server_default=text("'queued'")),
    Column("deliveries", Integer, nullable=False, server_default=text("0")),
    Column("duplicated", Boolean, nullable=False, server_default=text("false")),
    Column("sent_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("delivered_at", DateTime(timezone=True)),
    Column("acked_at", DateTime(timezone=True)),
)
Index("mx_message_queue", mx_message.c.recipient, mx_message.c.kind, mx_message.c.state, mx_message.c.id)

mx_person = Table(
    "mx_person",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("idx", Integer, nullable=False),  # the demo generator's index (twins share it)
    Column("enp", Text),
    Column("fam", Text, nullable=False),
    Column("im", Text, nullable=False),
    Column("ot", Text),
    Column("w", SmallInteger, nullable=False),
    Column("dr", Date, nullable=False),
    Column("snils", Text, nullable=False),
    Column("doctype", Integer),
    Column("docser", Text),
    Column("docnum", Text),
    Column("alive", Boolean, nullable=False),  # insured and alive in the region: may die
    Column("twin", Boolean, nullable=False, server_default=text("false")),
)
Index("mx_person_fio", mx_person.c.fam, mx_person.c.im, mx_person.c.dr)
Index("mx_person_idx", mx_person.c.idx)

mx_planted = Table(
    "mx_planted",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("kind", Text, nullable=False),  # death | ambiguous | cancelled | birth
    Column("enp", Text),  # the person who died (deaths)
    Column("act_number", Text, nullable=False),
    Column("act_date", Date, nullable=False),
    Column("ddeath", Date),
    Column("message_id", Text, nullable=False),
    Column("cancel_message_id", Text),
    Column("child", JSONB),  # births: the child as ЗАГС wrote it
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

mx_fault = switches_table("mx_fault", metadata)


def smev_database_url(hub_database_url: str) -> str:
    """The emulator's database: the hub's server, the hub's database name plus ``_smev``."""
    return database_url(hub_database_url, DATABASE_SUFFIX)


def create_schema(engine: Engine) -> None:
    metadata.create_all(engine)


def relax_durability(engine: Engine) -> None:
    """A stand-in's queues need not survive a power cut: commits without waiting for the disk (the
    emulator answers several times faster on a busy machine). Never for the hub's own database."""
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _off(dbapi_connection: Any, _record: Any) -> None:
        with dbapi_connection.cursor() as cur:
            cur.execute("SET synchronous_commit TO off")
        dbapi_connection.commit()
