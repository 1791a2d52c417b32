"""How fast a full OPLIST package (1,000 records, the contract's maximum) goes in, beside the same kind of
records handed straight to the batch use case. On demand only (it takes ≈ 45 s):

    RSERZ_MEASURE_FILES=1 python -m pytest tests/files/test_file_intake_rate.py -s -p no:randomly

The records are new persons (П010) with distinct names, birth dates and documents, so each is checked,
scored for duplicates and applied."""

from __future__ import annotations

import datetime as dt
import io
import os
import time
import uuid
import zipfile
from pathlib import Path

import pytest
from lxml import etree  # type: ignore[import-untyped, unused-ignore]
from sqlalchemy import Engine

from rserz_soap.cli.files_import import import_file
from rserz_soap.config import Settings
from rserz_soap.db.participants import upsert_participant
from rserz_soap.domain.buffer import Submitter
from rserz_soap.files import oplist
from rserz_soap.usecases import submit
from tests.conftest import data_path
from tests.harness import Register

N = 1000
NAMES = ["Анна", "Мария", "Ольга", "Елена", "Ирина", "Дарья", "Вера", "Нина"]
LETTERS = "абвгдежзиклмнопрстуфхцчшэюя"

pytestmark = pytest.mark.skipif(
    not os.environ.get("RSERZ_MEASURE_FILES"), reason="on demand: RSERZ_MEASURE_FILES=1"
)


def _package(stem: str, offset: int) -> bytes:
    """The sample's first record N times, each a different person."""
    root = etree.fromstring(
        zipfile.ZipFile(data_path("files", "i45001_01_122601.zip")).read(f"{stem[:-2]}01.xml")
    )
    first = root.findall("OP")[0]
    for op in root.findall("OP"):
        root.remove(op)
    for i in range(N):
        n = i + offset
        op = etree.fromstring(etree.tostring(first))
        born = dt.date(1985, 1, 1) + dt.timedelta(days=(n * 2) % 2190)
        op.find("N_REC").text = str(i + 1)
        op.find("PERSON/FAM").text = "Тест" + "".join(LETTERS[(n // 27**k) % 27] for k in range(3))
        op.find("PERSON/IM").text = NAMES[n % len(NAMES)]
        op.find("PERSON/DR").text = born.isoformat()
        op.find("PERSON").remove(op.find("PERSON/SS"))
        for el in op.iter("DOCNUM"):
            el.text = f"{700000 + n:06d}"
        for el in op.iter("DOCDATE"):
            el.text = (born + dt.timedelta(days=365 * 20 + 40)).isoformat()
        op.find("INSURANCE/POLIS/NPOLIS").text = f"45{n:07d}"
        root.append(op)
    root.set("NRECORDS", str(N))
    root.set("FILENAME", stem)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(f"{stem}.xml", etree.tostring(root, xml_declaration=True, encoding="windows-1251"))
    return buf.getvalue()


def test_a_full_package_beside_the_batch_use_case(
    fresh_engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    with fresh_engine.begin() as conn:
        pid = upsert_participant(conn, "smo", "45001", "СМО 45001")
    registry = Register.of(fresh_engine, settings)
    path = tmp_path / "i45001_01_122610.zip"
    path.write_bytes(_package("i45001_01_122610", 0))
    other = _package("i45001_01_122611", 5000)

    started = time.perf_counter()
    package = oplist.read_package(other, "i45001_01_122611.zip")
    reading = time.perf_counter() - started
    started = time.perf_counter()
    report = import_file(registry.db, registry.intake, path, out=tmp_path / "out")
    whole = time.perf_counter() - started
    records = package.records(submit.country_codes(registry.db.reading(), registry.intake), dt.date.today())
    started = time.perf_counter()
    answer = submit.submit_operations(
        registry.db.unit_of_work(),
        registry.intake,
        Submitter(pid, "smo", "45001"),
        records,
        uuid.uuid4(),
        fingerprint="baseline",
    )
    baseline = time.perf_counter() - started

    assert report.code is None and report.accepted == N, report
    assert sum(1 for r in answer.lines if r.code_erp == "AA") == N
    print(
        f"\n{N}-record package: read and validated {reading:.2f} s; imported whole {whole:.1f} s ({N / whole:.0f} records/s);"
        f" the batch use case alone, on the same register after it, {baseline:.1f} s ({N / baseline:.0f} records/s)"
    )
