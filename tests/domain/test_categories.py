"""The KATEG table (rt.srz OID 1.2.643.2.40.3.3.0.6.6) and the recode of the hub's old table (0005)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from rserz_soap.domain.categories import (
    CATEGORIES,
    EAEU_COUNTRIES,
    GROUPS,
    Citizenship,
    category,
    category_group,
    is_working,
)

MIGRATION = (
    Path(__file__).resolve().parents[2]
    / "rserz_soap"
    / "db"
    / "migrations"
    / "versions"
    / "0005_real_formats.py"
)

#: The table the hub used before 0005 (domain/flk/directory.py of release 2025.1): group and working.
OLD_TABLE: dict[int, tuple[str, bool]] = {
    0: ("eaeu", True),
    1: ("citizen", True),
    2: ("citizen", False),
    3: ("foreign_permanent", True),
    4: ("foreign_permanent", False),
    5: ("stateless_permanent", True),
    6: ("stateless_permanent", False),
    7: ("foreign_temporary", True),
    8: ("foreign_temporary", False),
    9: ("stateless_temporary", True),
    10: ("stateless_temporary", False),
    11: ("refugee", True),
    12: ("refugee", False),
}


def _migration() -> ModuleType:
    spec = importlib.util.spec_from_file_location("migration_0005", MIGRATION)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("code", "group", "working"),
    [
        (1, "citizen", True),
        (2, "foreign_permanent", True),
        (3, "foreign_temporary", True),
        (4, "stateless_permanent", True),
        (5, "refugee", True),
        (6, "citizen", False),
        (7, "foreign_permanent", False),
        (8, "foreign_temporary", False),
        (9, "stateless_permanent", False),
        (10, "refugee", False),
        (11, "stateless_temporary", True),
        (12, "stateless_temporary", False),
    ],
)
def test_the_published_table(code: int, group: str, working: bool) -> None:
    found = category(code)

    assert found is not None and found.group is GROUPS[group]
    assert is_working(code) is working


def test_zero_is_unknown_and_other_codes_are_not_in_the_table() -> None:
    assert category(0) is not None and category_group(0) is None and is_working(0) is None
    assert category(13) is None and category_group(13) is None and is_working(13) is None
    assert set(CATEGORIES) == set(range(13))


def test_a_non_working_citizen_is_6() -> None:
    assert category_group(6) is GROUPS["citizen"] and GROUPS["citizen"].citizenship is Citizenship.RF
    assert is_working(6) is False


def test_eaeu_workers_are_temporary_foreigners_exempt_from_the_residence_document() -> None:
    group = category_group(3)

    assert group is not None and group.residence_exempt == EAEU_COUNTRIES
    assert all(g.residence_exempt == frozenset() for g in GROUPS.values() if g is not group)


@pytest.mark.parametrize("doctype", [26, 27, 28])
def test_the_newer_f011_types_are_allowed_for_their_groups(doctype: int) -> None:
    allowed = {name for name, g in GROUPS.items() if doctype in g.doc_types}

    assert allowed == ({"foreign_temporary"} if doctype == 26 else {"refugee"})


@pytest.mark.parametrize("old", sorted(OLD_TABLE))
def test_the_migration_keeps_each_old_codes_group_and_working_status(old: int) -> None:
    migration = _migration()
    old_group, old_working = OLD_TABLE[old]

    if old == 0:  # the old "EAEU worker": a working temporarily staying foreigner of an EAEU state
        new = migration.EAEU_WORKER_NEW
        assert category_group(new) is GROUPS["foreign_temporary"] and is_working(new) is True
        return
    new = migration.OLD_TO_NEW[old]
    assert category_group(new) is GROUPS[old_group]
    assert is_working(new) is old_working


def test_the_migration_mapping_is_a_permutation_and_downgrade_inverts_it() -> None:
    migration = _migration()

    assert sorted(migration.OLD_TO_NEW) == sorted(migration.OLD_TO_NEW.values()) == list(range(1, 13))
    assert all(migration.NEW_TO_OLD[new] == old for old, new in migration.OLD_TO_NEW.items())
