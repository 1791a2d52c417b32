"""Personal identifiers of the register: СНИЛС and ЕНП (pure functions, no I/O).

Why the rules are what they are (source: FFOMS rules, as summarised in the project's domain reference):

СНИЛС (insurance number of the individual personal account, issued by the Social Fund, ex-ПФР)
    11 digits, written ``XXX-XXX-XXX YY``.  The first nine digits are the number proper; ``YY`` is a
    check number: the digits are multiplied by the weights 9, 8, …, 1 (left to right) and summed;
    a sum below 100 is the check number itself, 100 and 101 give ``00``, a larger sum is reduced
    modulo 101 (a result of 100 again gives ``00``).  All three cases collapse into
    ``sum % 101 % 100``.  The weights are distinct, non-zero and below the prime 101, so a change of
    one digit moves the sum by ``w·δ`` with ``0 < |w·δ| ≤ 81``, which is never ``≡ 0 (mod 101)``.
    The only blind spot comes from folding the residues 0 and 100 both onto ``00``: if the ninth
    digit (weight 1) changes by ±1 and the sum moves between a residue of 0 and 100, the check
    number stays ``00``.  Numbers up to and including 001-001-998 are exempt from the check by the
    rule itself: they are accepted with any check number.

ЕНП (единый номер полиса, the unified policy number assigned by a territorial fund)
    16 digits: ``RR FFFFFFFF SSSSS C``.
    * ``RR`` (digits 1–2): region code of the fund that assigned the number.  Numbers are therefore
      unique across the country without any coordination between funds.
    * ``FFFFFFFF`` (digits 3–10): the *facet* — date of birth and sex of the person, so that any
      receiver can cross-check ДР/W against the number without a lookup:
      month' (2 digits), year digits in reverse order (4 digits), day' (2 digits), where every
      digit ``d`` is written as ``9 − d``.  The month carries the century band: month + 20 for
      years ≤ 1950, month + 40 for 1951–2000, the plain month after 2000.  The day carries the
      sex: day + 50 for men (sex 1), the plain day for women (sex 2) (directory V005).
    * ``SSSSS`` (digits 11–15): serial, distinguishing persons with the same region, ДР and sex.
    * ``C`` (digit 16): Luhn check digit of digits 1–15, which catches every single-digit error
      and most adjacent transpositions made when the number is keyed in by hand.
    Decoding is strict: the month band must agree with the four year digits (e.g. month + 20 with
    a year after 1950 is rejected), because the encoder can never produce such a facet.

СМО software writes a СНИЛС as ``XXX-XXX-XXX YY`` (RusBITech rt.srz ``SnilsChecker.SsToLong``, the СМО
program I_Policies), other software as 11 bare digits; :func:`snils_from_wire` accepts both and the register
keeps and answers the 11 digits.

The ``make_*`` functions are called millions of times while seeding demo regions, so they use
precomputed tables and plain integer arithmetic only.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from typing import Final

__all__ = [
    "ENP_MAX_SERIAL",
    "SEX_FEMALE",
    "SEX_MALE",
    "SNILS_CHECK_THRESHOLD",
    "SNILS_MAX_SERIAL",
    "SNILS_MIN_SERIAL",
    "EnpFacet",
    "IdentifierError",
    "decode_enp_facet",
    "enp_facet",
    "enp_matches_person",
    "format_snils",
    "is_valid_enp",
    "is_valid_snils",
    "luhn_check_digit",
    "make_enp",
    "make_snils",
    "normalize_snils",
    "snils_check_number",
    "snils_from_wire",
    "validate_enp",
    "validate_snils",
]

SEX_MALE: Final = 1
SEX_FEMALE: Final = 2

#: СНИЛС bodies (first nine digits as an int) up to and including this one are not checked.
SNILS_CHECK_THRESHOLD: Final = 1_001_998
SNILS_MIN_SERIAL: Final = SNILS_CHECK_THRESHOLD + 1
SNILS_MAX_SERIAL: Final = 999_999_999
ENP_MAX_SERIAL: Final = 99_999


class IdentifierError(ValueError):
    """An identifier is malformed or fails its check.

    ``code`` is machine-readable:
    ``"format"`` — wrong length / not digits; ``"check"`` — check number/digit mismatch;
    ``"facet"`` — ЕНП digits 3–10 do not encode a valid date of birth and sex;
    ``"range"`` — an argument of a ``make_*``/``enp_facet`` call is out of range.
    """

    code: str

    def __init__(self, code: str, message: str | None = None) -> None:
        super().__init__(message if message is not None else code)
        self.code = code
        self.message = message if message is not None else code

    def __reduce__(self) -> tuple[type[IdentifierError], tuple[str, str]]:
        return (type(self), (self.code, self.message))


@dataclass(frozen=True, slots=True)
class EnpFacet:
    """Date of birth and sex encoded in ЕНП digits 3–10 (sex: 1 male, 2 female, directory V005)."""

    birth_date: datetime.date
    sex: int


# --------------------------------------------------------------------------- tables

_DIGITS: Final = "0123456789"
_LUHN_DOUBLE: Final = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)  # 2d with digit sum, for d = 0..9
_CHAR_VALUE: Final[dict[str, int]] = {c: i for i, c in enumerate(_DIGITS)}
_CHAR_DOUBLE: Final[dict[str, int]] = {c: _LUHN_DOUBLE[i] for i, c in enumerate(_DIGITS)}

# SNILS: the weighted sum split into three 3-digit chunks (weights 9,8,7 / 6,5,4 / 3,2,1).
_CHUNK3: Final = tuple(f"{n:03d}" for n in range(1000))
_CHECK2: Final = tuple(f"{n:02d}" for n in range(100))


def _chunk_weights(w0: int, w1: int, w2: int) -> tuple[int, ...]:
    return tuple(w0 * (n // 100) + w1 * (n // 10 % 10) + w2 * (n % 10) for n in range(1000))


_SNILS_W_HI: Final = _chunk_weights(9, 8, 7)
_SNILS_W_MID: Final = _chunk_weights(6, 5, 4)
_SNILS_W_LO: Final = _chunk_weights(3, 2, 1)

# ЕНП: Luhn over 15 payload digits doubles positions 1, 3, …, 15 (1-based, from the left).
# Each part below has a precomputed contribution to the Luhn sum (and, where useful, its digits).
_REGION: Final[dict[str, int]] = {f"{n:02d}": _LUHN_DOUBLE[n // 10] + n % 10 for n in range(100)}


def _inv(d: int) -> int:
    return 9 - d


# Encoded month (1..12, 21..32, 41..52) at positions 3 (doubled), 4.
_MONTH: Final[dict[int, tuple[str, int]]] = {
    m: (
        f"{_inv(m // 10)}{_inv(m % 10)}",
        _LUHN_DOUBLE[_inv(m // 10)] + _inv(m % 10),
    )
    for m in (*range(1, 13), *range(21, 33), *range(41, 53))
}
# Encoded day (1..31 women, 51..81 men) at positions 9 (doubled), 10.
_DAY: Final[dict[int, tuple[str, int]]] = {
    d: (
        f"{_inv(d // 10)}{_inv(d % 10)}",
        _LUHN_DOUBLE[_inv(d // 10)] + _inv(d % 10),
    )
    for d in (*range(1, 32), *range(51, 82))
}


# Year abcd → reversed dcba → inverted (9-d)(9-c)(9-b)(9-a) at positions 5 (doubled), 6, 7 (doubled), 8.
_YEAR_STR: Final = tuple(
    f"{9999 - (y % 10 * 1000 + y // 10 % 10 * 100 + y // 100 % 10 * 10 + y // 1000)}".zfill(4)
    for y in range(10000)
)
_YEAR_SUM: Final = tuple(
    _LUHN_DOUBLE[9 - y % 10] + 9 - y // 10 % 10 + _LUHN_DOUBLE[9 - y // 100 % 10] + 9 - y // 1000
    for y in range(10000)
)

# Serial 00000..99999 at positions 11 (doubled), 12, 13 (doubled), 14, 15 (doubled):
# high 3 digits (serial // 100) → positions 11–13, low 2 digits → positions 14–15.
_SERIAL_HI_SUM: Final = tuple(
    _LUHN_DOUBLE[n // 100] + n // 10 % 10 + _LUHN_DOUBLE[n % 10] for n in range(1000)
)
_SERIAL_LO_SUM: Final = tuple(n // 10 + _LUHN_DOUBLE[n % 10] for n in range(100))

# Luhn contribution of a 4-digit group at an even offset of a 16-digit number (doubled, plain, doubled,
# plain): a whole ЕНП is checked with four dict lookups.
_LUHN4: Final[dict[str, int]] = {
    f"{n:04d}": _LUHN_DOUBLE[n // 1000] + n // 100 % 10 + _LUHN_DOUBLE[n // 10 % 10] + n % 10
    for n in range(10000)
}


def _is_digits(value: str, length: int) -> bool:
    return len(value) == length and value.isascii() and value.isdigit()


# --------------------------------------------------------------------------- СНИЛС


def normalize_snils(value: str) -> str:
    """Strip surrounding whitespace and all spaces/hyphens; return the 11 bare digits.

    Raises ``IdentifierError("format")`` if the result is not exactly 11 ASCII digits.
    """
    if not isinstance(value, str):
        raise IdentifierError("format", f"СНИЛС must be a string, got {type(value).__name__}")
    bare = value.strip().replace(" ", "").replace("-", "")
    if not _is_digits(bare, 11):
        raise IdentifierError("format", f"СНИЛС must be 11 digits: {value!r}")
    return bare


#: The two written forms of a СНИЛС accepted on the wire: 11 digits, or ``XXX-XXX-XXX YY``.
_SNILS_WIRE: Final = re.compile(r"[0-9]{11}|[0-9]{3}-[0-9]{3}-[0-9]{3} [0-9]{2}")


def snils_from_wire(value: str) -> str:
    """The 11 bare digits of a СНИЛС in either written form; anything else is returned as it came.

    Unlike :func:`normalize_snils` this never raises: a malformed value goes on to ФЛК, whose format rule
    (301) reports it with the value the СМО sent.
    """
    text = value.strip()
    if _SNILS_WIRE.fullmatch(text) is None:
        return value
    return text.replace("-", "").replace(" ", "")


def _snils_sum(body: int) -> int:
    return _SNILS_W_HI[body // 1_000_000] + _SNILS_W_MID[body // 1000 % 1000] + _SNILS_W_LO[body % 1000]


def snils_check_number(first9: str) -> int:
    """Check number (0..99) of the 9-digit СНИЛС body ``first9`` (bare digits)."""
    if not isinstance(first9, str) or not _is_digits(first9, 9):
        raise IdentifierError("format", f"СНИЛС body must be 9 digits: {first9!r}")
    return _snils_sum(int(first9)) % 101 % 100


def validate_snils(value: str) -> str:
    """Return the normalized 11 digits; raise ``IdentifierError`` ("format" or "check")."""
    bare = normalize_snils(value)
    body = int(bare[:9])
    if body > SNILS_CHECK_THRESHOLD and _snils_sum(body) % 101 % 100 != int(bare[9:]):
        raise IdentifierError("check", f"СНИЛС check number mismatch: {value!r}")
    return bare


def is_valid_snils(value: str) -> bool:
    """True if ``value`` (formatted or bare) is a СНИЛС with a correct check number."""
    try:
        validate_snils(value)
    except IdentifierError:
        return False
    return True


def make_snils(serial: int) -> str:
    """11 bare digits: the 9-digit body ``serial`` (1_001_999..999_999_999) plus its check number."""
    if isinstance(serial, bool) or not isinstance(serial, int):
        raise TypeError(f"serial must be int, got {type(serial).__name__}")
    if not SNILS_MIN_SERIAL <= serial <= SNILS_MAX_SERIAL:
        raise IdentifierError("range", f"СНИЛС serial out of range: {serial}")
    hi = serial // 1_000_000
    mid = serial // 1000 % 1000
    lo = serial % 1000
    check = (_SNILS_W_HI[hi] + _SNILS_W_MID[mid] + _SNILS_W_LO[lo]) % 101 % 100
    return _CHUNK3[hi] + _CHUNK3[mid] + _CHUNK3[lo] + _CHECK2[check]


def format_snils(value: str) -> str:
    """``'XXX-XXX-XXX YY'`` for a formatted or bare СНИЛС (format only, the check is not verified)."""
    bare = normalize_snils(value)
    return f"{bare[0:3]}-{bare[3:6]}-{bare[6:9]} {bare[9:11]}"


# --------------------------------------------------------------------------- Luhn / ЕНП


def luhn_check_digit(digits: str) -> str:
    """The Luhn digit to append to ``digits`` (non-empty ASCII digits)."""
    if not isinstance(digits, str) or not digits or not (digits.isascii() and digits.isdigit()):
        raise IdentifierError("format", f"Luhn payload must be non-empty digits: {digits!r}")
    rev = digits[::-1]  # the rightmost payload digit is doubled
    total = sum(_CHAR_DOUBLE[c] for c in rev[0::2]) + sum(_CHAR_VALUE[c] for c in rev[1::2])
    return _DIGITS[-total % 10]


def _encode_facet(birth_date: datetime.date, sex: int) -> tuple[str, int]:
    """(facet string, its Luhn contribution at ЕНП positions 3..10): the one encoding of ДР and sex.

    ``make_enp`` (millions of calls while seeding), ``enp_facet`` and ``enp_matches_person`` all use it,
    so the rule is written once; its tables keep it to a few dict lookups.
    """
    year = birth_date.year
    month = birth_date.month
    if year <= 1950:
        month += 20
    elif year <= 2000:
        month += 40
    day = birth_date.day
    if sex == SEX_MALE:
        day += 50
    elif sex != SEX_FEMALE:
        raise IdentifierError("range", f"sex must be 1 (male) or 2 (female), got {sex!r}")
    ms, mc = _MONTH[month]
    ds, dc = _DAY[day]
    return ms + _YEAR_STR[year] + ds, mc + _YEAR_SUM[year] + dc


def enp_facet(birth_date: datetime.date, sex: int) -> str:
    """The 8 digits at ЕНП positions 3..10 encoding ``birth_date`` and ``sex`` (1 male, 2 female)."""
    return _encode_facet(birth_date, sex)[0]


def decode_enp_facet(enp: str) -> EnpFacet:
    """Decode ДР and sex from a 16-digit ЕНП (or from its 8-digit facet alone).

    The Luhn digit is not verified here (use ``validate_enp``).  Raises ``IdentifierError("format")``
    if ``enp`` is not 16 (or 8) ASCII digits and ``IdentifierError("facet")`` if the digits do not
    encode a real date and a sex, or the month's century band disagrees with the year.
    """
    if not isinstance(enp, str):
        raise IdentifierError("format", f"ЕНП must be a string, got {type(enp).__name__}")
    if _is_digits(enp, 16):
        facet = enp[2:10]
    elif _is_digits(enp, 8):
        facet = enp
    else:
        raise IdentifierError("format", f"ЕНП must be 16 digits: {enp!r}")
    f = [9 - _CHAR_VALUE[c] for c in facet]
    month = f[0] * 10 + f[1]
    year = f[5] * 1000 + f[4] * 100 + f[3] * 10 + f[2]
    day = f[6] * 10 + f[7]
    if 21 <= month <= 32:
        month -= 20
        band_ok = year <= 1950
    elif 41 <= month <= 52:
        month -= 40
        band_ok = 1951 <= year <= 2000
    elif 1 <= month <= 12:
        band_ok = year > 2000
    else:
        raise IdentifierError("facet", f"ЕНП facet has no valid month: {enp!r}")
    if not band_ok:
        raise IdentifierError("facet", f"ЕНП facet month band disagrees with year {year}: {enp!r}")
    if day > 50:
        day -= 50
        sex = SEX_MALE
    else:
        sex = SEX_FEMALE
    try:
        birth_date = datetime.date(year, month, day)
    except ValueError:
        raise IdentifierError("facet", f"ЕНП facet is not a valid date: {enp!r}") from None
    return EnpFacet(birth_date, sex)


def make_enp(region: str, birth_date: datetime.date, sex: int, serial: int) -> str:
    """16-digit ЕНП: ``region`` (2 digits) + facet + ``serial`` (0..99999, zero-padded) + Luhn digit."""
    region_sum = _REGION.get(region) if isinstance(region, str) else None
    if region_sum is None:
        raise IdentifierError("format", f"region must be 2 digits: {region!r}")
    if isinstance(serial, bool) or not isinstance(serial, int):
        raise TypeError(f"serial must be int, got {type(serial).__name__}")
    if not 0 <= serial <= ENP_MAX_SERIAL:
        raise IdentifierError("range", f"ЕНП serial out of range: {serial}")
    facet, facet_sum = _encode_facet(birth_date, sex)
    total = region_sum + facet_sum + _SERIAL_HI_SUM[serial // 100] + _SERIAL_LO_SUM[serial % 100]
    return f"{region}{facet}{serial:05d}{_DIGITS[-total % 10]}"


def validate_enp(value: str) -> str:
    """Return ``value`` if it is 16 ASCII digits with a correct Luhn digit.

    No normalization is done: a ЕНП is always written as bare digits.  Raises
    ``IdentifierError("format")`` or ``IdentifierError("check")``.  The facet is not checked
    (see ``decode_enp_facet`` / ``enp_matches_person``).
    """
    if not isinstance(value, str) or not _is_digits(value, 16):
        raise IdentifierError("format", f"ЕНП must be 16 digits: {value!r}")
    total = _LUHN4[value[0:4]] + _LUHN4[value[4:8]] + _LUHN4[value[8:12]] + _LUHN4[value[12:16]]
    if total % 10:
        raise IdentifierError("check", f"ЕНП Luhn check failed: {value!r}")
    return value


def is_valid_enp(value: str) -> bool:
    """True if ``value`` is 16 digits with a correct Luhn digit (the facet is not checked)."""
    try:
        validate_enp(value)
    except IdentifierError:
        return False
    return True


def enp_matches_person(enp: str, birth_date: datetime.date, sex: int) -> bool:
    """True if ЕНП digits 3..10 encode exactly ``birth_date`` and ``sex`` (ДР / W).

    Never raises for bad data: a malformed ЕНП or a sex other than 1/2 gives ``False``.
    The Luhn digit is not checked here.
    """
    if not isinstance(enp, str) or not _is_digits(enp, 16):
        return False
    try:
        facet = _encode_facet(birth_date, sex)[0]
    except IdentifierError:
        return False
    return enp[2:10] == facet
