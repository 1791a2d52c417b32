"""The ИСЗЛ emulator's own database (``<hub database>_iszl``): every event received, once per id, with how
many times it arrived (a redelivery is counted, not stored twice), and the fault switches."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Integer,
    MetaData,
    Table,
    Text,
    func,
)

from rserz_soap.emulators.store import database_url

DATABASE_SUFFIX = "_iszl"

metadata = MetaData()

received = Table(
    "iszl_received",
    metadata,
    Column("event_id", BigInteger, primary_key=True, comment="the hub's feed position"),
    Column("kind", Text, nullable=False),
    Column("enp", Text, nullable=False, index=True),
    Column("operation", Text, nullable=False),
    Column("valid_from", Date, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("smo_code", Text),
    Column("mo_codes", Text),
    Column("arrival", BigInteger, nullable=False, comment="order of first arrival"),
    Column("first_received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("times", Integer, nullable=False, server_default="1"),
)

faults = Table(
    "iszl_fault",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("outage", Boolean, nullable=False, server_default="false"),
    Column("error_rate", Float, nullable=False, server_default="0"),
    Column("latency_ms", Integer, nullable=False, server_default="0"),
)


def iszl_database_url(hub_database_url: str) -> str:
    return database_url(hub_database_url, DATABASE_SUFFIX)
