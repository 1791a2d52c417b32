"""Identity documents: the F011 series/number masks (pure functions, no I/O).

F011 describes the shape of a document's series (``DocSer``) and number (``DocNum``) with one mask
character per position, so that ФЛК can refuse "4509 123456" keyed into a passport series or a birth
certificate number with a letter in it before a person record is built on it:

======  ==========================================================================
``9``   one digit ``0``–``9``
``0``   an optional digit (``0999999`` is a number of 6 or 7 digits)
``Б``   one Cyrillic capital letter (``А``–``Я``, ``Ё``)
``R``   a Roman numeral written with the Latin letters ``I V X L C``, one or more of them
``S``   any one letter (Latin or Cyrillic, either case) or digit
other   stands for itself (space, hyphen, …)
======  ==========================================================================

An empty or absent mask means the field is free text: any non-empty value passes (whether the field may be
*absent* is a separate rule of the ФЛК, not of the mask).

ФЛК runs :func:`mask_matches` for every document of every incoming record and the demo generator runs it in
its tests over millions of documents, so each distinct mask is compiled to an anchored regular expression
once and cached; a match is then a single ``re.fullmatch`` in C.
"""

from __future__ import annotations

import random
import re
from functools import cache
from typing import Final

__all__ = [
    "CYRILLIC_CAPITALS",
    "ROMAN_CHARS",
    "compile_mask",
    "example_for_mask",
    "mask_matches",
]

#: Letters a ``Б`` accepts. ``Ё`` is a letter of its own in Russian and appears in real series.
CYRILLIC_CAPITALS: Final = "АБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯ"
#: Latin letters a ``R`` accepts (series of Soviet passports and birth certificates use I…C only).
ROMAN_CHARS: Final = "IVXLC"

_DIGIT: Final = "[0-9]"  # not \d: it would accept Arabic-Indic and other Unicode digits
_MASK_REGEX: Final[dict[str, str]] = {
    "9": _DIGIT,
    "0": _DIGIT + "?",
    "Б": "[А-ЯЁ]",
    "R": f"[{ROMAN_CHARS}]+",
    "S": "[0-9A-Za-zА-ЯЁа-яё]",
}

# What example_for_mask draws from. Letters a registry office never puts in a birth-certificate series
# (Ё Й Ъ Ы Ь) are left out so that examples look like real documents; every one still matches ``Б``.
_EXAMPLE_CYRILLIC: Final = "АБВГДЕЖЗИКЛМНОПРСТУФХЦЧШЩЭЮЯ"
# fmt: off
_EXAMPLE_ROMAN: Final = (
    "I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII", "XIV", "XV", "XVI", "XVII", "XIX",
    "XX", "XXI", "XXIV", "XXX", "XL", "L", "LX", "LXX", "XC", "C",
)
# fmt: on
_EXAMPLE_ALNUM: Final = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"
_EXAMPLE_LATIN: Final = "ABCDEFGHJKLMNPRSTUVWXYZ"


@cache
def compile_mask(mask: str) -> re.Pattern[str]:
    """The anchored pattern of a non-empty mask; cached because there are only a few dozen masks."""
    parts = [_MASK_REGEX.get(ch) or re.escape(ch) for ch in mask]
    return re.compile("".join(parts))


def mask_matches(mask: str | None, value: str | None) -> bool:
    """True if ``value`` has the shape ``mask`` prescribes; an empty/absent mask accepts any non-empty value.

    Never raises for odd input: a missing value simply does not match, so a ФЛК rule can report it
    with its own error code.
    """
    if not value:
        return False
    if not mask:
        return True
    return compile_mask(mask).fullmatch(value) is not None


def example_for_mask(mask: str | None, rng: random.Random) -> str:
    """A random value that matches ``mask`` (for demo data and tests); an optional ``0`` is always filled.

    For an empty mask a passport-like ``AB1234567`` is returned, since free-text fields still need a value.
    """
    rnd = rng.random
    if not mask:
        n = len(_EXAMPLE_LATIN)
        letters = _EXAMPLE_LATIN[int(rnd() * n)] + _EXAMPLE_LATIN[int(rnd() * n)]
        return letters + f"{int(rnd() * 10_000_000):07d}"
    out: list[str] = []
    for ch in mask:
        if ch in "90":
            out.append("0123456789"[int(rnd() * 10)])
        elif ch == "Б":
            out.append(_EXAMPLE_CYRILLIC[int(rnd() * len(_EXAMPLE_CYRILLIC))])
        elif ch == "R":
            out.append(_EXAMPLE_ROMAN[int(rnd() * len(_EXAMPLE_ROMAN))])
        elif ch == "S":
            out.append(_EXAMPLE_ALNUM[int(rnd() * len(_EXAMPLE_ALNUM))])
        else:
            out.append(ch)
    return "".join(out)
