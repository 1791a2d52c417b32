"""pg_dump / pg_restore of the server's own major version: a newer pg_restore writes settings an older
server refuses (pg_restore 18 → PostgreSQL 15: ``transaction_timeout``), found by the CI pass against the
machine's PostgreSQL 15."""

from __future__ import annotations

import pytest

from rserz_soap.db.backup import BackupToolError, _tool_candidates, _tool_major, pg_tool, server_major


@pytest.mark.parametrize("name", ["pg_dump", "pg_restore"])
def test_the_tool_matches_the_server(database_url: str, name: str) -> None:
    major = server_major(database_url)
    installed = {_tool_major(c) for c in _tool_candidates(name)}
    chosen = _tool_major(pg_tool(name, major))
    assert chosen is not None
    if major in installed:
        assert chosen == major
    else:
        assert chosen == min(m for m in installed if m is not None and m > major)


def test_no_tool_for_a_newer_server_is_a_clear_error() -> None:
    with pytest.raises(BackupToolError, match="PostgreSQL 99"):
        pg_tool("pg_restore", 99)
