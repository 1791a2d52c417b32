"""A bar chart drawn on the server as SVG: no script, no library, nothing the CSP has to allow."""

from __future__ import annotations

from datetime import date
from html import escape

WIDTH, HEIGHT, PAD_LEFT, PAD_BOTTOM, PAD_TOP = 720, 180, 48, 22, 10


def bars(points: list[tuple[date, int]], *, title: str) -> str:
    """Bars of (day, count), oldest on the left; every bar has a tooltip with its date and count."""
    if not points:
        return ""
    top = max(1, max(n for _d, n in points))
    inner_w, inner_h = WIDTH - PAD_LEFT - 4, HEIGHT - PAD_BOTTOM - PAD_TOP
    step = inner_w / len(points)
    out = [
        f'<svg class="chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {WIDTH} {HEIGHT}"'
        f' width="{WIDTH}" height="{HEIGHT}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
        f'<line x1="{PAD_LEFT}" y1="{PAD_TOP + inner_h}" x2="{WIDTH - 2}" y2="{PAD_TOP + inner_h}" stroke="#888"/>',
        f'<text x="{PAD_LEFT - 6}" y="{PAD_TOP + 8}" text-anchor="end" font-size="11" fill="#444">{top}</text>',
        f'<text x="{PAD_LEFT - 6}" y="{PAD_TOP + inner_h}" text-anchor="end" font-size="11" fill="#444">0</text>',
    ]
    for i, (day, n) in enumerate(points):
        h = 0 if n == 0 else max(1.0, inner_h * n / top)
        x = PAD_LEFT + i * step + 1
        out.append(
            f'<rect x="{x:.1f}" y="{PAD_TOP + inner_h - h:.1f}" width="{max(1.0, step - 2):.1f}" height="{h:.1f}"'
            f' fill="#2f6690"><title>{day:%d.%m.%Y}: {n}</title></rect>'
        )
        if i % max(1, len(points) // 6) == 0 or i == len(points) - 1:
            out.append(
                f'<text x="{x + step / 2:.1f}" y="{HEIGHT - 6}" text-anchor="middle" font-size="11"'
                f' fill="#444">{day:%d.%m}</text>'
            )
    out.append("</svg>")
    return "".join(out)
