"""Regenerate ``docs/flk.md`` from the bundled ФЛК directory (``rserz_soap/data/flk/errors.xml``).

Usage: ``python tools/gen_flk_doc.py`` writes the file; ``--check`` exits 1 if it is out of date (for CI;
``tests/domain/flk/test_directory.py`` asserts the same).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rserz_soap.domain.flk.directory import render_markdown
from rserz_soap.files.flk_directory import bundled_directory

DOC = Path(__file__).resolve().parent.parent / "docs" / "flk.md"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="do not write; fail if docs/flk.md is stale")
    args = parser.parse_args(argv)
    text = render_markdown(bundled_directory())
    if args.check:
        current = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
        if current != text:
            print(f"{DOC} is out of date: run python tools/gen_flk_doc.py", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(text, encoding="utf-8")
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
