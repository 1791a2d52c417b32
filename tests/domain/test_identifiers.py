"""Property-based tests for rserz_soap.domain.identifiers (СНИЛС and ЕНП).

The module under test uses precomputed tables for speed; the tests compare it against naive,
literal transcriptions of the rules (``_ref_*`` below) in addition to checking the properties.
"""

from __future__ import annotations

import pickle
import re
from datetime import date

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from rserz_soap.domain.identifiers import (
    EnpFacet,
    IdentifierError,
    decode_enp_facet,
    enp_facet,
    enp_matches_person,
    format_snils,
    is_valid_enp,
    is_valid_snils,
    luhn_check_digit,
    make_enp,
    make_snils,
    normalize_snils,
    snils_check_number,
    snils_from_wire,
    validate_enp,
    validate_snils,
)

# --------------------------------------------------------------------------- reference rules

SNILS_THRESHOLD = 1_001_998
SNILS_WEIGHTS = (9, 8, 7, 6, 5, 4, 3, 2, 1)


def _ref_snils_sum(first9: str) -> int:
    return sum(int(c) * w for c, w in zip(first9, SNILS_WEIGHTS, strict=True))


def _ref_snils_check(first9: str) -> int:
    """The rule exactly as written in the domain reference."""
    s = _ref_snils_sum(first9)
    if s < 100:
        return s
    if s in (100, 101):
        return 0
    r = s % 101
    return 0 if r == 100 else r


def _ref_snils_valid(bare: str) -> bool:
    if int(bare[:9]) <= SNILS_THRESHOLD:
        return True
    return _ref_snils_check(bare[:9]) == int(bare[9:])


def _ref_luhn_valid(number: str) -> bool:
    total = 0
    for i, c in enumerate(reversed(number)):
        d = int(c)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _ref_facet(birth_date: date, sex: int) -> str:
    month = birth_date.month
    if birth_date.year <= 1950:
        month += 20
    elif birth_date.year <= 2000:
        month += 40
    day = birth_date.day + (50 if sex == 1 else 0)
    plain = f"{month:02d}" + f"{birth_date.year:04d}"[::-1] + f"{day:02d}"
    return "".join(str(9 - int(c)) for c in plain)


# --------------------------------------------------------------------------- strategies

DATES = st.dates(min_value=date(1900, 1, 1), max_value=date(2026, 12, 31))
SEXES = st.sampled_from([1, 2])
ENP_SERIALS = st.integers(min_value=0, max_value=99_999)
REGIONS = st.integers(min_value=0, max_value=99).map(lambda n: f"{n:02d}")
SNILS_SERIALS = st.integers(min_value=SNILS_THRESHOLD + 1, max_value=999_999_999)
DIGIT_STRINGS = st.text(alphabet="0123456789", min_size=1, max_size=40)


# --------------------------------------------------------------------------- worked examples


def test_enp_worked_example_man_1980() -> None:
    assert enp_facet(date(1980, 5, 15), 1) == "54910834"
    assert make_enp("45", date(1980, 5, 15), 1, 1) == "4554910834000012"
    assert is_valid_enp("4554910834000012")
    assert decode_enp_facet("4554910834000012") == EnpFacet(date(1980, 5, 15), 1)


def test_enp_worked_example_woman_2005() -> None:
    assert enp_facet(date(2005, 11, 3), 2) == "88499796"
    assert make_enp("50", date(2005, 11, 3), 2, 12345) == "5088499796123451"
    assert is_valid_enp("5088499796123451")
    assert decode_enp_facet("5088499796123451") == EnpFacet(date(2005, 11, 3), 2)


def test_snils_worked_example() -> None:
    assert snils_check_number("112233445") == 95
    assert is_valid_snils("112-233-445 95")
    assert is_valid_snils("11223344595")
    assert validate_snils("112-233-445 95") == "11223344595"
    assert make_snils(112_233_445) == "11223344595"
    assert format_snils("11223344595") == "112-233-445 95"
    assert not is_valid_snils("112-233-445 96")


