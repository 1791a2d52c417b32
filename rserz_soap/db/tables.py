"""The register's tables (SQLAlchemy Core), the single description of the schema.

Facts about a person are *periods and versions*: every change writes a ``person_version`` row (valid time,
record time, source) and new rows in the aspect tables; the rows it replaces get ``superseded_at`` and
``superseded_by`` set and are never edited otherwise. "Current" means ``superseded_at IS NULL``, so partial
indexes over current rows keep identification fast however long the history grows. Alembic migrations in
``db/migrations/`` are generated from this module; ``docs/data-model.md`` explains it for people.
"""

from __future__ import annotations

import re

from sqlalchemy import (
    DDL,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Computed,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    event,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TIMESTAMP, UUID
from sqlalchemy.dialects.postgresql.base import ischema_names
from sqlalchemy.types import UserDefinedType


class XID8(UserDefinedType[int]):
    """PostgreSQL's 64-bit transaction id (``pg_current_xact_id()``)."""

    cache_ok = True

    def get_col_spec(self, **kw: object) -> str:
        return "xid8"


ischema_names["xid8"] = XID8  # so reflection (the migrations test) knows the type

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

CURRENT = text("superseded_at IS NULL")

PARTICIPANT_KINDS = ("smo", "mo", "iszl", "ferzl", "smev", "zags", "sfr", "military", "tfoms", "hub")
PERSON_STATUSES = ("insured", "not_insured", "suspended", "dead", "annulled", "merged")
#: the buffer states of an undecided entry, as the partial index of a person's pending entries names them
PENDING_INDEX_PREDICATE = (
    "state IN ('received', 'checked', 'awaiting_review', 'accepted', 'awaiting_federal')"
)

BUFFER_STATES = (
    "received",
    "checked",
    "awaiting_review",
    "accepted",
    "awaiting_federal",
    "rejected",
    "applied",
)


def _now() -> Column[object]:
    return Column("recorded_at", TIMESTAMP(timezone=True), nullable=False, server_default=func.now())


def _valid_time() -> tuple[Column[object], Column[object]]:
    """Valid time of a fact whose dates are not already its own (names, documents, addresses).

    A correction from date X supersedes the open slice and writes two: [from, X-1] and [X, open), so both
    "state on D as known now" and "what we knew on D" stay answerable.
    """
    return (
        Column("valid_from", Date, comment="valid time: true from this date (NULL = since always)"),
        Column("valid_to", Date, comment="valid time: true until this date inclusive (NULL = open)"),
    )


def _versioned(name: str, *columns: Column[object] | Index | CheckConstraint) -> Table:
    """An aspect table of the person: its rows are versions; the bitemporal columns come from here."""
    return Table(
        name,
        metadata,
        Column("id", BigInteger, primary_key=True),
        Column("person_id", BigInteger, ForeignKey("person.id"), nullable=False, index=True),
        Column("version_id", BigInteger, ForeignKey("person_version.id"), nullable=False),
        _now(),
        Column("superseded_at", TIMESTAMP(timezone=True)),
        Column("superseded_by", BigInteger, ForeignKey("person_version.id")),
        *columns,
    )


participant = Table(
    "participant",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(10), nullable=False),
    Column("code", String(16), nullable=False, comment="F002 smocod, F003 mcod, or the kind for singletons"),
    Column("name", Text, nullable=False),
    Column("ogrn", String(15)),
    Column("active", Boolean, nullable=False, server_default=text("true")),
    Column("log_bodies", Boolean, nullable=False, server_default=text("false"), comment="152-ФЗ: opt-in"),
    Column(
        "legacy_sha1",
        Boolean,
        nullable=False,
        server_default=text("false"),
        comment="may still sign with SHA-1 reference digests (opt-in per peer)",
    ),
    Column("created_at", TIMESTAMP(timezone=True), nullable=False, server_default=func.now()),
    Column(
        "file_encoding",
        String(16),
        nullable=False,
        server_default=text("'utf-8'"),
        comment="encoding of the files written for the participant: utf-8 or windows-1251",
    ),
    UniqueConstraint("kind", "code"),
    CheckConstraint(f"kind IN {PARTICIPANT_KINDS!r}", name="kind"),
    CheckConstraint("file_encoding IN ('utf-8', 'windows-1251')", name="file_encoding"),
)

participant_certificate = Table(
    "participant_certificate",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("participant_id", Integer, ForeignKey("participant.id"), nullable=False, index=True),
    Column("sha256", String(64), nullable=False, unique=True, comment="fingerprint of the DER certificate"),
    Column("serial", String(64), nullable=False),
    Column("subject", Text, nullable=False),
    Column("issuer", Text, nullable=False),
    Column("not_before", TIMESTAMP(timezone=True), nullable=False),
    Column("not_after", TIMESTAMP(timezone=True), nullable=False),
    Column("key_type", String(16), nullable=False),
    Column("pem", Text, nullable=False),
    Column("revoked_at", TIMESTAMP(timezone=True)),
    Column("added_at", TIMESTAMP(timezone=True), nullable=False, server_default=func.now()),
)

person = Table(
    "person",
    metadata,
    Column("id", BigInteger, primary_key=True, comment="stable internal id, never reused"),
    Column("main_enp", String(16), nullable=False, unique=True),
    Column(
        "version_no",
        Integer,
        nullable=False,
        server_default=text("0"),
        comment="number of the latest person_version; the row lock of every change",
    ),
    Column("merged_into", BigInteger, ForeignKey("person.id")),
    Column("created_at", TIMESTAMP(timezone=True), nullable=False, server_default=func.now()),
)

