"""`rserz certs register`: a participant's new key registered before it switches; both keys work until the
old one is revoked. A participant unknown to the hub is created only when named."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from lxml import etree  # type: ignore[import-untyped, unused-ignore]

from rserz_soap.cli import main
from rserz_soap.xmlsig import devpki
from rserz_soap.xmlsig.wsse import sign_envelope
from tests.soap.conftest import Hub
from tests.soap.test_gate_hardening import _code, _envelope, _get_person, _post


@pytest.fixture
def rserz(hub: Hub, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("RSERZ_DATABASE_URL", hub.settings.database_url or "")
    monkeypatch.setenv("RSERZ_REDIS_URL", hub.settings.redis_url or "")
    monkeypatch.setenv("RSERZ_VAR_DIR", hub.settings.var_dir)

    def run(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(main, ["certs", *args], catch_exceptions=False)
        return result.exit_code, result.output

    return run


def _read_as(hub: Hub, folder: str) -> tuple[int, str | None]:
    env = _envelope(_get_person(hub.persons[0].enp))
    sign_envelope(env, hub.keypair(folder))
    resp = _post(hub, etree.tostring(env))
    return resp.status_code, _code(resp) if resp.status_code != 200 else None


def test_a_new_key_is_registered_before_the_switch(rserz, hub: Hub) -> None:  # type: ignore[no-untyped-def]
    devpki.issue_certificate(
        hub.pki, devpki.ParticipantSpec("mo", "450001", "Поликлиника 1"), folder="mo-450001-next"
    )
    assert _read_as(hub, "mo-450001-next") == (500, "SEC-114")  # not registered yet
    code, out = rserz("register", "mo:450001", str(hub.pki / "mo-450001-next" / "cert.pem"))
    assert code == 0 and "mo:450001" in out and "sha256" in out, out
    hub.soap.gate._cache.clear()  # the gate caches participants for a minute
    assert _read_as(hub, "mo-450001-next") == (200, None)
    assert _read_as(hub, "mo-450001") == (200, None)  # the old key still works until revoked


def test_an_unknown_participant_needs_a_name(rserz, hub: Hub) -> None:  # type: ignore[no-untyped-def]
    devpki.issue_certificate(hub.pki, devpki.ParticipantSpec("smo", "45099", "СМО 45099"), folder="smo-45099")
    cert = str(hub.pki / "smo-45099" / "cert.pem")
    code, out = rserz("register", "smo:45099", cert)
    assert code != 0 and "--name" in out
    code, out = rserz("register", "smo:45099", cert, "--name", "СМО 45099")
    assert code == 0 and "smo:45099 СМО 45099" in out
    code, out = rserz("register", "martian:1", cert, "--name", "x")
    assert code != 0 and "unknown kind" in out