@pytest.mark.parametrize(
    ("first9", "check"),
    [
        ("112233466", 0),  # sum 100 → 00
        ("112233467", 0),  # sum 101 → 00
        ("112233468", 1),  # sum 102 → 102 mod 101 = 1
        ("112233443", 93),  # sum 93 < 100 → the sum itself
        ("999999999", 1),  # sum 405 = 4·101 + 1
    ],
)
def test_snils_check_number_boundaries(first9: str, check: int) -> None:
    assert snils_check_number(first9) == check == _ref_snils_check(first9)


def test_luhn_known_vector() -> None:
    assert luhn_check_digit("7992739871") == "3"
    assert luhn_check_digit("455491083400001") == "2"
    assert luhn_check_digit("508849979612345") == "1"


# --------------------------------------------------------------------------- ЕНП properties


@settings(max_examples=500)
@given(region=REGIONS, birth_date=DATES, sex=SEXES, serial=ENP_SERIALS)
def test_make_enp_is_valid_and_matches_reference(
    region: str, birth_date: date, sex: int, serial: int
) -> None:
    enp = make_enp(region, birth_date, sex, serial)
    assert len(enp) == 16 and enp.isdigit()
    assert enp[:2] == region
    assert enp[2:10] == enp_facet(birth_date, sex) == _ref_facet(birth_date, sex)
    assert enp[10:15] == f"{serial:05d}"
    assert enp[15] == luhn_check_digit(enp[:15])
    assert _ref_luhn_valid(enp)
    assert is_valid_enp(enp)
    assert validate_enp(enp) == enp


@settings(max_examples=500)
@given(region=REGIONS, birth_date=DATES, sex=SEXES, serial=ENP_SERIALS)
def test_decode_make_round_trip(region: str, birth_date: date, sex: int, serial: int) -> None:
    enp = make_enp(region, birth_date, sex, serial)
    assert decode_enp_facet(enp) == EnpFacet(birth_date, sex)
    assert decode_enp_facet(enp[2:10]) == EnpFacet(birth_date, sex)
    assert enp_matches_person(enp, birth_date, sex)


@given(birth_date=st.dates(), sex=SEXES)
@example(birth_date=date(1950, 12, 31), sex=1)
@example(birth_date=date(1951, 1, 1), sex=2)
@example(birth_date=date(2000, 12, 31), sex=1)
@example(birth_date=date(2001, 1, 1), sex=2)
@example(birth_date=date(1, 1, 1), sex=2)
@example(birth_date=date(9999, 12, 31), sex=1)
def test_facet_round_trip_whole_date_range(birth_date: date, sex: int) -> None:
    facet = enp_facet(birth_date, sex)
    assert facet == _ref_facet(birth_date, sex)
    assert decode_enp_facet(facet) == EnpFacet(birth_date, sex)


@settings(max_examples=500)
@given(facet=st.text(alphabet="0123456789", min_size=8, max_size=8))
def test_decode_is_canonical_or_rejects(facet: str) -> None:
    """Every 8-digit string either fails with "facet" or is exactly what the encoder produces."""
    code: str | None
    try:
        decoded = decode_enp_facet(facet)
    except IdentifierError as exc:
        code = exc.code
    else:
        code = None
        assert enp_facet(decoded.birth_date, decoded.sex) == facet
    assert code in (None, "facet")


@given(
    region=REGIONS,
    birth_date=DATES,
    sex=SEXES,
    serial=ENP_SERIALS,
    other_date=DATES,
    other_sex=SEXES,
)
def test_enp_matches_person_only_for_own_facet(
    region: str, birth_date: date, sex: int, serial: int, other_date: date, other_sex: int
) -> None:
    enp = make_enp(region, birth_date, sex, serial)
    expected = (other_date, other_sex) == (birth_date, sex)
    assert enp_matches_person(enp, other_date, other_sex) is expected


@settings(max_examples=300)
@given(
    region=REGIONS,
    birth_date=DATES,
    sex=SEXES,
    serial=ENP_SERIALS,
    position=st.integers(min_value=0, max_value=15),
    shift=st.integers(min_value=1, max_value=9),
)
def test_any_single_digit_change_of_enp_is_detected(
    region: str, birth_date: date, sex: int, serial: int, position: int, shift: int
) -> None:
    enp = make_enp(region, birth_date, sex, serial)
    new_digit = str((int(enp[position]) + shift) % 10)
    mutated = enp[:position] + new_digit + enp[position + 1 :]
    assert mutated != enp
    assert not is_valid_enp(mutated)
    with pytest.raises(IdentifierError) as info:
        validate_enp(mutated)
    assert info.value.code == "check"


