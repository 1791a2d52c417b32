"""The synthetic region generator: determinism, internal validity and realism of the population."""

from __future__ import annotations

import dataclasses
import itertools
from collections import Counter
from datetime import date

import pytest

from rserz_soap.config import Settings
from rserz_soap.demo import names
from rserz_soap.demo.load import region_reference_from_files
from rserz_soap.demo.region import (
    CHUNK_SIZE,
    DOC_BIRTH_CERTIFICATE,
    DOC_FOREIGN_PASSPORT,
    DOC_PASSPORT_RF,
    DOC_RESIDENCE_PERMIT,
    DOC_TEMPORARY_RESIDENCE,
    ENP_GROUP,
    RegionReference,
    SyntheticPerson,
    generate,
)
from rserz_soap.domain.categories import EAEU_COUNTRIES, Citizenship, category_group
from rserz_soap.domain.documents import mask_matches
from rserz_soap.domain.flk.reference import add_working_days
from rserz_soap.domain.identifiers import enp_matches_person, is_valid_enp, is_valid_snils

AS_OF = date(2025, 6, 1)
N = 20_000
SEED = 11


@pytest.fixture(scope="module")
def reference() -> RegionReference:
    return region_reference_from_files(Settings(region_code="45", region_okato="45000"), AS_OF)


@pytest.fixture(scope="module")
def population(reference: RegionReference) -> list[SyntheticPerson]:
    return list(generate(reference, N, SEED))


