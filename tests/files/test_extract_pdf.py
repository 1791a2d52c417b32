"""`rserz extract --enp E` writes a PDF whose QR code decodes back to the person's policy.

The page is rendered to an image by pdfium (pypdfium2's wheel: no system package) and the code read by
zxing-cpp — an independent barcode reader, not the library that drew it.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pypdfium2
import zxingcpp
from click.testing import CliRunner
from sqlalchemy import Engine

from rserz_soap.cli import main
from rserz_soap.config import Settings
from rserz_soap.domain.buffer import Submitter
from rserz_soap.domain.extract import PolicyExtract
from rserz_soap.domain.identifiers import make_enp
from rserz_soap.domain.records import PolicyInput
from rserz_soap.files.extract_pdf import PdfRenderer, find_font
from rserz_soap.runtime.services import ServiceUrls
from tests import builders
from tests.harness import Register


def decoded(pdf: bytes) -> list[str]:
    page = pypdfium2.PdfDocument(pdf)[0]
    image = page.render(scale=3).to_pil()
    return [r.text for r in zxingcpp.read_barcodes(image)]


def test_the_qr_code_of_a_rendered_extract_gives_back_the_policy() -> None:
    extract = PolicyExtract(
        enp="4550220892000001", fio="Иванова Мария Петровна", birth_date=date(1980, 1, 2), sex=2,
        smo_code="45001", smo_name="АО «СК»", policy_letter="Ц", policy_number="4550220892000001",
        policy_series=None, valid_from=date(2025, 3, 3), valid_to=None, insured=True, made_on=date(2026, 1, 1),
    )  # fmt: skip
    texts = decoded(PdfRenderer(find_font()).render(extract))
    assert texts == ["V=1;ENP=4550220892000001;PCY=Ц;NUM=4550220892000001;SMO=45001;FROM=2025-03-03"]


def test_rserz_extract_writes_the_pdf_of_a_persons_record(
    fresh_engine: Engine, settings: Settings, services: ServiceUrls, tmp_path: Path
) -> None:
    enp = make_enp("45", date(1985, 4, 12), 2, 77_001)
    policy = PolicyInput(vpolis=5, npolis=enp, dbeg=date(2025, 3, 3))
    rec = builders.record("П010", enp=enp, policy=policy, dvizit=date(2025, 3, 3))
    registry = Register.of(fresh_engine, settings)
    with fresh_engine.begin() as conn:
        from rserz_soap.db.participants import upsert_participant

        smo = upsert_participant(conn, "smo", "45001", "СМО 45001")
    (result,) = registry.submit(Submitter(smo, "smo", "45001"), [rec])
    assert result.code_erp == "AA", result.comment
    out = tmp_path / "extract.pdf"
    env = {"RSERZ_DATABASE_URL": fresh_engine.url.render_as_string(hide_password=False),
           "RSERZ_REDIS_URL": services.redis_url, "RSERZ_VAR_DIR": settings.var_dir}  # fmt: skip

    done = CliRunner().invoke(
        main, ["extract", "--enp", enp, "--out", str(out), "--on", "2026-01-01"], env=env
    )

    assert done.exit_code == 0, done.output
    assert out.read_bytes().startswith(b"%PDF")
    (text,) = decoded(out.read_bytes())
    fields = dict(part.split("=", 1) for part in text.split(";"))
    assert fields == {"V": "1", "ENP": enp, "PCY": "Ц", "NUM": enp, "SMO": "45001", "FROM": "2025-03-03"}
    missing = CliRunner().invoke(main, ["extract", "--enp", "4599999999999999", "--out", str(out)], env=env)
    assert missing.exit_code == 1