def test_every_single_digit_change_of_worked_examples_is_detected() -> None:
    for enp in ("4554910834000012", "5088499796123451"):
        for position in range(16):
            for digit in "0123456789":
                if digit != enp[position]:
                    assert not is_valid_enp(enp[:position] + digit + enp[position + 1 :])


@given(payload=DIGIT_STRINGS)
def test_luhn_check_digit_matches_reference(payload: str) -> None:
    digit = luhn_check_digit(payload)
    assert len(digit) == 1 and digit.isdigit()
    assert _ref_luhn_valid(payload + digit)
    # it is the only digit that works
    assert [d for d in "0123456789" if _ref_luhn_valid(payload + d)] == [digit]


@given(number=st.text(alphabet="0123456789", min_size=16, max_size=16))
def test_is_valid_enp_agrees_with_reference_luhn(number: str) -> None:
    assert is_valid_enp(number) is _ref_luhn_valid(number)


# --------------------------------------------------------------------------- СНИЛС properties


@settings(max_examples=500)
@given(serial=SNILS_SERIALS)
@example(serial=SNILS_THRESHOLD + 1)
@example(serial=999_999_999)
@example(serial=112_233_466)
@example(serial=112_233_467)
def test_make_snils_is_valid(serial: int) -> None:
    snils = make_snils(serial)
    assert len(snils) == 11 and snils.isdigit()
    assert int(snils[:9]) == serial
    assert int(snils[9:]) == snils_check_number(snils[:9]) == _ref_snils_check(snils[:9])
    assert is_valid_snils(snils)
    assert validate_snils(snils) == snils
    assert is_valid_snils(format_snils(snils))