person_version = Table(
    "person_version",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("person_id", BigInteger, ForeignKey("person.id"), nullable=False),
    Column("version_no", Integer, nullable=False),
    Column("operation", String(16), nullable=False, comment="R001 code (П010…П063) or SEED/MERGE/MANUAL/…"),
    Column("source_kind", String(10), nullable=False),
    Column("source_code", String(32), nullable=False),
    Column("valid_from", Date, nullable=False, comment="valid time: the date the change is true from"),
    _now(),
    Column("actor", String(64), comment="operator login or participant certificate"),
    Column("buffer_entry_id", BigInteger),
    Column("reason", Text),
    UniqueConstraint("person_id", "version_no"),
    Index("ix_person_version_recorded", "recorded_at"),
)

person_data = _versioned(
    "person_data",
    Column("fam", String(40), nullable=False),
    Column("im", String(40), nullable=False),
    Column("ot", String(40)),
    Column("w", SmallInteger, nullable=False, comment="V005"),
    Column("dr", Date, nullable=False),
    Column("dost", String(12), comment="DOST codes: which parts of the name/date are missing or inexact"),
    Column("mr", String(100)),
    Column("birth_oksm", String(3)),
    Column("c_oksm", String(3), comment="O001; NULL = stateless"),
    Column("kateg", SmallInteger, nullable=False),
    Column("ss", String(11), comment="СНИЛС, 11 digits"),
    Column("status", String(12), nullable=False),
    Column("ddeath", Date),
    Column("phone", String(20)),
    Column("email", String(80)),
    *_valid_time(),
    Column(
        "name_key",
        Text,
        Computed("replace(lower(fam || ' ' || im || coalesce(' ' || ot, '')), 'ё', 'е')", persisted=True),
        comment="normalised full name (lower case, ё as е, no trailing space): exact and trigram identification",
    ),
    CheckConstraint(f"status IN {PERSON_STATUSES!r}", name="status"),
    Index("ix_person_data_ss_current", "ss", postgresql_where=CURRENT),
    Index("ix_person_data_dr_name_current", "dr", "name_key", postgresql_where=CURRENT),
    Index(
        "ix_person_data_name_trgm_current",
        "name_key",
        postgresql_using="gin",
        postgresql_ops={"name_key": "gin_trgm_ops"},
        postgresql_where=CURRENT,
    ),
    # a birth-date window and a name's trigrams narrowed in one index walk (searchPersons; btree_gist)
    Index(
        "ix_person_data_dr_name_trgm_current",
        "dr",
        "name_key",
        postgresql_using="gist",
        postgresql_ops={"name_key": "gist_trgm_ops"},
        postgresql_where=CURRENT,
    ),
)

identity_document = _versioned(
    "identity_document",
    Column("doctype", SmallInteger, nullable=False, comment="F011"),
    Column("docser", String(12)),
    Column("docnum", String(20), nullable=False),
    Column("docdate", Date),
    Column("docexp", Date),
    Column("name_vp", String(200), comment="issuing authority"),
    Column(
        "is_main",
        Boolean,
        nullable=False,
        server_default=text("true"),
        comment="false for a foreigner's residence document",
    ),
    *_valid_time(),
    Index("ix_identity_document_number_current", "docnum", "docser", "doctype", postgresql_where=CURRENT),
)

address = _versioned(
    "address",
    Column("kind", String(1), nullable=False, comment="G registration, P actual"),
    Column("okato", String(11)),
    Column("region", String(80)),
    Column("district", String(80)),
    Column("settlement", String(80)),
    Column("street", String(80)),
    Column("house", String(12)),
    Column("flat", String(12)),
    Column("fias_guid", String(36)),
    Column("postcode", String(6), comment="INDX"),
    Column("building", String(12), comment="KORP: корпус"),
    Column("registered_on", Date, comment="DREG: date of the registration at this address"),
    Column("homeless", Boolean, nullable=False, server_default=text("false"), comment="BOMG"),
    Column("fias_aoid", String(36), comment="FIAS_AOID: ФИАС address object id"),
    Column("fias_houseid", String(36), comment="FIAS_HOUSEID: ФИАС house id"),
    *_valid_time(),
    CheckConstraint("kind IN ('G', 'P')", name="kind"),
)

insurance_period = _versioned(
    "insurance_period",
    Column("smo_code", String(5), nullable=False, comment="F002 smocod"),
    Column("ogrnsmo", String(15)),
    Column("ter_st", String(5), nullable=False),
    Column("enp", String(16), nullable=False),
    Column("vpolis", SmallInteger, nullable=False, comment="F008"),
    Column("spolis", String(10)),
    Column("npolis", String(20), nullable=False),
    Column("dbeg", Date, nullable=False),
    Column("dend", Date, comment="planned end: ВС end, foreigner's permit end"),
    Column("dstop", Date, comment="actual stop"),
    Column("stop_reason", SmallInteger),
    Column("rsmo", SmallInteger),
    Column("rpolis", SmallInteger),
    Column("method", SmallInteger),
    Index("ix_insurance_period_npolis_current", "npolis", "spolis", postgresql_where=CURRENT),
    Index("ix_insurance_period_smo_current", "smo_code", "dbeg", postgresql_where=CURRENT),
)

