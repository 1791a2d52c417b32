"""A worker process for the crash test: receives a batch of П010 records and processes them slowly.

Run as ``python -m tests.usecases.crash_worker DATABASE_URL N``; the test kills it with SIGKILL while it
is in the middle of a chunk.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from datetime import date, timedelta

from sqlalchemy import event

from rserz_soap.config import load_settings
from rserz_soap.db.engine import make_engine
from rserz_soap.db.participants import upsert_participant
from rserz_soap.domain.buffer import Submitter
from rserz_soap.domain.identifiers import make_snils
from rserz_soap.domain.records import OperationRecord
from tests import builders
from tests.harness import Register

SURNAMES = (
    "Кузнецова",
    "Попова",
    "Васильева",
    "Соколова",
    "Михайлова",
    "Новикова",
    "Фёдорова",
    "Морозова",
    "Волкова",
    "Алексеева",
)
NAMES = ("Анна", "Мария", "Елена", "Ольга", "Татьяна", "Наталья", "Ирина", "Светлана", "Юлия", "Галина")


def batch(n: int) -> list[OperationRecord]:
    """Distinct persons (no two alike enough to be held as probable duplicates)."""
    records = []
    for i in range(n):
        person = builders.person_data(
            fam=SURNAMES[i % 10],
            im=NAMES[(i // 10) % 10],
            dr=date(1950, 1, 1) + timedelta(days=11 * i),
            mr=f"с. Берёзовка-{i}",
            ss=make_snils(200_000_000 + i * 7),
        )
        doc = builders.passport(docnum=f"{100000 + i:06d}", docdate=date(2012, 5, 20))  # issued after 45
        policy = dataclasses.replace(builders.record().insurance.policy, npolis=f"45{i:07d}")  # type: ignore[type-var]
        records.append(
            builders.record(
                "П010",
                n_rec=i + 1,
                person=person,
                documents=(doc,),
                policy=policy,
                address_g=builders.address_g(house=str(i + 1)),
            )
        )
    return records


def main() -> None:
    url, n = sys.argv[1], int(sys.argv[2])
    engine = make_engine(url)
    with engine.begin() as conn:
        pid = upsert_participant(conn, "smo", "45001", "СМО 45001")
    registry = Register.of(
        engine, dataclasses.replace(load_settings(), database_url=url, federal_first=False)
    )
    ids = registry.receive(Submitter(pid, "smo", "45001"), batch(n), batch_ref="crash")  # type: ignore[arg-type]
    print("received", len(ids), flush=True)

    @event.listens_for(engine, "commit")
    def _slow_commit(conn: object) -> None:  # leave time to be killed between and inside chunks
        time.sleep(0.1)

    registry.process(ids, chunk=10)
    print("done", flush=True)


if __name__ == "__main__":
    main()
