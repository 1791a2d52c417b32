"""The CLI tests use the SOAP tests' running hub."""

from tests.soap.conftest import hub  # noqa: F401
