"""Domain values to JSON-ready dicts and back, so the buffer can keep a record exactly as received.

Generic over frozen dataclasses: dates become ISO strings, nested dataclasses dicts, tuples and
frozensets lists; decoding follows the type hints, so a new field needs no codec change.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable
from datetime import date, datetime
from enum import Enum
from functools import cache
from typing import Any, TypeVar

T = TypeVar("T")


#: values that encode as themselves (exact types: an IntEnum is an Enum, not an int, here)
_PLAIN = frozenset({str, int, float, bool, type(None)})


def encode(value: Any) -> Any:
    cls = type(value)
    if cls in _PLAIN:
        return value
    if hasattr(cls, "__dataclass_fields__"):
        return {name: encode(getattr(value, name)) for name in _field_names(typing.cast(Any, cls))}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (tuple, list, frozenset, set)):
        items = [encode(v) for v in value]
        return sorted(items, key=repr) if isinstance(value, (frozenset, set)) else items
    if isinstance(value, dict):
        return {str(k): encode(v) for k, v in value.items()}
    return value


@cache
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def decode(cls: type[T], data: Any) -> T:
    return typing.cast(T, _decoder(typing.cast(Any, cls))(data))


Decoder = Callable[[Any], Any]


@cache
def _decoder(tp: Any) -> Decoder:
    """The function that decodes JSON data into ``tp``, worked out from the type hints once per type (a
    buffer entry is decoded many times on its way: by the ФЛК, the sender, the apply)."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return _decoder(args[0])
    if origin in (tuple, frozenset, list, set):
        item = _decoder(typing.get_args(tp)[0])
        make = origin
        return lambda data: None if data is None else make([item(v) for v in data])
    if origin is dict:
        value = _decoder(typing.get_args(tp)[1])
        return lambda data: None if data is None else {k: value(v) for k, v in data.items()}
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _dataclass_decoder(tp)
    if tp is datetime:
        return lambda data: None if data is None else datetime.fromisoformat(data)
    if tp is date:
        return lambda data: None if data is None else date.fromisoformat(data)
    if isinstance(tp, type) and issubclass(tp, Enum):
        enum = tp
        return lambda data: None if data is None else enum(data)
    return _as_is


def _as_is(data: Any) -> Any:
    return data


def _dataclass_decoder(cls: type) -> Decoder:
    fields: list[tuple[str, Decoder]] = []  # filled at the first call: a type may refer to itself

    def decode_one(data: Any) -> Any:
        if data is None:
            return None
        if not fields:
            hints = _hints(cls)
            fields.extend((f.name, _decoder(hints[f.name])) for f in dataclasses.fields(cls))
        return cls(**{name: field(data[name]) for name, field in fields if name in data})

    return decode_one
