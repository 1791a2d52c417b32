"""F011 mask matching: literal cases from the bundled directory and properties of each mask character."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rserz_soap.domain.documents import (
    CYRILLIC_CAPITALS,
    ROMAN_CHARS,
    compile_mask,
    example_for_mask,
    mask_matches,
)

DIGITS = "0123456789"


@pytest.mark.parametrize(
    ("mask", "value", "expected"),
    [
        # RF passport (14)
        ("99 99", "45 05", True),
        ("99 99", "4505", False),
        ("99 99", "45 0A", False),
        ("999999", "123456", True),
        ("999999", "12345", False),
        ("999999", "1234567", False),
        # birth certificate (3)
        ("R-ББ", "IV-ЗВ", True),
        ("R-ББ", "XXIV-АБ", True),
        ("R-ББ", "-АБ", False),  # R needs at least one numeral letter
        ("R-ББ", "IV-зв", False),  # capitals only
        ("R-ББ", "IV-AB", False),  # Latin A/B look Cyrillic but are not
        ("R-ББ", "ІV-АБ", False),  # Ukrainian І is not the Latin I
        ("R-ББ", "IZ-АБ", False),
        ("R-ББ", "IV-ЁЖ", True),
        # optional digit (residence permit before 2020)
        ("0999999", "123456", True),
        ("0999999", "1234567", True),
        ("0999999", "12345", False),
        ("0999999", "12345678", False),
        # any letter or digit
        ("SS", "A1", True),
        ("SS", "яZ", True),
        ("SS", "A-", False),
        # literal characters other than mask letters
        ("99-99", "12-34", True),
        ("99-99", "12 34", False),
        ("9.9", "1.2", True),
        ("9.9", "1x2", False),  # the dot is literal, not a regex wildcard
        # empty mask = free text, but a value is required
        ("", "AB1234567", True),
        ("", "любой текст", True),
        ("", "", False),
        (None, "X", True),
    ],
)
def test_bundled_masks(mask: str | None, value: str, expected: bool) -> None:
    assert mask_matches(mask, value) is expected


def test_missing_value_never_matches() -> None:
    assert not mask_matches("99", None)
    assert not mask_matches(None, None)
    assert not mask_matches("999999", "")


def test_masks_are_compiled_once() -> None:
    assert compile_mask("99 99") is compile_mask("99 99")


@given(st.text(alphabet=DIGITS, min_size=1, max_size=12))
def test_nines_accept_exactly_that_many_digits(value: str) -> None:
    assert mask_matches("9" * len(value), value)
    assert not mask_matches("9" * (len(value) + 1), value)
    if len(value) > 1:
        assert not mask_matches("9" * (len(value) - 1), value)


@given(st.text(min_size=1, max_size=8).filter(lambda s: not all(c in DIGITS for c in s)))
def test_nines_refuse_anything_but_ascii_digits(value: str) -> None:
    assert not mask_matches("9" * len(value), value)


@given(st.text(alphabet="٠١٢٣٤٥٦٧٨٩０１２３", min_size=1, max_size=6))
def test_unicode_digits_are_not_digits(value: str) -> None:
    assert not mask_matches("9" * len(value), value)


@given(st.text(alphabet=CYRILLIC_CAPITALS, min_size=1, max_size=6))
def test_b_accepts_cyrillic_capitals(value: str) -> None:
    assert mask_matches("Б" * len(value), value)
    assert not mask_matches("Б" * len(value), value.lower())


@given(st.text(alphabet="ABCEHKMOPTXY", min_size=1, max_size=4))
def test_b_refuses_latin_lookalikes(value: str) -> None:
    assert not mask_matches("Б" * len(value), value)


@given(
    st.text(alphabet=ROMAN_CHARS, min_size=1, max_size=8),
    st.text(alphabet=CYRILLIC_CAPITALS, min_size=2, max_size=2),
)
def test_r_accepts_any_run_of_roman_letters(roman: str, letters: str) -> None:
    assert mask_matches("R-ББ", f"{roman}-{letters}")
    assert not mask_matches("R-ББ", f"{roman.lower()}-{letters}")
    assert not mask_matches("R-ББ", f"{roman}{letters}")


@given(
    st.text(alphabet=ROMAN_CHARS + "DM1", min_size=1, max_size=5).filter(lambda s: any(c in "DM1" for c in s))
)
def test_r_refuses_other_letters(value: str) -> None:
    assert not mask_matches("R", value)


@settings(max_examples=200)
@given(st.text(alphabet="90БRS -", min_size=0, max_size=10), st.integers(min_value=0, max_value=2**32))
def test_examples_match_their_mask(mask: str, seed: int) -> None:
    value = example_for_mask(mask, random.Random(seed))
    assert value
    assert mask_matches(mask, value)


def test_examples_are_deterministic_for_a_seed() -> None:
    assert example_for_mask("R-ББ 999999", random.Random(7)) == example_for_mask(
        "R-ББ 999999", random.Random(7)
    )
