from __future__ import annotations

from pathlib import Path

import pytest

from rserz_soap.config import PROJECT_ROOT, configuration_markdown, load_settings


def test_documented_configuration_is_current() -> None:
    doc = (PROJECT_ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert doc == configuration_markdown(), "regenerate docs/configuration.md from rserz_soap/config.py"


def test_settings_come_from_the_environment() -> None:
    s = load_settings({"RSERZ_PORT": "9000", "RSERZ_REGION_CODE": "77", "RSERZ_VAR_DIR": "/srv/rserz"})
    assert (s.port, s.region_code, s.var_path) == (9000, "77", Path("/srv/rserz"))
    assert s.pki_dir == Path("/srv/rserz/pki")


def test_defaults_need_no_environment() -> None:
    s = load_settings({})
    assert (s.host, s.port, s.emulators_port, s.database_url) == ("127.0.0.1", 8080, 8090, None)


def test_bad_region_code_is_refused() -> None:
    with pytest.raises(ValueError, match="RSERZ_REGION_CODE"):
        load_settings({"RSERZ_REGION_CODE": "4"})
