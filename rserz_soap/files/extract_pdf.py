"""The extract of a person's record as a PDF page with a QR code of the policy: one replaceable renderer.

The official layout of the extract is not public, so the layout lives here alone behind
:class:`ExtractRenderer`: a region replaces the renderer, not the use case. The QR code (segno, ISO/IEC
18004, UTF-8 with ECI) carries :meth:`PolicyExtract.code`; the page is written by fpdf2 with a TrueType
font that has Cyrillic (``RSERZ_EXTRACT_FONT``, default DejaVu Sans of the system, Debian's
``fonts-dejavu-core``; ``make sysdeps`` installs it).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Final, Protocol

from rserz_soap.domain.extract import PolicyExtract

__all__ = ["FONT_CANDIDATES", "ExtractRenderer", "PdfRenderer", "find_font", "qr_png"]

FONT_CANDIDATES: Final = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
)


class ExtractRenderer(Protocol):
    media_type: str

    def render(self, extract: PolicyExtract) -> bytes: ...


def find_font(configured: str | None = None) -> Path:
    for candidate in ([configured] if configured else []) + list(FONT_CANDIDATES):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    raise FileNotFoundError(
        "no TrueType font with Cyrillic for the extract: set RSERZ_EXTRACT_FONT or install fonts-dejavu-core"
    )


def qr_png(text: str, scale: int = 6) -> bytes:
    """The QR code of ``text`` as a PNG (error correction M, a quiet zone of four modules)."""
    import segno

    qr = segno.make_qr(text, error="m", encoding="utf-8", eci=True)
    out = io.BytesIO()
    qr.save(out, kind="png", scale=scale, border=4)
    return out.getvalue()


class PdfRenderer:
    media_type = "application/pdf"

    def __init__(self, font: Path) -> None:
        self.font = font

    def render(self, extract: PolicyExtract) -> bytes:
        from fpdf import FPDF

        pdf = FPDF(format="A4")
        pdf.set_creator("РС ЕРЗ")
        pdf.set_title(f"Выписка из единого регистра застрахованных лиц, ЕНП {extract.enp}")
        pdf.add_page()
        pdf.add_font("Body", "", str(self.font))
        pdf.set_font("Body", size=14)
        pdf.multi_cell(
            0, 8, "Выписка из единого регистра застрахованных лиц", align="C", new_x="LMARGIN", new_y="NEXT"
        )
        pdf.ln(4)
        pdf.set_font("Body", size=11)
        rows = [
            ("Единый номер полиса (ЕНП)", extract.enp),
            ("Застрахованное лицо", extract.fio),
            ("Дата рождения", extract.birth_date.strftime("%d.%m.%Y")),
            ("Пол", {1: "мужской", 2: "женский"}.get(extract.sex, "—")),
            ("Полис", f"{extract.policy_title} ({extract.policy_letter})"),
            ("Номер полиса", f"{extract.policy_series or ''} {extract.policy_number}".strip()),
            (
                "Страховая медицинская организация",
                f"{extract.smo_name or ''} (код {extract.smo_code})".strip(),
            ),
            ("Действует с", extract.valid_from.strftime("%d.%m.%Y")),
            ("Действует по", extract.valid_to.strftime("%d.%m.%Y") if extract.valid_to else "бессрочно"),
            ("Застрахован на дату выписки", "да" if extract.insured else "нет"),
            ("Дата выписки", extract.made_on.strftime("%d.%m.%Y")),
        ]
        for label, value in rows:
            pdf.cell(80, 7, label)
            pdf.multi_cell(0, 7, value, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(4)
        pdf.image(io.BytesIO(qr_png(extract.code())), x=pdf.l_margin, w=50, h=50)
        pdf.set_font("Body", size=8)
        pdf.multi_cell(0, 5, "Машиночитаемый код полиса: " + extract.code(), new_x="LMARGIN", new_y="NEXT")
        return bytes(pdf.output())
