"""Country codes (O001, ОКСМ) in the forms СМО software writes them, mapped to the one the register keeps.

The register keeps the numeric ОКСМ code (``643``) and no code at all for a stateless person. СМО
software writes ``C_OKSM`` and ``BIRTH_OKSM`` as the alpha-3 code (``RUS``) and a stateless person's
citizenship as ``Б/Г`` (I_Policies ``send_to_fond_wnd.cpp``; rt.srz ``ImporterFileSmo.cs`` reads ``Б/Г`` as
"no citizenship" and defaults ``C_OKSM`` to ``RUS``). The alpha-3 → numeric mapping is O001's own
(``KOD``/``ALFA3``), so it is built from the directory records a caller hands in: this module does no I/O.

A value that is none of the accepted forms, or an alpha-3 code O001 does not know, is returned unchanged,
so ФЛК (126/127) reports the value the СМО sent instead of the hub guessing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final, Protocol

__all__ = [
    "STATELESS",
    "CountryCodes",
    "CountryRecord",
]

#: How СМО software writes "no citizenship" (без гражданства).
STATELESS: Final = "Б/Г"
#: O001 fields: the numeric code is the record's code, the alpha-3 code is ``ALFA3``.
ALPHA3_FIELD: Final = "ALFA3"


class CountryRecord(Protocol):
    """An O001 entry (:class:`rserz_soap.files.nsi.NsiRecord` has this shape)."""

    @property
    def code(self) -> str: ...

    @property
    def data(self) -> dict[str, str]: ...


@dataclass(frozen=True)
class CountryCodes:
    """O001's alpha-3 → numeric index; build it with :meth:`from_records`."""

    by_alpha3: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_records(cls, records: Iterable[CountryRecord]) -> CountryCodes:
        """Index O001 records; a later record wins for the same alpha-3 (pass them oldest first)."""
        index: dict[str, str] = {}
        for record in records:
            alpha3 = (record.data.get(ALPHA3_FIELD) or "").strip().upper()
            if len(alpha3) == 3 and alpha3.isascii() and alpha3.isalpha():
                index[alpha3] = record.code
        return cls(index)

    def alpha3(self, numeric: str | None) -> str | None:
        """The alpha-3 code of a numeric ОКСМ code (ФЕРЗЛ's applications write ``RUS``); None if unknown."""
        if numeric is None:
            return None
        return next((a for a, n in self.by_alpha3.items() if n == numeric.strip()), None)

    def numeric(self, value: str | None) -> str | None:
        """The numeric ОКСМ code of ``value`` as written on the wire; None for a stateless person.

        ``643`` stays ``643``, ``RUS`` becomes ``643``, ``Б/Г`` (any letter case, surrounding spaces)
        becomes None, and anything else — an unknown alpha-3, a typo — comes back as it was sent.
        """
        if value is None:
            return None
        text = value.strip()
        if not text or text.upper() == STATELESS:
            return None
        if len(text) == 3 and text.isascii() and text.isdigit():
            return text
        return self.by_alpha3.get(text.upper(), value)
