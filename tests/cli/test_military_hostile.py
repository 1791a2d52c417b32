"""The hostile военкомат lists (tests/data/hostile/military/cases.toml): each gets its code through
`rserz military import`, the register is left exactly as it was, nothing a file names is fetched or run.
New cases are data: a file and a case in cases.toml."""

from __future__ import annotations

import csv
import io
import tomllib
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from rserz_soap.cli import main
from tests.soap.conftest import Hub

CORPUS = Path(__file__).resolve().parents[1] / "data" / "hostile" / "military"
CASES: list[dict[str, Any]] = tomllib.loads((CORPUS / "cases.toml").read_text("utf-8"))["case"]
REGISTER = (
    "person_version",
    "change_journal",
    "insurance_period",
    "stop_list_entry",
    "buffer_entry",
    "buffer_decision",
)


def _counts(hub: Hub, tables: tuple[str, ...]) -> dict[str, int]:
    with hub.engine.connect() as conn:
        return {t: int(conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()) for t in tables}


def test_the_corpus_has_the_cases_the_issue_names() -> None:
    assert len(CASES) >= 6
    files = {c["file"] for c in CASES}
    assert {"xxe-file.xml", "billion-laughs.xml", "zip-bomb.xlsx", "huge-sheet.xlsx"} <= files
    assert {"formula-injection.csv", "invalid-encoding.csv"} <= files
    assert all((CORPUS / f).is_file() for f in files)


@pytest.mark.parametrize("case", CASES, ids=[c["file"] for c in CASES])
def test_a_hostile_list_gets_its_code_and_changes_nothing(
    case: dict[str, Any], hub: Hub, tmp_path: Path
) -> None:
    refused_whole = "expect" in case
    tables = (*REGISTER, "idempotency_key", "participant") if refused_whole else REGISTER
    before = _counts(hub, tables)
    listing = tmp_path / case["file"]
    listing.write_bytes((CORPUS / case["file"]).read_bytes())
    env = {
        "RSERZ_DATABASE_URL": hub.settings.database_url or "",
        "RSERZ_REDIS_URL": hub.settings.redis_url or "",
        "RSERZ_VAR_DIR": str(tmp_path / "var"),
        "RSERZ_FEDERAL_FIRST": "0",
    }
    result = CliRunner().invoke(
        main, ["military", "import", str(listing), "--out", str(tmp_path / "out")], env=env
    )
    if refused_whole:
        assert result.exit_code == 2, result.output
        assert f"refused: {case['expect']}" in result.output, result.output
        assert not (tmp_path / "out").exists()
    else:
        assert result.exit_code == 0, result.output
        (protocol,) = (tmp_path / "out").iterdir()
        body = protocol.read_text("utf-8")
        rows = list(csv.reader(io.StringIO(body), delimiter=";"))[3:]
        assert [r[2] for r in rows] == case["rows"] and {r[1] for r in rows} == {"rejected"}
        for raw in case.get("absent", []):
            assert raw not in body, f"{raw!r} echoed into the protocol"
        assert not any(cell.startswith(("=", "+", "-", "@")) for r in rows for cell in r)
    assert _counts(hub, tables) == before
    assert "root:" not in result.output  # an entity never read /etc/passwd into anything
