"""Duplicate scoring: each federal key on its own, the typos it forgives, and the score's invariants."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rserz_soap.domain.duplicates import (
    KEYS,
    PENALTIES,
    TYPO_FACTORS,
    Level,
    compare_parts,
    edit_distance,
    normalize_name,
    score,
    swapped_variants,
)
from rserz_soap.domain.identifiers import make_snils
from rserz_soap.domain.person import Address, PersonCard
from tests import builders

ELSEWHERE = builders.address_g(settlement="г. Тихоборск", street="ул. Мира", house="7", flat="1")


def card(*, docs: tuple[Any, ...] = (), address: Address | None = ELSEWHERE, **data: Any) -> PersonCard:
    return PersonCard(
        data=builders.person_data(**data),
        documents=frozenset(docs),
        addresses=frozenset({address} if address is not None else ()),
    )


def full() -> PersonCard:
    return card(docs=(builders.passport(),), address=builders.address_g())


def stranger(**data: Any) -> dict[str, Any]:
    """Person data sharing nothing with :func:`full` but what the caller passes."""
    base: dict[str, Any] = {
        "fam": "Петров",
        "im": "Игорь",
        "ot": "Сергеевич",
        "w": 1,
        "dr": date(1971, 2, 3),
        "mr": "г. Омск",
        "ss": None,
    }
    return {**base, **data}


def test_the_same_card_matches_every_key() -> None:
    s = score(full(), full())
    assert s.matched == {k.name for k in KEYS}
    assert s.total > 0.999 and s.penalties == ()
    assert all(k.exact for k in s.keys)


def test_the_keys_table_is_consistent() -> None:
    names = [k.name for k in KEYS]
    assert len(names) == len(set(names)) == 6
    assert all(0 < k.weight <= 1 for k in KEYS)
    parts = {p for k in KEYS for p in k.parts}
    assert set(TYPO_FACTORS) <= parts and all(0 < f < 1 for f in TYPO_FACTORS.values())
    assert all(0 < f < 1 for f in PENALTIES.values())


@pytest.mark.parametrize(
    ("other", "key"),
    [
        # (1) full name + birth date + birth place
        (card(ss=None), "name_birth_place"),
        # (2) identity document alone, everything else different
        (card(docs=(builders.passport(),), **stranger()), "document"),
        # (3) full name + birth date + СНИЛС, birth place different
        (card(mr="г. Омск"), "name_birth_snils"),
        # (4) birth date + registration address: a new surname and name, same day, same flat
        (card(address=builders.address_g(), **stranger(dr=date(1985, 4, 12), w=2)), "birth_address"),
        # (5) full name + registration address, another birth date
        (card(address=builders.address_g(), dr=date(1979, 1, 30), mr="г. Омск", ss=None), "name_address"),
        # (6) СНИЛС alone
        (card(**stranger(ss=make_snils(123_456_789), w=2)), "snils"),
    ],
)
def test_each_key_matches_on_its_own(other: PersonCard, key: str) -> None:
    base = full()
    s = score(base, other)
    expected = {key, "snils"} if key == "name_birth_snils" else {key}
    assert s.matched == expected
    weight = next(k.weight for k in KEYS if k.name == key)
    assert s.key(key) is not None and s.key(key).weight == pytest.approx(weight)  # type: ignore[union-attr]


def test_an_unrelated_person_scores_zero() -> None:
    s = score(full(), card(**stranger()))
    assert s.total == 0.0 and s.keys == ()
    assert s.penalties == ("sex_differs",)


def test_a_different_sex_halves_an_otherwise_good_match() -> None:
    twin_brother = card(address=builders.address_g(), **stranger(dr=date(1985, 4, 12), w=1))
    sister = card(address=builders.address_g(), **stranger(dr=date(1985, 4, 12), w=2))
    expected = score(full(), sister).total * PENALTIES["sex_differs"]
    assert score(full(), twin_brother).total == pytest.approx(expected)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Семёнова", "СЕМЕНОВА"),
        ("Иванова-Петрова", "иванова петрова"),
        ("Д'Артаньян", "д артаньян"),
        ("  Анна ", "анна"),
    ],
)
def test_names_are_normalised(a: str, b: str) -> None:
    assert normalize_name(a) == normalize_name(b)


def test_yo_and_case_make_an_exact_name_match() -> None:
    parts = compare_parts(card(fam="Семёнова", im="АННА"), card(fam="Семенова", im="анна"))
    assert parts["name"].level is Level.EXACT


@pytest.mark.parametrize(
    ("fam", "im", "ot", "level"),
    [
        ("Смирнвоа", "Анна", "Петровна", Level.TYPO),  # adjacent letters swapped
        ("Смирнова", "Ана", "Петровна", Level.NONE),  # "Ана": too short a part to forgive an edit
        ("Смирнова", "Анна", "Петровнa", Level.TYPO),  # one letter replaced (Latin a)
        ("Смирнова", "Анна", None, Level.TYPO),  # patronymic on one side only
        ("Смирнвоа", "Анна", "Петрвона", Level.TYPO),  # two parts, one edit each
        ("Смирнвоа", "Анан", "Петрвона", Level.NONE),  # three edits: another person
        ("Смирнова", "Анна", "Павловна", Level.NONE),
        ("Смирнов", "Анна", "Петровна", Level.TYPO),  # one deletion
    ],
)
def test_name_typos(fam: str, im: str, ot: str | None, level: Level) -> None:
    assert compare_parts(full(), card(fam=fam, im=im, ot=ot))["name"].level is level


def test_a_typo_match_weighs_less_than_the_exact_one() -> None:
    exact = score(full(), card(ss=None))
    typo = score(full(), card(fam="Смирнвоа", ss=None))
    assert typo.matched == exact.matched == {"name_birth_place"}
    assert typo.total == pytest.approx(exact.total * TYPO_FACTORS["name"])
    assert not typo.keys[0].exact and typo.keys[0].reasons[0].startswith("~")


@pytest.mark.parametrize(
    ("docnum", "docser", "level"),
    [
        ("123456", "45 05", Level.EXACT),
        ("123 456", "4505", Level.EXACT),  # spaces are formatting
        ("124356", "45 05", Level.TYPO),  # two adjacent digits swapped
        ("123465", "45 05", Level.TYPO),
        ("654321", "45 05", Level.NONE),
        ("123457", "45 05", Level.NONE),  # a different digit is another document
        ("123456", "54 05", Level.TYPO),  # swapped in the series
        ("124365", "45 05", Level.NONE),  # two swaps
    ],
)
def test_document_typos(docnum: str, docser: str, level: Level) -> None:
    other = card(docs=(builders.passport(docnum=docnum, docser=docser),))
    assert compare_parts(full(), other)["document"].level is level


def test_a_document_of_another_type_never_matches() -> None:
    other = card(docs=(builders.passport(doctype=3),))
    assert compare_parts(full(), other)["document"].level is Level.NONE


@pytest.mark.parametrize(
    ("dr", "level"),
    [
        (date(1985, 4, 12), Level.EXACT),
        (date(1985, 12, 4), Level.TYPO),  # day and month swapped
        (date(1986, 4, 12), Level.TYPO),  # one digit of the year
        (date(1958, 4, 12), Level.TYPO),  # two digits of the year swapped
        (date(1985, 4, 21), Level.TYPO),  # two digits of the day swapped
        (date(1986, 5, 12), Level.NONE),
    ],
)
def test_birth_date_typos(dr: date, level: Level) -> None:
    assert compare_parts(full(), card(dr=dr))["dr"].level is level


@pytest.mark.parametrize(
    ("mr", "level"),
    [
        ("Северск", Level.EXACT),  # "г." is not part of the name
        ("гор. СЕВЕРСК", Level.EXACT),
        ("г. Северск Томской обл.", Level.TYPO),  # more detail on one side
        ("г. Северкс", Level.TYPO),
        ("г. Омск", Level.NONE),
        (None, Level.NONE),
    ],
)
def test_birth_place_variants(mr: str | None, level: Level) -> None:
    assert compare_parts(full(), card(mr=mr))["mr"].level is level


def test_registration_addresses_written_differently_match() -> None:
    other = card(
        address=builders.address_g(settlement="Северск", street="Ленина улица", house="д. 5", flat="кв. 12")
    )
    assert compare_parts(full(), other)["address"].level is Level.EXACT


def test_another_flat_is_another_address() -> None:
    other = card(address=builders.address_g(flat="13"))
    assert compare_parts(full(), other)["address"].level is Level.NONE


def test_an_address_without_a_house_is_too_vague_to_match() -> None:
    vague = builders.address_g(house=None, flat=None)
    assert compare_parts(card(address=vague), card(address=vague))["address"].level is Level.NONE


def test_the_same_fias_house_and_flat_match_whatever_the_text() -> None:
    guid = "0c5b2444-70a0-4932-980c-b4dc0d3f02b5"
    a = card(address=builders.address_g(fias_guid=guid, street="ул. Ленина"))
    b = card(address=builders.address_g(fias_guid=guid.upper(), street="пр-т Ленина"))
    assert compare_parts(a, b)["address"].level is Level.EXACT


def test_edit_distance_counts_an_adjacent_swap_as_one() -> None:
    assert edit_distance("смирнова", "смирнвоа") == 1
    assert edit_distance("kitten", "sitting") == 3
    assert edit_distance("abc", "abcdef", limit=1) == 2  # capped: "more than the limit"


def test_swapped_variants_swap_adjacent_different_digits_only() -> None:
    assert swapped_variants("1123") == ["1213", "1132"]
    assert swapped_variants("R-АБ") == []


_NAMES = st.sampled_from(["Смирнова", "Смирнвоа", "Семёнова", "Иванова-Петрова", "Петров", "Ян", "Анна"])
_DATES = st.dates(date(1930, 1, 1), date(2024, 12, 31))
_DOCNUMS = st.sampled_from(["123456", "124356", "654321", "123465"])


@st.composite
def cards(draw: st.DrawFn) -> PersonCard:
    data = builders.person_data(
        fam=draw(_NAMES),
        im=draw(_NAMES),
        ot=draw(st.one_of(st.none(), _NAMES)),
        w=draw(st.sampled_from([1, 2])),
        dr=draw(st.sampled_from([date(1985, 4, 12), date(1985, 12, 4)]) | _DATES),
        mr=draw(st.sampled_from([None, "г. Северск", "Северск Томской обл.", "г. Омск"])),
        ss=draw(st.sampled_from([None, make_snils(123_456_789), make_snils(987_654_321)])),
    )
    docs = draw(st.lists(_DOCNUMS, max_size=2))
    address = draw(st.sampled_from([None, builders.address_g(), ELSEWHERE]))
    return PersonCard(
        data=data,
        documents=frozenset(builders.passport(docnum=n) for n in docs),
        addresses=frozenset({address} if address else ()),
    )


@given(cards(), cards())
def test_the_score_is_symmetric_and_bounded(a: PersonCard, b: PersonCard) -> None:
    ab, ba = score(a, b), score(b, a)
    assert 0.0 <= ab.total <= 1.0
    assert ab.total == pytest.approx(ba.total)
    assert ab.matched == ba.matched


@given(cards(), cards())
def test_a_match_never_scores_below_its_strongest_key(a: PersonCard, b: PersonCard) -> None:
    s = score(a, b)
    factor = PENALTIES["sex_differs"] if s.penalties else 1.0
    assert all(s.total >= k.weight * factor - 1e-9 for k in s.keys)


@given(cards())
def test_a_card_is_its_own_duplicate_by_every_key_it_has_data_for(a: PersonCard) -> None:
    s = score(a, dataclasses.replace(a))
    assert all(k.exact for k in s.keys)
    if a.data.ss:
        assert "name_birth_snils" in s.matched


@given(
    st.text(alphabet="абвгдеёжзийклмнопрстуфхцчшщъыьэюя", min_size=0, max_size=12),
    st.text(alphabet="абвгдеёжзийклмнопрстуфхцчшщъыьэюя", min_size=0, max_size=12),
)
def test_edit_distance_is_a_symmetric_distance(a: str, b: str) -> None:
    d = edit_distance(a, b)
    assert d == edit_distance(b, a)
    assert (d == 0) == (a == b)
    assert abs(len(a) - len(b)) <= d <= max(len(a), len(b))
    assert edit_distance(a, b, limit=1) == min(d, 2)
