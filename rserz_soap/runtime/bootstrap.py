"""Bringing a database to a usable state: schema, НСИ, participants with certificates, demo region.

Each step is idempotent, so `rserz up` can run all of them on every start and a second `make run` reuses
what the first one made under var/.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date
from pathlib import Path

from sqlalchemy import Engine, func, select

from rserz_soap.config import Settings
from rserz_soap.db import migrate
from rserz_soap.db import nsi as nsi_repo
from rserz_soap.db import participants as participant_repo
from rserz_soap.db.tables import person
from rserz_soap.files.nsi import bundled_files, parse_nsi_file
from rserz_soap.xmlsig import devpki
from rserz_soap.xmlsig.devpki_gost import GOST_MANIFEST_NAME, load_gost_issued

log = logging.getLogger(__name__)

Say = Callable[[str], None]


def import_nsi(engine: Engine, files: list[Path], say: Say = log.info) -> None:
    """Import directory files; one line says what changed (each file's detail goes to the log)."""
    loaded: list[str] = []
    for path in files:
        parsed = parse_nsi_file(path)
        with engine.begin() as conn:
            result = nsi_repo.import_file(conn, parsed)
        state = "already loaded" if result.already_loaded else f"{result.records} records"
        log.info("НСИ %s %s (%s): %s", parsed.directory, parsed.version or "", path.name, state)
        if not result.already_loaded:
            loaded.append(f"{parsed.directory} {parsed.version or ''}".strip())
    say(f"НСИ: {', '.join(loaded)} loaded" if loaded else f"НСИ: {len(files)} directories, all loaded before")


def load_flk_directory(engine: Engine, say: Say = log.info) -> None:
    """The bundled error directory into ``flk_error``; an operator's later edits are kept."""
    from rserz_soap.db.flk import load_directory
    from rserz_soap.files.flk_directory import bundled_directory

    with engine.begin() as conn:
        result = load_directory(conn, bundled_directory())
    say(f"ФЛК error directory: {result.inserted} new, {result.updated} updated, {result.kept} kept")


def participant_specs(engine: Engine, on: date) -> list[devpki.ParticipantSpec]:
    """Demo participants: every СМО and МО valid today in НСИ, the ИСЗЛ and the outside systems."""
    with engine.connect() as conn:
        smo = nsi_repo.records_on(conn, "F002", on)
        mo = nsi_repo.records_on(conn, "F003", on)
    # the second СМО and the second МО sign with ECDSA P-256: integrators and tests can use both key types
    specs = [
        devpki.ParticipantSpec(
            "smo", r.code, r.data.get("nam_smok") or r.code, key_type="ec" if i == 1 else "rsa"
        )
        for i, r in enumerate(smo)
    ]
    specs += [
        devpki.ParticipantSpec(
            "mo", r.code, r.data.get("nam_mok") or r.code, key_type="ec" if i == 1 else "rsa"
        )
        for i, r in enumerate(mo)
    ]
    specs += [
        devpki.ParticipantSpec("iszl", None, "Система информационного сопровождения ЗЛ"),
        devpki.ParticipantSpec("ferzl", None, "ФЕРЗЛ (эмулятор)"),
        devpki.ParticipantSpec("smev", None, "СМЭВ 3 (эмулятор)"),
    ]
    return specs


def init_certificates(
    settings: Settings, engine: Engine, say: Say = log.info
) -> list[devpki.IssuedCertificate]:
    """Make (or reuse) the development PKI under var/pki and register every participant's certificate."""
    issued = devpki.init_pki(settings.pki_dir, participant_specs(engine, date.today()))
    with engine.begin() as conn:
        for cert in issued:
            kind = cert.spec.kind
            code = cert.spec.code or kind
            pid = participant_repo.upsert_participant(conn, kind, code, cert.spec.name)
            participant_repo.register_certificate(conn, pid, cert.cert_path.read_bytes())
        gost = load_gost_issued(settings.pki_dir) if (settings.pki_dir / GOST_MANIFEST_NAME).exists() else []
        for g in gost:  # the same participants' GOST certificates: either key identifies them
            pid = participant_repo.upsert_participant(conn, g.kind, g.code or g.kind, g.name)
            participant_repo.register_certificate(conn, pid, g.cert_path.read_bytes())
    say(f"PKI: {len(issued)} RSA/ECDSA and {len(gost)} GOST certificates under {settings.pki_dir}")
    return issued


def person_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(person)).scalar_one())


def seed(settings: Settings, engine: Engine, persons: int, seed_value: int, progress: bool = True) -> None:
    from rserz_soap.demo.load import region_reference_from_nsi, seed_region

    with engine.connect() as conn:
        reference = region_reference_from_nsi(conn, date.today(), settings)
    seed_region(engine, reference, persons, seed_value, progress=progress)


def prepare(settings: Settings, engine: Engine, say: Say = log.info, progress: bool = True) -> None:
    """Everything `rserz up` does before starting processes."""
    migrate.upgrade(engine)
    say(f"schema at revision {migrate.current_revision(engine)}")
    import_nsi(engine, bundled_files(), say)
    load_flk_directory(engine, say)
    init_certificates(settings, engine, say)
    count = person_count(engine)
    if count == 0 and settings.demo_persons > 0:
        say(f"generating the demo region: {settings.demo_persons} persons (seed {settings.demo_seed})")
        seed(settings, engine, settings.demo_persons, settings.demo_seed, progress=progress)
    else:
        say(f"register holds {count} persons")


FIRST_ADMINISTRATOR = "admin"


def first_administrator(engine: Engine) -> str | None:
    """The console's first user when it has none: ``admin``, an administrator, with a one-time password.

    Returns that password — generated here, stored only as its argon2 hash, printed once by ``rserz up``
    and to be changed at the first login; None when the console already has users.
    """
    from rserz_soap.db.uow import Database
    from rserz_soap.domain.access import Role
    from rserz_soap.usecases import accounts
    from rserz_soap.usecases.security_log import Who

    db = Database(engine)
    if accounts.user_count(db.unit_of_work()) > 0:
        return None
    _uid, password = accounts.add_user(
        db.unit_of_work(),
        FIRST_ADMINISTRATOR,
        "Первый администратор (смените имя и пароль)",
        frozenset({Role.ADMINISTRATOR}),
        Who(login="cli:rserz-up", ip="local", method="CLI"),
    )
    return password


def console_notes(password: str | None) -> list[str]:
    """What ``rserz up`` says about the console beside its URL."""
    if password is not None:
        return [
            f"  console user {FIRST_ADMINISTRATOR} (administrator), one-time password: {password}",
            "           shown once, stored only hashed; set your own at the first login",
        ]
    return [
        "  console users: see `rserz users list`; add one with",
        "           rserz users add LOGIN --name 'Фамилия Имя Отчество' --role administrator",
    ]
