"""The buffer's decision rules, as configuration (a TOML file), not code."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

AUTO = "auto"
REVIEW = "review"


@dataclass(frozen=True)
class BufferRules:
    operations: dict[str, str]
    default: str = REVIEW
    other_participant_pending: bool = True
    federal_contradiction: bool = True
    probable_duplicate: bool = True
    ambiguous_person: bool = True
    duplicate_min_score: float = 0.8

    def decision_for(self, operation: str) -> str:
        return self.operations.get(operation, self.default)


def load_rules(path: Path | None = None) -> BufferRules:
    """The bundled rules, or the file at ``path`` (RSERZ_BUFFER_RULES)."""
    if path is None:
        raw = resources.files("rserz_soap").joinpath("data/buffer/rules.toml").read_text(encoding="utf-8")
    else:
        raw = path.read_text(encoding="utf-8")
    data: dict[str, Any] = tomllib.loads(raw)
    conflicts = data.get("conflicts", {})
    operations = {str(k): str(v) for k, v in data.get("operations", {}).items()}
    for op, decision in [*operations.items(), ("default", data.get("default", REVIEW))]:
        if decision not in (AUTO, REVIEW):
            raise ValueError(f"buffer rules: {op} = {decision!r}, expected 'auto' or 'review'")
    return BufferRules(
        operations=operations,
        default=str(data.get("default", REVIEW)),
        other_participant_pending=bool(conflicts.get("other_participant_pending", True)),
        federal_contradiction=bool(conflicts.get("federal_contradiction", True)),
        probable_duplicate=bool(conflicts.get("probable_duplicate", True)),
        ambiguous_person=bool(conflicts.get("ambiguous_person", True)),
        duplicate_min_score=float(conflicts.get("duplicate_min_score", 0.8)),
    )