@given(first9=st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_snils_check_number_matches_reference(first9: str) -> None:
    check = snils_check_number(first9)
    assert 0 <= check <= 99
    assert check == _ref_snils_check(first9)


@given(
    body=st.integers(min_value=0, max_value=SNILS_THRESHOLD),
    check=st.integers(min_value=0, max_value=99),
)
@example(body=0, check=0)
@example(body=SNILS_THRESHOLD, check=42)
def test_snils_at_or_below_threshold_accepts_any_check_number(body: int, check: int) -> None:
    assert is_valid_snils(f"{body:09d}{check:02d}")


def test_snils_just_above_threshold_is_checked() -> None:
    good = make_snils(SNILS_THRESHOLD + 1)
    assert good[:9] == "001001999"
    bad = good[:9] + f"{(int(good[9:]) + 1) % 100:02d}"
    assert not is_valid_snils(bad)
    with pytest.raises(IdentifierError) as info:
        validate_snils(bad)
    assert info.value.code == "check"


def _snils_single_digit_change_undetected(first9: str, position: int, new_digit: int) -> bool:
    """The exact blind spot of the СНИЛС check (derived in the module docstring).

    A change of digit ``position`` by ``delta`` moves the weighted sum by ``w·delta`` with
    ``0 < |w·delta| ≤ 81 < 101``, so the residue mod 101 always changes; the check number
    (``residue % 100``) stays the same only when the residues are {0, 100}, i.e. ``w·delta = ±1``:
    the 9th digit (weight 1) changes by exactly ±1 between residues 0 and 100.
    """
    delta = new_digit - int(first9[position])
    residue = _ref_snils_sum(first9) % 101
    return position == 8 and abs(delta) == 1 and {residue, (residue + delta) % 101} == {0, 100}


@settings(max_examples=300)
@given(serial=SNILS_SERIALS)
@example(serial=112_233_466)  # sum 100: 9th digit +1 → sum 101, both check 00
@example(serial=112_233_467)  # sum 101: 9th digit −1 → sum 100
def test_single_digit_change_in_snils_body_is_detected_except_the_exact_blind_spot(serial: int) -> None:
    snils = make_snils(serial)
    first9, check = snils[:9], snils[9:]
    for position in range(9):
        for new_digit in range(10):
            if new_digit == int(first9[position]):
                continue
            mutated_body = first9[:position] + str(new_digit) + first9[position + 1 :]
            mutated = mutated_body + check
            if int(mutated_body) <= SNILS_THRESHOLD:
                # the mutation moved the number into the unchecked range: accepted by the rule
                assert is_valid_snils(mutated)
                continue
            undetected = _snils_single_digit_change_undetected(first9, position, new_digit)
            assert is_valid_snils(mutated) is undetected, (snils, mutated)


def test_snils_blind_spot_is_real() -> None:
    """Two valid СНИЛС differing only by ±1 in the 9th digit: 112-233-466 00 and 112-233-467 00."""
    assert _ref_snils_sum("112233466") == 100
    assert _ref_snils_sum("112233467") == 101
    assert is_valid_snils("112-233-466 00")
    assert is_valid_snils("112-233-467 00")
    # residue 0 ↔ 100 through sums 202/201 as well
    assert _ref_snils_sum("996100001") == 202  # 202 mod 101 = 0
    assert _ref_snils_sum("996100000") == 201  # 201 mod 101 = 100 → 00
    assert is_valid_snils("996-100-001 00")
    assert is_valid_snils("996-100-000 00")
    assert make_snils(996_100_001) == "99610000100"
    assert make_snils(996_100_000) == "99610000000"


def test_snils_blind_spot_characterisation_is_exhaustive() -> None:
    """Over all (position, old digit, new digit, residue) the only collisions are the ones claimed."""
    collisions = set()
    for position, weight in enumerate(SNILS_WEIGHTS):
        for old in range(10):
            for new in range(10):
                if new == old:
                    continue
                for residue in range(101):
                    new_residue = (residue + weight * (new - old)) % 101
                    if residue % 100 == new_residue % 100:
                        collisions.add((position, new - old, residue, new_residue))
    assert collisions == {(8, 1, 100, 0), (8, -1, 0, 100)}


@settings(max_examples=200)
@given(serial=SNILS_SERIALS, wrong=st.integers(min_value=0, max_value=99))
def test_any_change_of_the_check_number_is_detected(serial: int, wrong: int) -> None:
    snils = make_snils(serial)
    assume(wrong != int(snils[9:]))
    assert not is_valid_snils(f"{snils[:9]}{wrong:02d}")


@given(first9=st.text(alphabet="0123456789", min_size=9, max_size=9), check=st.integers(0, 99))
def test_is_valid_snils_agrees_with_reference(first9: str, check: int) -> None:
    bare = f"{first9}{check:02d}"
    assert is_valid_snils(bare) is _ref_snils_valid(bare)


# --------------------------------------------------------------------------- formatting


FORMATTED = re.compile(r"\d{3}-\d{3}-\d{3} \d{2}")


@given(bare=st.text(alphabet="0123456789", min_size=11, max_size=11))
def test_snils_formatting_round_trip(bare: str) -> None:
    formatted = format_snils(bare)
    assert FORMATTED.fullmatch(formatted)
    assert normalize_snils(formatted) == bare
    assert format_snils(formatted) == formatted
    assert is_valid_snils(formatted) is is_valid_snils(bare)


@given(serial=SNILS_SERIALS)
def test_snils_formatting_round_trip_for_generated(serial: int) -> None:
    snils = make_snils(serial)
    assert validate_snils(format_snils(snils)) == snils


@pytest.mark.parametrize(
    "variant",
    [
        "112-233-445 95",
        "112 233 445 95",
        "112-233-445-95",
        "11223344595",
        "  112-233-445 95\n",
        "112233445 95",
    ],
)
def test_normalize_snils_accepts_common_spellings(variant: str) -> None:
    assert normalize_snils(variant) == "11223344595"


# --------------------------------------------------------------------------- malformed input


MALFORMED_SNILS = [
    "",
    "1122334459",  # 10 digits
    "112233445955",  # 12 digits
    "112-233-445 9x",
    "112_233_445_95",
    "112.233.445 95",
    "１１２２３３４４５９５",  # fullwidth digits: str.isdigit() is True, still not accepted
    "١١٢٢٣٣٤٤٥٩٥",  # Arabic-Indic digits
    "+1122334459",
]


@pytest.mark.parametrize("value", MALFORMED_SNILS)
def test_malformed_snils_raises_format(value: str) -> None:
    for func in (normalize_snils, validate_snils, format_snils):
        with pytest.raises(IdentifierError) as info:
            func(value)
        assert info.value.code == "format"
    assert not is_valid_snils(value)


def test_non_string_snils_raises_format() -> None:
    with pytest.raises(IdentifierError) as info:
        validate_snils(11223344595)  # type: ignore[arg-type]
    assert info.value.code == "format"
    assert not is_valid_snils(None)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["", "12345678", "1234567890", "11223344x", "１１２２３３４４５"])
