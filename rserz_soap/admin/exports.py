"""Reports as files: CSV (UTF-8 with a BOM, `;` — what a spreadsheet in a Russian locale opens as is) and
XLSX (openpyxl's write-only mode: rows stream to the file, memory stays flat whatever the size)."""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterable, Iterator
from typing import Any

from flask import Response

Rows = Iterator[tuple[Any, ...]]


def csv_chunks(header: tuple[str, ...], rows: Iterable[tuple[Any, ...]]) -> Iterator[str]:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=";", lineterminator="\r\n")
    buf.write("\ufeff")
    writer.writerow(header)
    for n, row in enumerate(rows, 1):
        writer.writerow(row)
        if n % 1000 == 0:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()


def xlsx_bytes(header: tuple[str, ...], rows: Iterable[tuple[Any, ...]], *, title: str = "Отчёт") -> bytes:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=title[:31])
    ws.append(list(header))
    for row in rows:
        ws.append(list(row))
    with tempfile.TemporaryFile() as f:
        wb.save(f)
        f.seek(0)
        return f.read()


def respond(fmt: str, name: str, header: tuple[str, ...], rows: Rows) -> Response:
    if fmt == "csv":
        response = Response(csv_chunks(header, rows), mimetype="text/csv")
        response.headers["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    else:
        response = Response(
            xlsx_bytes(header, rows),
            mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        response.headers["Content-Disposition"] = f'attachment; filename="{name}.xlsx"'
    response.headers["Cache-Control"] = "no-store"
    return response