attachment = _versioned(
    "attachment",
    Column("mo_code", String(6), nullable=False, comment="F003 mcod"),
    Column("area_type", SmallInteger, nullable=False),
    Column("section", String(10)),
    Column("doctor_snils", String(11)),
    Column("date_in", Date, nullable=False),
    Column("date_out", Date),
    Column("method", SmallInteger, nullable=False),
    Index("ix_attachment_mo_current", "mo_code", postgresql_where=CURRENT),
    Index(
        "ix_attachment_active",
        "person_id",
        "area_type",
        postgresql_where=text("superseded_at IS NULL AND date_out IS NULL"),
    ),
)

enp_alias = Table(
    "enp_alias",
    metadata,
    Column("enp", String(16), primary_key=True),
    Column("person_id", BigInteger, ForeignKey("person.id"), nullable=False, index=True),
    Column("is_main", Boolean, nullable=False),
    Column("added_at", TIMESTAMP(timezone=True), nullable=False, server_default=func.now()),
    Column("reason", String(32), nullable=False, comment="assigned / merge / correction"),
)

change_journal = Table(
    "change_journal",
    metadata,
    Column("seq", BigInteger, primary_key=True, comment="monotonic; the cursor of getChanges"),
    Column("person_id", BigInteger, ForeignKey("person.id"), nullable=False),
    Column("version_id", BigInteger, ForeignKey("person_version.id")),
    Column("operation", String(16), nullable=False),
    Column("smo_code", String(5), comment="insurer after the change, for per-СМО visibility"),
    Column("mo_codes", Text, comment="attached МО after the change, space-separated"),
    Column("recorded_at", TIMESTAMP(timezone=True), nullable=False, server_default=func.now()),
    Column(
        "xid",
        XID8,
        nullable=False,
        server_default=text("pg_current_xact_id()"),
        comment="the writing transaction: a row is published only when every older one has ended",
    ),
    Column("feed_seq", BigInteger, unique=True, comment="position in the published feed (getChanges cursor)"),
    Index("ix_change_journal_recorded_at", "recorded_at"),
    Index("ix_change_journal_unpublished", "seq", postgresql_where=text("feed_seq IS NULL")),
)

exchange_journal = Table(
    "exchange_journal",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("correlation_id", UUID(as_uuid=True), nullable=False, index=True),
    Column("direction", String(3), nullable=False, comment="in / out"),
    Column("participant_id", Integer, ForeignKey("participant.id")),
    Column("peer", String(64), comment="remote party when not a participant (ФЕРЗЛ, СМЭВ)"),
    Column("service", String(32), nullable=False),
    Column("operation", String(64), nullable=False),
    Column("request_id", UUID(as_uuid=True), comment="client idempotency key"),
    Column("signature_result", String(24)),
    Column("outcome", String(16), nullable=False),
    Column("error_code", String(16)),
    Column("duration_ms", Integer),
    Column("request_body", Text, comment="only where body logging is enabled for the participant"),
    Column("response_body", Text),
    Column("started_at", TIMESTAMP(timezone=True), nullable=False, server_default=func.now(), index=True),
    CheckConstraint("direction IN ('in', 'out')", name="direction"),
)