def _birthday(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:
        return date(d.year + years, 3, 1)


def _horizon(p: SyntheticPerson) -> date:
    """The last day the person's history covers: death, moving out (last stop) or the reference date."""
    if p.death_date is not None:
        return p.death_date
    if p.status == "not_insured":
        stops = [q.dstop for q in p.periods if q.dstop is not None]
        return max(stops)
    return AS_OF


# --------------------------------------------------------------------------- determinism


def test_same_seed_gives_the_same_population(
    reference: RegionReference, population: list[SyntheticPerson]
) -> None:
    again = list(generate(reference, 3000, SEED))
    assert again == population[:3000]


def test_another_seed_gives_another_population(
    reference: RegionReference, population: list[SyntheticPerson]
) -> None:
    other = list(generate(reference, 3000, SEED + 1))
    assert len({p.enp for p in other} & {p.enp for p in population[:3000]}) < 30
    assert [(p.fam, p.im, p.birth_date) for p in other] != [
        (p.fam, p.im, p.birth_date) for p in population[:3000]
    ]


def test_slices_generated_separately_equal_the_whole(
    reference: RegionReference, population: list[SyntheticPerson]
) -> None:
    cuts = [0, 1234, CHUNK_SIZE, CHUNK_SIZE + 1, 7777, 9000]
    pieces: list[SyntheticPerson] = []
    for a, b in itertools.pairwise(cuts):
        pieces += generate(reference, N, SEED, start=a, count=b - a)
    assert pieces == population[: cuts[-1]]
    assert list(generate(reference, N, SEED, start=N - 5)) == population[N - 5 :]


def test_the_reference_date_not_the_clock_decides(reference: RegionReference) -> None:
    later = dataclasses.replace(reference, as_of=date(2026, 1, 1))
    a = list(generate(reference, 200, SEED))
    b = list(generate(later, 200, SEED))
    assert a != b
    assert a == list(generate(reference, 200, SEED))


def test_slices_outside_the_population_are_refused(reference: RegionReference) -> None:
    with pytest.raises(ValueError, match="outside the population"):
        list(generate(reference, 10, SEED, start=5, count=10))
    with pytest.raises(ValueError, match="at most"):
        list(generate(reference, 10_000_000, SEED, count=1))


# --------------------------------------------------------------------------- identifiers


def test_every_enp_is_valid_matches_the_person_and_is_unique(population: list[SyntheticPerson]) -> None:
    for p in population:
        assert is_valid_enp(p.enp), p
        assert enp_matches_person(p.enp, p.birth_date, p.sex), p
        assert p.enp.startswith("45")
        assert int(p.enp[10:15]) == p.index // ENP_GROUP
        assert all(q.enp == p.enp for q in p.periods)
    assert len({p.enp for p in population}) == len(population)


def test_every_snils_is_valid_and_unique(population: list[SyntheticPerson]) -> None:
    snils = [p.snils for p in population if p.snils is not None]
    assert all(is_valid_snils(s) for s in snils)
    assert len(set(snils)) == len(snils)
    assert 0.93 <= len(snils) / len(population) <= 0.97
    babies = [p for p in population if (AS_OF - p.birth_date).days < 365 and p.duplicate_of is None]
    assert any(p.snils is None for p in babies)


# --------------------------------------------------------------------------- documents


def test_every_document_matches_its_f011_mask(
    reference: RegionReference, population: list[SyntheticPerson]
) -> None:
    seen: Counter[int] = Counter()
    for p in population:
        for d in p.documents:
            mask = reference.document_masks[d.doctype]
            if mask.series:
                assert mask_matches(mask.series, d.docser), (d, mask)
            assert mask_matches(mask.number, d.docnum), (d, mask)
            assert d.docdate >= p.birth_date
            assert d.docdate <= _horizon(p)
            seen[d.doctype] += 1
    assert set(seen) == {
        DOC_BIRTH_CERTIFICATE,
        DOC_PASSPORT_RF,
        DOC_FOREIGN_PASSPORT,
        DOC_RESIDENCE_PERMIT,
        DOC_TEMPORARY_RESIDENCE,
    }


def test_documents_fit_the_age_of_their_holder(population: list[SyntheticPerson]) -> None:
    for p in population:
        if p.c_oksm != "643":
            continue
        (doc,) = p.documents
        horizon = _horizon(p)
        if horizon < _birthday(p.birth_date, 14):
            assert doc.doctype == DOC_BIRTH_CERTIFICATE, p
            continue
        assert doc.doctype == DOC_PASSPORT_RF, p
        assert doc.docdate >= _birthday(p.birth_date, 14), p
        # Replaced at 20 and 45 (two months' grace to get the new one).
        for years in (20, 45):
            if (horizon - _birthday(p.birth_date, years)).days > 60:
                assert doc.docdate >= _birthday(p.birth_date, years), p
        assert doc.docdate >= date(1997, 10, 1)
        assert doc.docser is not None and int(doc.docser[3:]) == doc.docdate.year % 100


def test_main_documents_are_unique_except_planted_duplicates(population: list[SyntheticPerson]) -> None:
    keys = Counter(
        (p.documents[0].doctype, p.documents[0].docser, p.documents[0].docnum)
        for p in population
        if p.duplicate_of is None
    )
    assert keys.most_common(1)[0][1] == 1


def test_foreigners_hold_a_passport_and_a_residence_document(population: list[SyntheticPerson]) -> None:
    foreigners = [p for p in population if p.c_oksm != "643"]
    assert 0.015 <= len(foreigners) / len(population) <= 0.025
    for p in foreigners:
        group = category_group(p.kateg)
        assert group is not None and group.citizenship is Citizenship.FOREIGN, p
        main = [d for d in p.documents if d.is_main]
        residence = [d for d in p.documents if not d.is_main]
        assert [d.doctype for d in main] == [DOC_FOREIGN_PASSPORT]
        assert {d.doctype for d in p.documents} <= group.doc_types
        if residence:
            (permit,) = residence
            assert permit.doctype in group.residence_types
            assert permit.docexp is not None and permit.docexp > AS_OF
            assert all(q.dend is not None and q.dend <= permit.docexp for q in p.periods), p
            policies = [q for q in p.periods if q.vpolis != 2]
            assert all(q.dend == permit.docexp for q in policies), p
        else:  # an EAEU worker: working, temporarily staying, exempt from the residence document
            assert p.kateg == 3 and p.c_oksm in group.residence_exempt and p.c_oksm in EAEU_COUNTRIES, p
    assert Counter(p.kateg for p in foreigners).keys() >= {2, 3, 7, 8}


def test_citizens_categories_allow_their_documents(population: list[SyntheticPerson]) -> None:
    for p in population:
        group = category_group(p.kateg)
        assert group is not None, p
        assert {d.doctype for d in p.documents} <= group.doc_types, p
        if group.citizenship is Citizenship.RF:
            assert p.c_oksm == "643"


def test_most_citizens_are_not_working_children_and_pensioners_are_6(
    population: list[SyntheticPerson],
) -> None:
    citizens = Counter(p.kateg for p in population if p.c_oksm == "643")
    assert set(citizens) == {1, 6}
    assert all(
        p.kateg == 6 for p in population if p.c_oksm == "643" and (AS_OF - p.birth_date).days < 14 * 365
    )


# --------------------------------------------------------------------------- insurance


def test_insurance_histories_are_contiguous_and_at_most_one_period_is_open(
    reference: RegionReference, population: list[SyntheticPerson]
) -> None:
    smo = {s.code: s for s in reference.smo}
    for p in population:
        assert p.periods, p
        open_ = [q for q in p.periods if q.dstop is None]
        assert len(open_) == (1 if p.status == "insured" else 0), p
        for a, b in itertools.pairwise(p.periods):
            assert a.dstop is not None and (b.dbeg - a.dstop).days == 1, p
        for q in p.periods:
            s = smo[q.smo_code]
            last = q.dstop or AS_OF
            assert s.date_beg <= q.dbeg and (s.date_end is None or last <= s.date_end), (p, q)
            assert q.dbeg >= p.birth_date and q.ter_st == "45000" and q.ogrnsmo == s.ogrn
            if q.dstop is not None:
                assert q.dstop >= q.dbeg, p


def test_policies_follow_the_rules_of_their_type(population: list[SyntheticPerson]) -> None:
    types: Counter[int] = Counter()
    for p in population:
        for q in p.periods:
            types[q.vpolis] += 1
            if q.vpolis == 2:  # ВС: 30 working days, 9-digit number
                planned = add_working_days(q.dbeg, 30)
                assert q.dend == (planned if p.c_oksm == "643" else min(planned, q.dend or planned)), q
                assert len(q.npolis) == 9 and q.npolis.isdigit()
            elif q.vpolis == 1:  # old style: issued before the single-format policy
                assert q.dbeg < date(2011, 1, 1) and q.spolis
            else:
                assert q.npolis == p.enp and q.spolis is None
            if q.vpolis == 5:
                assert q.dbeg >= date(2022, 12, 1)
    assert set(types) >= {1, 2, 3, 5}


def test_the_closed_smo_handed_its_insured_over(
    reference: RegionReference, population: list[SyntheticPerson]
) -> None:
    (closed,) = [s for s in reference.smo if s.date_end is not None]
    moved = 0
    for p in population:
        for a, b in itertools.pairwise(p.periods):
            if a.smo_code == closed.code and a.dstop == closed.date_end:
                assert a.stop_reason == 6 and b.rsmo == 4 and b.smo_code != closed.code
                moved += 1
    assert moved > 100


def test_changes_of_smo_close_the_earlier_period(population: list[SyntheticPerson]) -> None:
    reasons: Counter[int | None] = Counter()
    for p in population:
        for a, b in itertools.pairwise(p.periods):
            if a.smo_code != b.smo_code:
                assert a.stop_reason in (2, 3, 4, 6), (p, a)
                reasons[a.stop_reason] += 1
    assert set(reasons) == {2, 3, 4, 6}


def test_old_style_policies_are_still_current_for_some(population: list[SyntheticPerson]) -> None:
    current_old = [p for p in population if (q := p.open_period()) is not None and q.vpolis == 1]
    assert 0.02 <= len(current_old) / len(population) <= 0.15


# --------------------------------------------------------------------------- deaths, attachments


def test_the_dead_have_their_insurance_and_attachments_closed(population: list[SyntheticPerson]) -> None:
    dead = [p for p in population if p.status == "dead"]
    assert 0.009 <= len(dead) / len(population) <= 0.017
    for p in dead:
        assert p.death_date is not None and p.birth_date < p.death_date < AS_OF
        last = p.periods[-1]
        assert last.dstop == p.death_date and last.stop_reason == 1, p
        assert all(a.date_out is not None and a.date_out <= p.death_date for a in p.attachments), p
    assert all(p.death_date is None for p in population if p.status != "dead")


def test_attachments_fit_age_and_the_region_s_mo(
    reference: RegionReference, population: list[SyntheticPerson]
) -> None:
    mo = {m.code: m for m in reference.mo}
    alive = [p for p in population if p.status == "insured" and p.duplicate_of is None]
    attached = [p for p in alive if any(a.date_out is None for a in p.attachments)]
    assert 0.80 <= len(attached) / len(alive) <= 0.90
    for p in population:
        active = Counter(a.area_type for a in p.attachments if a.date_out is None)
        assert all(c == 1 for c in active.values()), p
        for a in p.attachments:
            m = mo[a.mo_code]
            assert m.date_beg <= a.date_in and m.kind in (
                ("adult", "both") if a.area_type == 1 else ("child", "both")
            ), (p, a)
            adult_on_entry = a.date_in >= _birthday(p.birth_date, 18)
            assert adult_on_entry == (a.area_type == 1), (p, a)
            if a.date_out is not None:
                assert a.date_out >= a.date_in
            assert a.doctor_snils is None or is_valid_snils(a.doctor_snils)
        if p.status == "insured" and any(a.area_type == 2 and a.date_out is None for a in p.attachments):
            assert _birthday(p.birth_date, 18) > AS_OF, p


# --------------------------------------------------------------------------- realism


def test_names_agree_with_sex(population: list[SyntheticPerson]) -> None:
    from rserz_soap.demo.region import SHOWCASE

    masculine = set(names.SURNAMES) | {f.fam for f in SHOWCASE if f.sex == 1}
    feminine = {names.feminine_surname(s) for s in names.SURNAMES} | {f.fam for f in SHOWCASE if f.sex == 2}
    for p in population:
        if p.c_oksm != "643" or p.duplicate_of is not None:
            continue
        assert p.ot is not None
        if p.sex == 1:
            assert p.ot.endswith("ич") and p.fam in masculine, p
        else:
            assert p.ot.endswith("на") and p.fam in feminine, p


def test_age_pyramid_is_plausible(population: list[SyntheticPerson]) -> None:
    ages = [(AS_OF - p.birth_date).days / 365.25 for p in population]
    children = sum(a < 18 for a in ages) / len(ages)
    elderly = sum(a >= 65 for a in ages) / len(ages)
    assert 0.15 <= children <= 0.26 and 0.12 <= elderly <= 0.22
    assert max(ages) <= 101.5 and min(ages) >= 0
    sexes = Counter(p.sex for p in population)
    assert 0.42 <= sexes[1] / len(population) <= 0.50  # more women, as in Russia


def test_planted_duplicates_copy_an_earlier_person_with_one_distortion(
    population: list[SyntheticPerson],
) -> None:
    dups = [p for p in population if p.duplicate_of is not None]
    assert 0.003 <= len(dups) / len(population) <= 0.007
    kinds = Counter(p.distortion for p in dups)
    assert set(kinds) == {"name_typo", "doc_digits", "birth_digit", "no_patronymic"}
    for p in dups:
        assert p.duplicate_of is not None
        orig = population[p.duplicate_of]
        assert orig.duplicate_of is None
        assert orig.index // CHUNK_SIZE == p.index // CHUNK_SIZE
        assert orig.index // ENP_GROUP < p.index // ENP_GROUP and orig.enp != p.enp
        same = {
            "name": (p.fam, p.im) == (orig.fam, orig.im),
            "ot": p.ot == orig.ot,
            "doc": p.documents == orig.documents,
            "dr": p.birth_date == orig.birth_date,
        }
        changed = {k for k, v in same.items() if not v}
        expected = {
            "name_typo": {"name"},
            "no_patronymic": {"ot"},
            "doc_digits": {"doc"},
            "birth_digit": {"dr"},
        }[p.distortion or ""]
        assert changed == expected, (p, orig)
        assert sorted(p.documents[0].docnum) == sorted(orig.documents[0].docnum)


def test_generated_text_needs_no_copy_escaping(population: list[SyntheticPerson]) -> None:
    bad = set("\t\n\r\\")

    def strings(p: SyntheticPerson) -> list[str]:
        out = [p.fam, p.im, p.ot or "", p.birth_place, p.email or ""]
        for group in (p.documents, p.addresses, p.periods, p.attachments):
            out += [v for row in group for v in row if isinstance(v, str)]
        return out

    assert not any(bad & set(s) for p in population[:5000] for s in strings(p))
    every_name = [n for n, *_ in names.MALE_NAMES + names.FEMALE_NAMES] + list(names.SURNAMES)
    every_name += [s.name for s in names.SETTLEMENTS] + list(names.STREETS)
    assert not any(bad & set(s) for s in every_name)


def test_cards_convert_to_the_domain_model(population: list[SyntheticPerson]) -> None:
    for p in population[:200]:
        card = p.to_card()
        assert card.enp == p.enp and card.data.dr == p.birth_date
        assert (card.open_period() is not None) == (p.status == "insured")
        assert card.insured_on(AS_OF) == (p.status == "insured")


# --------------------------------------------------------------------------- name grammar


@pytest.mark.parametrize(
    ("father", "son", "daughter"),
    [
        ("Иван", "Иванович", "Ивановна"),
        ("Сергей", "Сергеевич", "Сергеевна"),
        ("Николай", "Николаевич", "Николаевна"),
        ("Игорь", "Игоревич", "Игоревна"),
        ("Юрий", "Юрьевич", "Юрьевна"),
        ("Валерий", "Валерьевич", "Валерьевна"),
        ("Дмитрий", "Дмитриевич", "Дмитриевна"),
        ("Георгий", "Георгиевич", "Георгиевна"),
        ("Никита", "Никитич", "Никитична"),
        ("Илья", "Ильич", "Ильинична"),
        ("Фома", "Фомич", "Фоминична"),
        ("Кузьма", "Кузьмич", "Кузьминична"),
        ("Пётр", "Петрович", "Петровна"),
        ("Павел", "Павлович", "Павловна"),
        ("Михаил", "Михайлович", "Михайловна"),
        ("Лев", "Львович", "Львовна"),
        ("Яков", "Яковлевич", "Яковлевна"),
        ("Алишер", "Алишерович", "Алишеровна"),
    ],
)
def test_patronymics(father: str, son: str, daughter: str) -> None:
    assert names.patronymic(father, 1) == son
    assert names.patronymic(father, 2) == daughter


@pytest.mark.parametrize(
    ("masculine", "feminine"),
    [
        ("Иванов", "Иванова"),
        ("Соловьёв", "Соловьёва"),
        ("Ильин", "Ильина"),
        ("Вишневский", "Вишневская"),
        ("Высоцкий", "Высоцкая"),
        ("Толстой", "Толстая"),
        ("Белый", "Белая"),
        ("Черных", "Черных"),
        ("Шевченко", "Шевченко"),
        ("Кравчук", "Кравчук"),
        ("Бабич", "Бабич"),
        ("Шмидт", "Шмидт"),
        ("Мороз", "Мороз"),
        ("Айвазян", "Айвазян"),
    ],
)
def test_feminine_surnames(masculine: str, feminine: str) -> None:
    assert names.feminine_surname(masculine) == feminine


def test_name_data_is_big_enough_for_a_realistic_spread() -> None:
    assert len(names.MALE_NAMES) >= 60 and len(names.FEMALE_NAMES) >= 60
    assert len(set(names.SURNAMES)) >= 250


def test_the_showcase_persons_are_the_same_in_every_population(reference: RegionReference) -> None:
    """The README's first call names Примерова Анна Сергеевна 1985-04-12: she is in every demo region."""
    from rserz_soap.demo.region import SHOWCASE

    for seed in (1, 2, 77):
        people = list(generate(reference, 5_000, seed))
        for fixed, person in zip(SHOWCASE, people, strict=False):
            assert (person.fam, person.im, person.ot, person.sex, person.birth_date) == (
                fixed.fam,
                fixed.im,
                fixed.ot,
                fixed.sex,
                fixed.birth_date,
            )
            assert person.status == "insured" and person.open_period() is not None
            assert person.snils and person.c_oksm == "643" and person.attachments
            assert person.attachments[-1].date_out is None
        same = [
            p
            for p in people
            for f in SHOWCASE
            if (p.fam, p.im, p.birth_date) == (f.fam, f.im, f.birth_date) or p.duplicate_of in (0, 1, 2)
        ]
        assert len(same) == len(SHOWCASE)  # no namesake, no planted duplicate of them
