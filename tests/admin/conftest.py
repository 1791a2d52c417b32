"""A console stand: a database of its own with a few persons, held buffer entries and one user per role.

Module-scoped (the browser and the client tests share one per module); tests that change the register
work on persons of their own or read what they changed, so the order of tests does not matter.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, text

from rserz_soap.admin.cache import forget
from rserz_soap.config import Settings
from rserz_soap.db.engine import make_engine
from rserz_soap.db.participants import upsert_participant
from rserz_soap.db.uow import Database
from rserz_soap.domain.access import Role
from rserz_soap.domain.buffer import State, Submitter
from rserz_soap.domain.identifiers import make_snils
from rserz_soap.domain.person import Document, PolicyType
from rserz_soap.domain.records import PolicyInput
from rserz_soap.runtime.services import ServiceUrls
from rserz_soap.usecases import accounts
from rserz_soap.usecases.security_log import Who
from rserz_soap.web.app import create_app
from tests import builders
from tests.harness import Register, cloned_database

REDIS_DB = 9
PASSWORD = "Сверка-2026-тест!"  # every stand user's password (never a real one)
ROLES = tuple(Role)


@dataclass
class Person:
    person_id: int
    enp: str
    fam: str
    im: str
    ot: str
    dr: date
    ss: str
    docnum: str
    docdate: date
    w: int


@dataclass
class ConsoleStand:
    engine: Engine
    settings: Settings
    persons: list[Person]
    held: list[int]  # buffer entries awaiting review
    users: dict[str, int]  # login → id
    smo: Submitter
    register: Register

    def db(self) -> Database:
        return Database(self.engine)

    def scalar(self, sql: str, **params: Any) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()

    def rows(self, sql: str, **params: Any) -> list[Any]:
        with self.engine.connect() as conn:
            return list(conn.execute(text(sql), params))

    def redis(self) -> redis.Redis:
        """A Redis database of the stand's own, so queued and failed jobs of these tests touch nobody else's."""
        return redis.Redis.from_url(self.settings.redis_url or "", db=REDIS_DB)

    def app(self, **settings: Any) -> Flask:
        forget()
        s = dataclasses.replace(self.settings, **settings) if settings else self.settings
        return create_app(s, db=self.db(), redis_client=self.redis())

    def hold(self, person: Person, fam: str, n: int) -> int:
        """A П061 (a change of name) that the bundled rules send to review; returns its entry."""
        rec = builders.record(
            "П061",
            enp=person.enp,
            n_rec=n,
            person=builders.person_data(
                fam=fam, im=person.im, ot=person.ot, dr=person.dr, w=person.w, ss=person.ss
            ),
            old_person=builders.person_data(
                fam=person.fam, im=person.im, ot=person.ot, dr=person.dr, w=person.w, ss=person.ss
            ),
            documents=(Document(14, "45 07", person.docnum, person.docdate, name_vp="ОВД"),),
            dvizit=date(2025, 7, 1),
            policy=PolicyInput(vpolis=PolicyType.VS, npolis=f"45006{n:04d}", dbeg=date(2025, 7, 1)),
        )
        (result,) = self.register.submit(self.smo, [rec])
        assert result.state is State.AWAITING_REVIEW, result
        return result.entry_id


PEOPLE = [
    ("Кузнецова", "Мария", "Ивановна", date(1984, 3, 9), 2),
    ("Соколов", "Андрей", "Петрович", date(1979, 11, 23), 1),
    ("Морозова", "Елена", "Сергеевна", date(1990, 6, 2), 2),
    ("Волков", "Игорь", "Николаевич", date(1966, 1, 30), 1),
    ("Лебедева", "Ольга", "Дмитриевна", date(2001, 8, 17), 2),
]


@pytest.fixture(scope="module")
def stand(
    db_engine: Engine, database_url: str, template_database: str, settings: Settings, services: ServiceUrls
) -> Iterator[ConsoleStand]:
    with cloned_database(db_engine, database_url, template_database, "console") as url:
        engine = make_engine(url)
        hub_settings = dataclasses.replace(settings, database_url=url, redis_url=services.redis_url)
        try:
            with engine.begin() as conn:
                smo_id = upsert_participant(conn, "smo", "45001", "СМО 45001")
            smo = Submitter(smo_id, "smo", "45001")
            register = Register.of(engine, hub_settings)
            persons = []
            for i, (fam, im, ot, dr, w) in enumerate(PEOPLE, 1):
                ss = make_snils(200_000_000 + i * 1111)
                docnum = f"60{i:04d}"
                # a passport of the right age: issued at 20, or at 45 for those past it (ФЛК 212)
                docdate = date(dr.year + (45 if 2025 - dr.year >= 46 else 20), dr.month, 1) + timedelta(
                    days=40
                )
                rec = builders.record(
                    "П010",
                    n_rec=i,
                    person=builders.person_data(fam=fam, im=im, ot=ot, dr=dr, w=w, ss=ss),
                    documents=(Document(14, "45 07", docnum, docdate, name_vp="ОВД"),),
                    policy=PolicyInput(vpolis=PolicyType.VS, npolis=f"45001{i:04d}", dbeg=date(2025, 3, 3)),
                )
                (res,) = register.submit(smo, [rec])
                assert res.code_erp == "AA", res
                assert res.person_id is not None and res.enp is not None
                persons.append(Person(res.person_id, res.enp, fam, im, ot, dr, ss, docnum, docdate, w))
            st = ConsoleStand(engine, hub_settings, persons, [], {}, smo, register)
            st.held = [
                st.hold(persons[3], "Волков-Северный", 101),
                st.hold(persons[4], "Лебедева-Смирнова", 102),
            ]
            db = Database(engine)
            who = Who(login="cli:test", ip="local")
            for role in ROLES:
                uid, _ = accounts.add_user(
                    db.unit_of_work(),
                    role.value,
                    f"Тестовый {role.value}",
                    frozenset({role}),
                    who,
                    password=PASSWORD,
                )
                st.users[role.value] = uid
            st.redis().flushdb()
            yield st
        finally:
            engine.dispose()


def csrf_of(client: FlaskClient, path: str = "/admin/login") -> str:
    """The CSRF token a page of the console carries (as a browser would read it from the form)."""
    import re

    body = client.get(path).get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', body)
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def login(client: FlaskClient, who: str, password: str = PASSWORD) -> Any:
    return client.post(
        "/admin/login", data={"login": who, "password": password, "csrf_token": csrf_of(client)}
    )


@pytest.fixture(scope="module")
def console(stand: ConsoleStand) -> Flask:
    return stand.app()


@pytest.fixture
def as_role(console: Flask) -> Callable[[str], FlaskClient]:
    def make(role: str) -> FlaskClient:
        client = console.test_client()
        r = login(client, role)
        assert r.status_code == 302, r.get_data(as_text=True)
        return client

    return make
