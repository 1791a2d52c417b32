"""A person's history as versions: who changed what, when it became true and when the register learnt it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

#: columns that say when a row is true, not what it says
_TIME_COLUMNS = frozenset({"valid_from", "valid_to"})


@dataclass(frozen=True)
class Change:
    """The rows one version added to and superseded in one aspect of the card (data, documents …)."""

    aspect: str
    added: tuple[dict[str, Any], ...]
    superseded: tuple[dict[str, Any], ...]

    @property
    def changed_fields(self) -> tuple[str, ...]:
        """The fields whose values the version changed, in column order.

        A field changed when the values it takes in the superseded rows differ from those in the added
        ones. A correction supersedes an open slice and adds it back closed beside the new one, so an
        untouched field shows the same value on both sides and a touched one shows a value more. A first
        version supersedes nothing and changes no field: it states them.
        """
        if not self.superseded:
            return ()
        names = [k for row in (*self.superseded, *self.added) for k in row if k not in _TIME_COLUMNS]
        out: list[str] = []
        for name in dict.fromkeys(names):
            before = {_hashable(r.get(name)) for r in self.superseded}
            after = {_hashable(r.get(name)) for r in self.added}
            if before != after:
                out.append(name)
        return tuple(out)


@dataclass(frozen=True)
class Version:
    version_no: int
    operation: str
    source_kind: str
    source_code: str
    valid_from: date
    recorded_at: datetime
    actor: str | None
    reason: str | None
    buffer_entry_id: int | None
    changes: tuple[Change, ...]


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value
