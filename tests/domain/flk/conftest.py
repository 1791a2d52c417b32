"""Fixtures of the ФЛК tests: the bundled directory and an in-memory reference over the bundled НСИ."""

from __future__ import annotations

import pytest

from rserz_soap.domain.flk.directory import ErrorDirectory
from rserz_soap.domain.flk.reference import InMemoryReference
from rserz_soap.files.flk_directory import bundled_directory, bundled_reference
from tests.domain.flk.builders import REGION_OKATO

_DIRECTORY = bundled_directory()
_REFERENCE = bundled_reference(REGION_OKATO)


@pytest.fixture
def directory() -> ErrorDirectory:
    return _DIRECTORY


@pytest.fixture
def ref() -> InMemoryReference:
    """The bundled НСИ with nobody registered (uniqueness tests build their own)."""
    return _REFERENCE
