"""The ФЕРЗЛ emulator's own database: the federal copy of the persons, its history, events and operations.

The emulator stands for a system outside the region, so it keeps its data in a database of its own on
the hub's PostgreSQL server (``<hub database>_ferzl``) and never touches the hub's tables. The schema is
created with ``metadata.create_all`` — a stand-in needs no migrations; drop the database to start over.

``fed_person`` holds each person's current card twice: whole (``card``, the codec's JSON of a
``PersonCard``) for the operations that answer the full person, and flattened (name, main document,
latest policy) for the search keys and for the витрины, which read a region without decoding its cards.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    Engine,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    Table,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB

from rserz_soap.emulators.store import database_url, switches_table

__all__ = [
    "DATABASE_SUFFIX",
    "create_schema",
    "fed_answer",
    "fed_event",
    "fed_fault",
    "fed_oip",
    "fed_operation",
    "fed_person",
    "fed_person_version",
    "fed_planted",
    "fed_record",
    "ferzl_database_url",
    "metadata",
]

DATABASE_SUFFIX = "_ferzl"

metadata = MetaData()

#: The current state of every person the federal register knows, flat columns beside the whole card.
fed_person = Table(
    "fed_person",
    metadata,
    Column("enp", Text, primary_key=True),
    Column("region", Text, nullable=False),
    Column("status", Text, nullable=False),  # the federal status: INSURED, NOT_INSURED, DEAD, MERGED
    Column("fam", Text),
    Column("im", Text),
    Column("ot", Text),
    Column("sex", SmallInteger, nullable=False),
    Column("birth_date", Date, nullable=False),
    Column("birth_place", Text),
    Column("snils", Text),
    Column("death_date", Date),
    # the main document
    Column("doc_type", Integer),
    Column("doc_ser", Text),
    Column("doc_num", Text),
    Column("doc_date", Date),
    Column("doc_issuer", Text),
    # the latest policy (greatest date of beginning)
    Column("smo", Text),
    Column("policy_type", SmallInteger),
    Column("policy_ser", Text),
    Column("policy_num", Text),
    Column("policy_begin", Date),
    Column("policy_date_end", Date),
    Column("policy_date_stop", Date),
    Column("policy_stop_reason", SmallInteger),
    Column("policy_okato", Text),
    Column("policy_end", Date),  # the earlier of policy_date_end and policy_date_stop
    Column("card", JSONB, nullable=False),
    Column("version_no", Integer, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
Index("fed_person_snils", fed_person.c.snils)
Index("fed_person_document", fed_person.c.doc_type, fed_person.c.doc_num, fed_person.c.doc_ser)
Index("fed_person_fio", func.lower(fed_person.c.fam), fed_person.c.birth_date)
Index("fed_person_policy", fed_person.c.policy_num)
Index("fed_person_region_enp", fed_person.c.region, fed_person.c.enp)
#: what the current row's columns do not hold — an ЕНП or number of an earlier policy, an earlier document —
#: is looked up by containment in the card (``find_person``): without it each such lookup reads every card
Index("fed_person_card", fed_person.c.card, postgresql_using="gin", postgresql_ops={"card": "jsonb_path_ops"})

#: Every version of a person the federal register recorded (version 1 = the seeded state).
fed_person_version = Table(
    "fed_person_version",
    metadata,
    Column("enp", Text, primary_key=True),
    Column("version_no", Integer, primary_key=True),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("source", Text, nullable=False),
    Column("card", JSONB, nullable=False),
)


#: The ground truth: every divergence planted by the seed.
fed_planted = Table(
    "fed_planted",
    metadata,
    Column("index", Integer, primary_key=True),
    Column("enp", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("field", Text),
    Column("regional", Text),
    Column("federal", Text),
)

#: The fault switches (``faults.py``).
fed_fault = switches_table("fed_fault", metadata)


#: ОИП (the federal person id, 12 digits, §1 ``Oip``) of each ЕНП, assigned the first time it is asked for.
fed_oip = Table(
    "fed_oip",
    metadata,
    Column("n", BigInteger, primary_key=True, autoincrement=True),
    Column("enp", Text, nullable=False, unique=True),
)

#: Events that changed a person (§5), as getChangesEvent and getInsuranceStatusChanges deliver them.
fed_event = Table(
    "fed_event",
    metadata,
    Column("event_id", BigInteger, primary_key=True, autoincrement=True),
    Column("enp", Text),
    Column("oip", Text, nullable=False),
    Column("region", Text, nullable=False),
    Column("smo", Text),
    Column("event", Text, nullable=False),
    Column("dt", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
Index("fed_event_region_dt", fed_event.c.region, fed_event.c.dt)

#: Asynchronous operations (§1.2): Start stores the request, a background thread the result, Poll reads it.
fed_operation = Table(
    "fed_operation",
    metadata,
    Column("op_token", Text, primary_key=True),
    Column("method", Text, nullable=False),
    Column("params", JSONB, nullable=False),
    Column("state", Text, nullable=False),  # QUEUED RUNNING COMPLETED FAILED
    Column("result", JSONB),
    Column("content", LargeBinary),
    Column("error", Text),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

#: НИЛ (§3.7), НР (§3.9) and legal representations (§3.8) the stand holds (set through its control API).
fed_record = Table(
    "fed_record",
    metadata,
    Column("record_id", BigInteger, primary_key=True, autoincrement=True),
    Column("kind", Text, nullable=False),  # nil, nr, legalrep
    Column("data", JSONB, nullable=False),
)

#: The first answer to every write, once per externalRequestId: a repeat gets it again.
fed_answer = Table(
    "fed_answer",
    metadata,
    Column("external_request_id", Text, primary_key=True),
    Column("method", Text, nullable=False),
    Column("http_status", SmallInteger, nullable=False),
    Column("answer", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)


def ferzl_database_url(hub_database_url: str) -> str:
    """The emulator's database: the hub's server, the hub's database name plus ``_ferzl``."""
    return database_url(hub_database_url, DATABASE_SUFFIX)


def create_schema(engine: Engine) -> None:
    """Create the emulator's tables and indexes (a no-op for those that exist)."""
    metadata.create_all(engine)
    with engine.begin() as conn:  # an index added since the tables were made (create_all skips those)
        for index in fed_person.indexes:
            index.create(conn, checkfirst=True)