buffer_entry = Table(
    "buffer_entry",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("participant_id", Integer, ForeignKey("participant.id"), nullable=False),
    Column("request_id", UUID(as_uuid=True)),
    Column("batch_ref", String(64), comment="OPLIST file name or submitOperations request id"),
    Column(
        "batch_id", UUID(as_uuid=True), nullable=False, comment="the hub's own id of the batch (BATCH_ID)"
    ),
    Column("n_rec", Integer, nullable=False),
    Column("tip_op", String(4), nullable=False),
    Column("person_id", BigInteger, ForeignKey("person.id")),
    Column("payload", JSONB, nullable=False),
    Column("state", String(16), nullable=False),
    Column("result", JSONB, comment="protocol: CODE_ERP, FLK errors, final insurance"),
    Column("received_at", TIMESTAMP(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", TIMESTAMP(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint(f"state IN {BUFFER_STATES!r}", name="state"),
    Index("ix_buffer_entry_state", "state", "received_at"),
    Index("ix_buffer_entry_participant", "participant_id", "received_at"),
    Index(
        "ix_buffer_entry_person_pending",
        "person_id",
        # every undecided state (domain.buffer.PENDING; migration 0015 added awaiting_federal)
        postgresql_where=text(PENDING_INDEX_PREDICATE),
    ),
    UniqueConstraint("batch_id", "n_rec"),
    # a participant's request is received once, however many copies of it arrive together
    Index(
        "uq_buffer_entry_request_n_rec",
        "participant_id",
        "request_id",
        "n_rec",
        unique=True,
        postgresql_where=text("request_id IS NOT NULL"),
    ),
)

buffer_decision = Table(
    "buffer_decision",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("entry_id", BigInteger, ForeignKey("buffer_entry.id"), nullable=False, index=True),
    Column("from_state", String(16)),
    Column("to_state", String(16), nullable=False),
    Column("actor", String(64), nullable=False, comment="operator login, 'auto' or a job name"),
    Column("reason", Text),
    Column("decided_at", TIMESTAMP(timezone=True), nullable=False, server_default=func.now()),
)

nsi_version = Table(
    "nsi_version",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("directory", String(8), nullable=False),
    Column("version", String(32), comment="version stated in the file, if any"),
    Column("file_name", Text, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("records", Integer, nullable=False),
    Column("imported_at", TIMESTAMP(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("directory", "sha256"),
)

nsi_record = Table(
    "nsi_record",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("version_id", Integer, ForeignKey("nsi_version.id"), nullable=False),
    Column("directory", String(8), nullable=False),
    Column("code", String(32), nullable=False),
    Column("date_beg", Date, nullable=False),
    Column("date_end", Date),
    Column("data", JSONB, nullable=False),
    Index("ix_nsi_record_lookup", "directory", "code", "date_beg"),
    Index("ix_nsi_record_version", "version_id"),
)

# --- registry core: error directory, pins, merges, stop lists, corrections -------------------------------

flk_error = Table(
    "flk_error",
    metadata,
    Column("code", String(8), primary_key=True, comment="OSHIB"),
    Column("message", Text, nullable=False),
    Column("im_pol", String(32), comment="field the error is about"),
    Column("bas_el", String(32), comment="its parent element"),
    Column(
        "severity", String(1), nullable=False, comment="E reject the record, W accept with warning, N off"
    ),
    Column("kind", String(8), nullable=False, comment="format (F012) or logical (the hub's own)"),
    Column("updated_at", TIMESTAMP(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("severity IN ('E', 'W', 'N')", name="severity"),
    CheckConstraint("kind IN ('format', 'logical')", name="kind"),
)

person_pin = Table(
    "person_pin",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("person_id", BigInteger, ForeignKey("person.id"), nullable=False),
    Column("field", String(32), nullable=False, comment="the card field kept different from ФЕРЗЛ"),
    Column("value", JSONB, nullable=False, comment="the value the region keeps"),
    Column("federal_value", JSONB, comment="what ФЕРЗЛ held when the pin was made"),
    Column("justification", Text, nullable=False),
    Column("actor", String(64), nullable=False),
    Column("version_id", BigInteger, ForeignKey("person_version.id")),
    Column("pinned_at", TIMESTAMP(timezone=True), nullable=False, server_default=func.now()),
    Column("released_at", TIMESTAMP(timezone=True)),
    Column("released_by", String(64)),
    Index(
        "uq_person_pin_active",
        "person_id",
        "field",
        unique=True,
        postgresql_where=text("released_at IS NULL"),
    ),
)

person_merge = Table(
    "person_merge",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("survivor_id", BigInteger, ForeignKey("person.id"), nullable=False, index=True),
    Column("merged_id", BigInteger, ForeignKey("person.id"), nullable=False, index=True),
    Column("actor", String(64), nullable=False),
    Column("reason", Text),
    Column("survivor_version_id", BigInteger, ForeignKey("person_version.id")),
    Column("merged_version_id", BigInteger, ForeignKey("person_version.id")),
    Column("merged_at", TIMESTAMP(timezone=True), nullable=False, server_default=func.now()),
    Column("unmerged_at", TIMESTAMP(timezone=True)),
    Column("unmerged_by", String(64)),
)

stop_list_entry = Table(
    "stop_list_entry",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("smo_code", String(5), nullable=False, comment="the СМО whose insurance stopped"),
    Column("person_id", BigInteger, ForeignKey("person.id"), nullable=False),
    Column("version_id", BigInteger, ForeignKey("person_version.id"), nullable=False),
    Column("enp", String(16), nullable=False),
    Column("reason", SmallInteger, nullable=False),
    Column("stop_date", Date, nullable=False),
    Column("created_at", TIMESTAMP(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_stop_list_entry_smo", "smo_code", "created_at"),
)

correction_entry = Table(
    "correction_entry",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("smo_code", String(5), nullable=False, comment="the СМО the correction is reported to"),
    Column("person_id", BigInteger, ForeignKey("person.id"), nullable=False),
    Column("version_id", BigInteger, ForeignKey("person_version.id")),
    Column("buffer_entry_id", BigInteger, ForeignKey("buffer_entry.id")),
    Column("tip_op", String(16), nullable=False),
    Column(
        "is_active",
        SmallInteger,
        nullable=False,
        comment="RECLIST IS_ACTIVE: 0 undone, 1 applied, 2 in buffer",
    ),
    Column("err_code", String(8)),
    Column("err_desc", Text),
    Column("created_at", TIMESTAMP(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_correction_entry_smo", "smo_code", "created_at"),
)

federal_value = Table(
    "federal_value",
    metadata,
    Column("person_id", BigInteger, ForeignKey("person.id"), primary_key=True),
    Column("field", String(32), primary_key=True, comment="card field, e.g. fam, dr, ss, document"),
    Column("value", JSONB, nullable=False, comment="the value ФЕРЗЛ holds"),
    Column("observed_at", TIMESTAMP(timezone=True), nullable=False, server_default=func.now()),
    Column("source", String(32), nullable=False, comment="getPersonData, daily changes, reconciliation …"),
)

# --- the federal register (ФЕРЗЛ) -----------------------------------------------------------------------

FEDERAL_PUSH_STATES = ("pending", "accepted", "rejected")

federal_push = Table(
    "federal_push",
    metadata,
    Column(
        "entry_id",
        BigInteger,
        ForeignKey("buffer_entry.id"),
        primary_key=True,
        comment="the accepted buffer entry that must reach ФЕРЗЛ before it applies locally",
    ),
    Column(
        "request_id",
        UUID(as_uuid=True),
        nullable=False,
        unique=True,
        comment="externalRequestId: the same on every attempt, so ФЕРЗЛ answers a repeat, never applies it twice",
    ),
    Column("operation", String(16), nullable=False),
    Column("change_date", Date, nullable=False),
    Column("card", JSONB, nullable=False, comment="the card as it will be after the change, as pushed"),
    Column(
        "enp",
        String(16),
        comment="the ЕНП the change is about; for a new person the one ФЕРЗЛ formed (createdPcy), NULL before",
    ),
    Column("person_id", BigInteger, ForeignKey("person.id")),
    Column("state", String(10), nullable=False, server_default=text("'pending'")),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("last_error", Text, comment="why the last attempt did not get an answer"),
    Column("federal_code", String(16), comment="ФЕРЗЛ error code of a rejection"),
    Column("federal_text", Text),
    Column("created_at", TIMESTAMP(timezone=True), nullable=False, server_default=func.now()),
    Column("answered_at", TIMESTAMP(timezone=True)),
    CheckConstraint(f"state IN {FEDERAL_PUSH_STATES!r}", name="state"),
    Index("ix_federal_push_pending", "entry_id", postgresql_where=text("state = 'pending'")),
)

federal_event_window = Table(
    "federal_event_window",
    metadata,
    Column(
        "feed",
        String(32),
        primary_key=True,
        comment="the ФЕРЗЛ method pulled: getChangesEvent or getInsuranceStatusChanges (§3.2)",
    ),
    Column(
        "done_until", Date, comment="every day up to this one is taken in full; NULL before the first pull"
    ),
    Column("window_from", Date, comment="the window in flight (NULL when none)"),
    Column("window_to", Date),
    Column(
        "op_token", Text, comment="the operation in flight: a resumed worker polls it instead of a new one"
    ),
    Column("events", Integer, nullable=False, server_default=text("0"), comment="events taken, all pulls"),
    Column("updated_at", TIMESTAMP(timezone=True), nullable=False, server_default=func.now()),
)

federal_event = Table(
    "federal_event",
    metadata,
    Column(
        "event_key",
        String(96),
        primary_key=True,
        comment="ОИП|event|dt: what identifies an event (§3.2.12 gives no id); a repeat is skipped",
    ),
    Column("oip", String(12), nullable=False),
    Column("enp", String(16)),
    Column("event", String(16), nullable=False, comment="§5 code, as delivered (an unknown one too)"),
    Column("dt", String(40), nullable=False, comment="the event's dateTime as delivered"),
    Column("feed", String(32), nullable=False),
    Column("person_id", BigInteger, ForeignKey("person.id")),
    Column(
        "outcome",
        String(16),
        nullable=False,
        comment="applied, confirmed, unchanged, kept_pinned, review, noted, unknown_person, unknown_code",
    ),
    Column("detail", Text, comment="the fields it changed, or why it waits for an operator"),
    Column("seen_at", TIMESTAMP(timezone=True), nullable=False, server_default=func.now()),
    Index(
        "ix_federal_event_review", "seen_at", postgresql_where=text("outcome IN ('review', 'unknown_code')")
    ),
)

RECONCILIATION_STATES = ("running", "done", "failed", "cancelled")
RECONCILIATION_CATEGORIES = ("missing_regionally", "missing_federally", "differs", "accepted_deviation")

reconciliation_run = Table(
    "reconciliation_run",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("state", String(10), nullable=False, server_default=text("'running'")),
    Column("filter", JSONB, nullable=False, comment="{} = the whole region; smo, mo, changed_since"),
    Column("policy", String(16), nullable=False, comment="federal_wins, review or report"),
    Column("actor", String(64), nullable=False),
    Column("cursor_enp", String(16), comment="every ЕНП up to this one is reconciled (ЕНП order)"),
    Column(
        "batch_id", String(64), comment="the ФЕРЗЛ batch in flight; a resumed run polls it, not a new one"
    ),
    Column("batch_after", String(16), comment="the cursor the batch in flight was started from"),
    Column(
        "staged_rows",
        Integer,
        comment="rows of ФЕРЗЛ's insurance витрина staged for this run; NULL until they are (then batches run)",
    ),
    Column("batches", Integer, nullable=False, server_default=text("0")),
    Column("persons", Integer, nullable=False, server_default=text("0"), comment="persons compared so far"),
    Column("differences", Integer, nullable=False, server_default=text("0")),
    Column("applied", Integer, nullable=False, server_default=text("0")),
    Column("error", Text),
    Column("started_at", TIMESTAMP(timezone=True), nullable=False, server_default=func.now()),
    Column("heartbeat_at", TIMESTAMP(timezone=True), nullable=False, server_default=func.now()),
    Column("finished_at", TIMESTAMP(timezone=True)),
    CheckConstraint(f"state IN {RECONCILIATION_STATES!r}", name="state"),
)

reconciliation_item = Table(
    "reconciliation_item",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("run_id", Integer, ForeignKey("reconciliation_run.id"), nullable=False),
    Column("enp", String(16), nullable=False),
    Column("person_id", BigInteger, ForeignKey("person.id")),
    Column("category", String(20), nullable=False),
    Column("field", String(16), nullable=False, comment="card field, or '*' for a whole missing person"),
    Column("regional", Text),
    Column("federal", Text),
    Column("resolution", String(10), nullable=False, comment="applied, review, reported, pinned"),
    Column("created_at", TIMESTAMP(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint(f"category IN {RECONCILIATION_CATEGORIES!r}", name="category"),
    UniqueConstraint("run_id", "enp", "field", name="uq_reconciliation_item"),
)

# --- SOAP hub -------------------------------------------------------------------------------------------

reconciliation_federal = Table(
    "reconciliation_federal",
    metadata,
    Column("run_id", Integer, ForeignKey("reconciliation_run.id", ondelete="CASCADE"), primary_key=True),
    Column("enp", String(16), primary_key=True),
    Column("oip", String(12)),
    Column("sex", SmallInteger),
    Column("birth_year", SmallInteger),
    Column("policy_type", String(1), comment="ФЕРЗЛ letter (§5 pcyType)"),
    Column("policy", String(32)),
    Column("smo", String(5)),
    Column("doc_type", Integer),
    Column("doc_ser", String(20)),
    Column("doc_num", String(40)),
    Column("doc_date", Date),
    Column("snils", String(11)),
    Column("cancel_date", Date, comment="«Дата гашения»"),
    Column("status", SmallInteger, comment="«Статус»: 0 deregistered (death), 1 valid, 2 merged, 3 other"),
    comment="ФЕРЗЛ's insurance витрина (§3.2.6) as one reconciliation run received it, in ЕНП order",
)

idempotency_key = Table(
    "idempotency_key",
    metadata,
    Column("participant_id", Integer, ForeignKey("participant.id"), primary_key=True),
    Column("request_id", UUID(as_uuid=True), primary_key=True, comment="the client's REQUEST_ID"),
    Column("operation", String(64), nullable=False),
    Column("request_sha256", String(64), nullable=False, comment="of the canonical request body"),
    Column("response_body", Text, comment="the stored answer; NULL while the first request is in progress"),
    Column("created_at", TIMESTAMP(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_idempotency_key_created", "created_at"),
)

# --- disclosures (152-ФЗ): which persons a participant was shown ---------------------------------------

disclosure = Table(
    "disclosure",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("disclosed_at", TIMESTAMP(timezone=True), nullable=False, server_default=func.now(), index=True),
    Column("participant_id", Integer, ForeignKey("participant.id"), nullable=False),
    Column("operation", String(64), nullable=False),
    Column("correlation_id", UUID(as_uuid=True), nullable=False, comment="the exchange journal's id"),
    Column("person_ids", ARRAY(BigInteger), nullable=False, comment="the persons the answer held"),
    Index("ix_disclosure_person_ids", "person_ids", postgresql_using="gin"),
    comment="who was shown whose data, kept apart from the exchange journal and without the data itself",
)

# --- published snapshots (срезы): who was insured on a date, as published ------------------------------

SNAPSHOT_STATES = ("building", "published")

snapshot = Table(
    "snapshot",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("day", Date, nullable=False, unique=True, comment="insured at 00:00 of this day"),
    Column("state", String(10), nullable=False, server_default=text("'building'")),
    Column("persons", Integer, nullable=False, server_default=text("0")),
    Column("checksum", String(64), comment="SHA-256 of the rows in ЕНП order: a rebuild must match"),
    Column("counts", JSONB, comment="by СМО, МО, sex and age band"),
    Column("actor", String(64), nullable=False),
    Column("built_at", TIMESTAMP(timezone=True), nullable=False, server_default=func.now()),
    Column("published_at", TIMESTAMP(timezone=True)),
    CheckConstraint(f"state IN {SNAPSHOT_STATES!r}", name="state"),
)

#: a published snapshot's own partitions, ``snapshot_row_<id>`` and ``snapshot_mo_<id>`` (migration 0014):
#: made at publication, not declared here
SNAPSHOT_PARTITION = re.compile(r"^snapshot_(row|mo)_[0-9]+$")


def include_object(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    """Alembic's filter: leave the snapshots' partitions out of comparisons with this module."""
    return not (type_ == "table" and reflected and name is not None and SNAPSHOT_PARTITION.match(name))


snapshot_row = Table(
    "snapshot_row",
    metadata,
    Column("snapshot_id", Integer, ForeignKey("snapshot.id"), primary_key=True),
    Column("enp", String(16), primary_key=True, comment="rows are read in ЕНП order"),
    Column("person_id", BigInteger, nullable=False),
    Column("fam", String(40), nullable=False),
    Column("im", String(40), nullable=False),
    Column("ot", String(40)),
    Column("dr", Date, nullable=False),
    Column("w", SmallInteger, nullable=False),
    Column("smo_code", String(5), nullable=False),
    Column("vpolis", SmallInteger, nullable=False),
    Column("spolis", String(10)),
    Column("npolis", String(20), nullable=False),
    Column("dbeg", Date, nullable=False),
    Column("dend", Date),
    Column("mo_codes", Text, comment="attached МО on the day, space-separated"),
    Index("ix_snapshot_row_smo", "snapshot_id", "smo_code", "enp"),
    postgresql_partition_by="LIST (snapshot_id)",  # one partition per snapshot: snapshot_row_<id>
)

snapshot_mo = Table(
    "snapshot_mo",
    metadata,
    Column("snapshot_id", Integer, ForeignKey("snapshot.id"), primary_key=True),
    Column("mo_code", String(6), primary_key=True),
    Column("enp", String(16), primary_key=True),
    comment="a snapshot's persons by attached МО (an МО reads its own page by page)",
    postgresql_partition_by="LIST (snapshot_id)",  # one partition per snapshot: snapshot_mo_<id>
)

# --- the ТФОМС console: named users, roles, sessions and the security event log --------------------------

CONSOLE_ROLES = ("administrator", "operator", "reviewer", "auditor", "viewer")
SECURITY_OUTCOMES = ("success", "failure", "denied")

console_user = Table(
    "console_user",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "login", String(64), nullable=False, unique=True, comment="lower case; a named person, never shared"
    ),
    Column("full_name", Text, nullable=False),
    Column("password_hash", Text, nullable=False, comment="argon2id, encoded with its parameters and salt"),
    Column(
        "must_change_password",
        Boolean,
        nullable=False,
        server_default=text("false"),
        comment="a one-time password: the next login must set a new one",
    ),
    Column("password_changed_at", TIMESTAMP(timezone=True), nullable=False, server_default=func.now()),
    Column("failed_logins", Integer, nullable=False, server_default=text("0"), comment="failures in a row"),
    Column("last_failed_at", TIMESTAMP(timezone=True)),
    Column("locked_until", TIMESTAMP(timezone=True), comment="locked out after repeated failures until then"),
    Column("disabled_at", TIMESTAMP(timezone=True), comment="locked by an administrator until unlocked"),
    Column("disabled_by", String(64)),
    Column("last_login_at", TIMESTAMP(timezone=True)),
    Column("created_at", TIMESTAMP(timezone=True), nullable=False, server_default=func.now()),
    Column("created_by", String(64), nullable=False),
    CheckConstraint("login ~ '^[a-z0-9][a-z0-9._-]{1,63}$'", name="login"),
)

console_user_role = Table(
    "console_user_role",
    metadata,
    Column("user_id", Integer, ForeignKey("console_user.id"), primary_key=True),
    Column("role", String(16), primary_key=True),
    Column("granted_at", TIMESTAMP(timezone=True), nullable=False, server_default=func.now()),
    Column("granted_by", String(64), nullable=False),
    CheckConstraint(f"role IN {CONSOLE_ROLES!r}", name="role"),
)

console_session = Table(
    "console_session",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column(
        "token_sha256",
        String(64),
        nullable=False,
        unique=True,
        comment="SHA-256 of the cookie's random token: a copy of this table opens no session",
    ),
    Column("user_id", Integer, ForeignKey("console_user.id"), nullable=False),
    Column("created_at", TIMESTAMP(timezone=True), nullable=False, server_default=func.now()),
    Column("last_seen_at", TIMESTAMP(timezone=True), nullable=False, server_default=func.now()),
    Column("expires_at", TIMESTAMP(timezone=True), nullable=False, comment="the absolute end of the session"),
    Column("ip", String(45)),
    Column("user_agent", String(200)),
    Column("ended_at", TIMESTAMP(timezone=True)),
    Column("end_reason", String(16), comment="logout, idle, expired, locked, password, admin"),
    Index("ix_console_session_open", "user_id", postgresql_where=text("ended_at IS NULL")),
)

security_event = Table(
    "security_event",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("at", TIMESTAMP(timezone=True), nullable=False, server_default=func.now()),
    Column("user_id", Integer, ForeignKey("console_user.id")),
    Column("login", String(64), comment="the login as given (a failed login may name no user)"),
    Column("session_id", BigInteger),
    Column("ip", String(45), comment="where from (the client's address)"),
    Column("user_agent", String(200)),
    Column("event", String(32), nullable=False),
    Column("outcome", String(8), nullable=False),
    Column("method", String(8)),
    Column("path", String(200), comment="the request path: internal ids only, never personal data"),
    Column("object_type", String(32)),
    Column("object_id", String(64), comment="internal id of what was touched (a person's id, never an ЕНП)"),
    Column(
        "details",
        JSONB,
        nullable=False,
        server_default=text("'{}'::jsonb"),
        comment="field names, counts, codes",
    ),
    CheckConstraint(f"outcome IN {SECURITY_OUTCOMES!r}", name="outcome"),
    Index("ix_security_event_at", "at"),
    Index("ix_security_event_user", "user_id", "id"),
    Index("ix_security_event_object", "object_type", "object_id", "id"),
    comment="152-ФЗ / ФСТЭК: the console's security event log; append-only (a trigger refuses UPDATE, DELETE, TRUNCATE)",
)

#: The security log is append-only in the database itself, not only by convention of the code that writes it.
SECURITY_EVENT_APPEND_ONLY = (
    "CREATE FUNCTION security_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$"
    " BEGIN RAISE EXCEPTION 'security_event is append-only (%)', TG_OP; END $$",
    "CREATE TRIGGER security_event_no_change BEFORE UPDATE OR DELETE ON security_event"
    " FOR EACH ROW EXECUTE FUNCTION security_event_append_only()",
    "CREATE TRIGGER security_event_no_truncate BEFORE TRUNCATE ON security_event"
    " FOR EACH STATEMENT EXECUTE FUNCTION security_event_append_only()",
)
for _statement in SECURITY_EVENT_APPEND_ONLY:
    event.listen(security_event, "after_create", DDL(_statement))  # type: ignore[no-untyped-call]
# --- СМЭВ 3: ЕГР ЗАГС pushes, newborns, СФР requests ---------------------------------------------------

SMEV_INBOX_STATES = ("received", "applied", "review", "resolved", "refused")

smev_inbox = Table(
    "smev_inbox",
    metadata,
    Column(
        "message_id",
        String(36),
        primary_key=True,
        comment="СМЭВ MessageID of a pushed request: a repeated delivery finds its row and is not applied again",
    ),
    Column("root", String(32), nullable=False, comment="FATALZPRequest, ROGDZPRequest"),
    Column("record_id", String(64), comment="ИдСвед, echoed in the receipt"),
    Column("reply_to", Text, nullable=False, comment="where the receipt goes (ReplyTo)"),
    Column(
        "payload",
        JSONB,
        nullable=False,
        comment="the act records as read (domain/civil.py): applied from here",
    ),
    Column("state", String(10), nullable=False, server_default=text("'received'")),
    Column(
        "results", JSONB, comment="per act record: what was done (applied, confirmed, review …) and to whom"
    ),
    Column(
        "receipt_message_id",
        String(36),
        nullable=False,
        unique=True,
        comment="MessageID of our receipt, fixed before the first send: a resend is recognised by СМЭВ",
    ),
    Column("deliveries", Integer, nullable=False, server_default=text("1")),
    Column("received_at", TIMESTAMP(timezone=True), nullable=False, server_default=func.now()),
    Column("decided_at", TIMESTAMP(timezone=True)),
    Column("decided_by", String(64), comment="the operator who settled a held record"),
    Column("receipt_sent_at", TIMESTAMP(timezone=True)),
    Column("acked_at", TIMESTAMP(timezone=True)),
    CheckConstraint(f"state IN {SMEV_INBOX_STATES!r}", name="state"),
    Index(
        "ix_smev_inbox_open", "received_at", postgresql_where=text("acked_at IS NULL OR state = 'received'")
    ),
    Index("ix_smev_inbox_review", "received_at", postgresql_where=text("state = 'review'")),
    comment="ЕГР ЗАГС pushes by MessageID: stored before they apply, applied once, receipt and Ack tracked",
)

NEWBORN_STATES = ("waiting", "insured", "cancelled")

newborn = Table(
    "newborn",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("message_id", String(36), nullable=False, comment="the ЗАГС push that told of the birth"),
    Column("act_number", String(32), nullable=False),
    Column("act_date", Date, nullable=False),
    Column("office", Text),
    Column("fam", String(40), nullable=False),
    Column("im", String(40), nullable=False),
    Column("ot", String(40)),
    Column("w", SmallInteger),
    Column("dr", Date, nullable=False),
    Column("birth_place", Text),
    Column("mother", JSONB, comment="the mother as the act record names her"),
    Column(
        "mother_person_id",
        BigInteger,
        ForeignKey("person.id"),
        comment="the mother in the register, if found",
    ),
    Column("state", String(10), nullable=False, server_default=text("'waiting'")),
    Column("person_id", BigInteger, ForeignKey("person.id"), comment="set once a policy is chosen (П010)"),
    Column("registered_at", TIMESTAMP(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint(f"state IN {NEWBORN_STATES!r}", name="state"),
    UniqueConstraint("act_number", "act_date", name="uq_newborn_act"),
    Index("ix_newborn_waiting", "dr", postgresql_where=text("state = 'waiting'")),
    comment="children born in the region, kept here until a policy is chosen: a person without an ЕНП "
    "has no place in person",
)

SMEV_REQUEST_STATES = ("pending", "sent", "answered", "review")

smev_request = Table(
    "smev_request",
    metadata,
    Column(
        "message_id",
        String(36),
        primary_key=True,
        comment="MessageID of our request: the same on every resend",
    ),
    Column("kind", String(40), nullable=False, comment="SnilsByAdditionalDataRequest, SnilsByDataRequest …"),
    Column("person_id", BigInteger, ForeignKey("person.id"), nullable=False),
    Column("snils_asked", String(11), comment="the СНИЛС a validation asks about"),
    Column("state", String(10), nullable=False, server_default=text("'pending'")),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("last_error", Text),
    Column(
        "answer_message_id",
        String(36),
        unique=True,
        comment="the answer taken: a repeated delivery is skipped",
    ),
    Column("verdict", String(10), comment="found, differs, not_found, ambiguous, rejected"),
    Column("snils_found", Text, comment="what СФР answered (space-separated for twins)"),
    Column("outcome", Text, comment="what the hub did with the answer"),
    Column("created_at", TIMESTAMP(timezone=True), nullable=False, server_default=func.now()),
    Column("sent_at", TIMESTAMP(timezone=True)),
    Column("answered_at", TIMESTAMP(timezone=True)),
    CheckConstraint(f"state IN {SMEV_REQUEST_STATES!r}", name="state"),
    Index("ix_smev_request_open", "created_at", postgresql_where=text("state IN ('pending', 'sent')")),
    Index("ix_smev_request_person", "person_id"),
    comment="requests the hub sent through СМЭВ (СФР СНИЛС) and what their answers did",
)


# --- outbound feeds: how far each consumer (the ИСЗЛ) has been served ---------------------------------------

feed_cursor = Table(
    "feed_cursor",
    metadata,
    Column("name", String(32), primary_key=True, comment="the consumer, e.g. iszl"),
    Column("position", BigInteger, nullable=False, comment="change_journal.feed_seq delivered up to"),
    Column("delivered", BigInteger, nullable=False, server_default=text("0"), comment="events sent so far"),
    Column("updated_at", TIMESTAMP(timezone=True), server_default=func.now()),
    Column("last_error", Text, comment="why the last attempt failed; NULL after a success"),
)


# --- legacy file intake: the OPLIST packages a СМО has handed in (issue 15) --------------------------------

intake_package = Table(
    "intake_package",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("participant_id", Integer, ForeignKey("participant.id"), nullable=False),
    Column(
        "name",
        String(64),
        nullable=False,
        comment="the package's file name without .zip, e.g. i45002_01_120501",
    ),
    Column("sha256", String(64), nullable=False, comment="of the package's bytes"),
    Column("encoding", String(16), nullable=False, comment="of its OPLIST file: UTF-8 or windows-1251"),
    Column("przcod", String(16), comment="the point of registration the package came from"),
    Column("batch_id", UUID(as_uuid=True), comment="the buffer batch its records went to"),
    Column("nrecords", Integer, nullable=False, server_default=text("0")),
    Column("accepted", Integer, nullable=False, server_default=text("0")),
    Column("rejected", Integer, nullable=False, server_default=text("0")),
    Column("imported_at", TIMESTAMP(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("participant_id", "name", name="uq_intake_package_name"),
    UniqueConstraint("participant_id", "sha256", name="uq_intake_package_sha256"),
)