def test_snils_check_number_rejects_malformed(value: str) -> None:
    with pytest.raises(IdentifierError) as info:
        snils_check_number(value)
    assert info.value.code == "format"


@given(bare=st.text(alphabet="0123456789", min_size=11, max_size=11))
def test_validate_snils_raises_check_exactly_when_invalid(bare: str) -> None:
    if _ref_snils_valid(bare):
        assert validate_snils(bare) == bare
    else:
        with pytest.raises(IdentifierError) as info:
            validate_snils(bare)
        assert info.value.code == "check"


MALFORMED_ENP = [
    "",
    "455491083400001",  # 15 digits
    "45549108340000120",  # 17 digits
    "4554 9108 3400 0012",
    "455491083400001x",
    " 4554910834000012",
    "４５５４９１０８３４０００００１２",  # fullwidth
]


@pytest.mark.parametrize("value", MALFORMED_ENP)
def test_malformed_enp_raises_format(value: str) -> None:
    with pytest.raises(IdentifierError) as info:
        validate_enp(value)
    assert info.value.code == "format"
    assert not is_valid_enp(value)
    assert not enp_matches_person(value, date(1980, 5, 15), 1)
    with pytest.raises(IdentifierError) as info:
        decode_enp_facet(value)
    assert info.value.code == "format"


def test_non_string_enp() -> None:
    assert not is_valid_enp(4554910834000012)  # type: ignore[arg-type]
    assert not enp_matches_person(None, date(1980, 5, 15), 1)  # type: ignore[arg-type]
    with pytest.raises(IdentifierError) as info:
        decode_enp_facet(None)  # type: ignore[arg-type]
    assert info.value.code == "format"


def test_enp_bad_luhn_raises_check() -> None:
    with pytest.raises(IdentifierError) as info:
        validate_enp("4554910834000013")
    assert info.value.code == "check"


def _facet_digits(month: int, year: int, day: int) -> str:
    plain = f"{month:02d}{f'{year:04d}'[::-1]}{day:02d}"
    return "".join(str(9 - int(c)) for c in plain)


@pytest.mark.parametrize(
    ("month", "year", "day"),
    [
        (0, 2005, 3),  # month 0
        (13, 2005, 3),  # month 13
        (20, 1940, 3),  # 20 → month 0 in the ≤1950 band
        (33, 1940, 3),
        (40, 1980, 3),
        (53, 1980, 3),
        (25, 1980, 15),  # ≤1950 band, but the year is 1980
        (45, 1950, 15),  # 1951–2000 band, but the year is 1950
        (45, 2001, 15),  # 1951–2000 band, but the year is 2001
        (5, 1980, 15),  # 2001+ band, but the year is 1980
        (5, 2000, 15),  # 2001+ band, but the year is 2000
        (45, 1980, 0),  # day 0 (woman)
        (45, 1980, 50),  # day 0 (man)
        (45, 1980, 32),  # day 32
        (45, 1980, 49),
        (45, 1980, 82),  # man, day 32
        (45, 1980, 99),
        (42, 1981, 29),  # 1981-02-29 does not exist
        (42, 1981, 80),  # man, 1981-02-30
        (44, 1980, 31),  # 1980-04-31
        (21, 0, 1),  # year 0
    ],
)
def test_invalid_facet_raises_facet(month: int, year: int, day: int) -> None:
    facet = _facet_digits(month, year, day)
    payload = "45" + facet + "00001"
    enp = payload + luhn_check_digit(payload)
    assert is_valid_enp(enp)  # Luhn is fine, only the facet is wrong
    for value in (enp, facet):
        with pytest.raises(IdentifierError) as info:
            decode_enp_facet(value)
        assert info.value.code == "facet"


