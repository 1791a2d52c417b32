"""Reading an untrusted XML file safely, and reporting where it is wrong — shared by every file format.

No DTD, no entities, no network, no huge trees; a DOCTYPE is refused outright (it has no business in an
exchange or directory file). Errors name the file, the element and the line, so an operator can fix the
file without a developer.
"""

from __future__ import annotations

from typing import Any

from lxml import etree  # type: ignore[import-untyped, unused-ignore]


class XmlFileError(ValueError):
    """A file that cannot be used as a whole; the message names the file, element and line."""

    def __init__(self, message: str, *, file: str, element: str | None = None, line: int | None = None):
        where = file
        if line is not None:
            where += f", line {line}"
        if element is not None:
            where += f", <{element}>"
        super().__init__(f"{where}: {message}")
        self.file = file
        self.element = element
        self.line = line


def hardened_parser() -> Any:
    # A new parser per file: lxml parsers keep state and are not meant to be shared between threads.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def parse_untrusted(raw: bytes, name: str, error: type[XmlFileError] = XmlFileError) -> Any:
    """The root element of ``raw``; ``error`` (a subclass of XmlFileError) for anything unacceptable."""
    try:
        root = etree.fromstring(raw, parser=hardened_parser())
    except etree.XMLSyntaxError as exc:
        raise error(f"not well-formed XML: {exc.msg}", file=name, line=exc.lineno) from None
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        # Entities are never resolved, but a DOCTYPE has no business in these files: refuse it whole.
        raise error("DOCTYPE is not allowed", file=name)
    return root


_DEEPER_THAN: dict[int, Any] = {}


def deeper_than(root: Any, limit: int) -> bool:
    """Whether ``root``'s elements nest deeper than ``limit`` levels (the root alone is 1), asked of
    libxml2's XPath (one compiled path per limit): is there an element at level ``limit + 1``? Several
    times cheaper than walking the tree in Python."""
    test = _DEEPER_THAN.get(limit)
    if test is None:
        test = _DEEPER_THAN[limit] = etree.XPath("boolean(" + "/*" * (max(limit, 0) + 1) + ")")
    return bool(test(root))