def test_leap_day_facets() -> None:
    for born in (date(1948, 2, 29), date(1996, 2, 29), date(2000, 2, 29), date(2024, 2, 29)):
        for sex in (1, 2):
            enp = make_enp("77", born, sex, 99_999)
            assert decode_enp_facet(enp) == EnpFacet(born, sex)


@pytest.mark.parametrize("region", ["", "4", "450", "4a", "٤٥", "４５", " 4"])
def test_make_enp_rejects_bad_region(region: str) -> None:
    with pytest.raises(IdentifierError) as info:
        make_enp(region, date(1980, 5, 15), 1, 1)
    assert info.value.code == "format"


@pytest.mark.parametrize("serial", [-1, 100_000, 10**9])
def test_make_enp_rejects_serial_out_of_range(serial: int) -> None:
    with pytest.raises(IdentifierError) as info:
        make_enp("45", date(1980, 5, 15), 1, serial)
    assert info.value.code == "range"


@pytest.mark.parametrize("sex", [0, 3, -1, 9])
def test_bad_sex(sex: int) -> None:
    with pytest.raises(IdentifierError) as info:
        enp_facet(date(1980, 5, 15), sex)
    assert info.value.code == "range"
    with pytest.raises(IdentifierError) as info:
        make_enp("45", date(1980, 5, 15), sex, 1)
    assert info.value.code == "range"
    assert not enp_matches_person("4554910834000012", date(1980, 5, 15), sex)


@pytest.mark.parametrize("serial", [-1, 0, SNILS_THRESHOLD, 1_000_000_000])
def test_make_snils_rejects_serial_out_of_range(serial: int) -> None:
    with pytest.raises(IdentifierError) as info:
        make_snils(serial)
    assert info.value.code == "range"


@pytest.mark.parametrize("serial", [1.5e6, "112233445", None, True])
def test_make_rejects_non_int_serial(serial: object) -> None:
    with pytest.raises(TypeError):
        make_snils(serial)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        make_enp("45", date(1980, 5, 15), 1, serial)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["", "12a", "１２"])
def test_luhn_rejects_malformed(value: str) -> None:
    with pytest.raises(IdentifierError) as info:
        luhn_check_digit(value)
    assert info.value.code == "format"


def test_identifier_error_is_value_error_and_pickles() -> None:
    err = IdentifierError("check", "bad check number")
    assert isinstance(err, ValueError)
    assert str(err) == "bad check number"
    clone = pickle.loads(pickle.dumps(err))
    assert type(clone) is IdentifierError
    assert (clone.code, str(clone)) == ("check", "bad check number")
    assert IdentifierError("format").code == "format"
    assert str(IdentifierError(code="facet")) == "facet"


def test_enp_facet_is_frozen() -> None:
    facet = EnpFacet(date(1980, 5, 15), 1)
    with pytest.raises(AttributeError):
        facet.sex = 2  # type: ignore[misc]


# --------------------------------------------------------------------------- СНИЛС on the wire


_ELEVEN_DIGITS = st.text(alphabet="0123456789", min_size=11, max_size=11)


@given(_ELEVEN_DIGITS)
def test_both_written_forms_of_a_snils_give_the_same_11_digits(digits: str) -> None:
    hyphenated = f"{digits[:3]}-{digits[3:6]}-{digits[6:9]} {digits[9:]}"

    assert snils_from_wire(digits) == digits
    assert snils_from_wire(hyphenated) == digits
    assert snils_from_wire(f"  {hyphenated} ") == digits
    assert format_snils(snils_from_wire(hyphenated)) == hyphenated


@given(st.text(max_size=20))
def test_anything_else_is_returned_as_sent_for_flk_to_name(value: str) -> None:
    bare = value.strip()
    accepted = re.fullmatch(r"[0-9]{11}|[0-9]{3}-[0-9]{3}-[0-9]{3} [0-9]{2}", bare)
    assume(accepted is None)

    assert snils_from_wire(value) == value


@pytest.mark.parametrize("value", ["112-233-44595", "112 233 445 95", "112-233-445-95", "1122334459"])
def test_other_separators_are_not_a_written_form(value: str) -> None:
    assert snils_from_wire(value) == value
