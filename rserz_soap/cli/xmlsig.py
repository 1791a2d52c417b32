"""`rserz xmlsig`: check and make XML signatures (GOST/СМЭВ and WS-Security) without a database."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Any

import click

from rserz_soap.cli.main import main

_PARSER_OPTIONS: dict[str, Any] = {
    # Untrusted files: no entities, no DTD, no network; whitespace kept (it is part of what was signed).
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "huge_tree": True,
    "remove_blank_text": False,
}


def _parse(path: Path) -> Any:
    from lxml import etree

    try:
        return etree.parse(str(path), etree.XMLParser(**_PARSER_OPTIONS))
    except etree.XMLSyntaxError as exc:
        raise click.ClickException(f"{path}: not well-formed XML: {exc}") from None


def _alias(values: tuple[str, ...]) -> dict[str, str]:
    aliases = {}
    for value in values:
        source, sep, target = value.partition("=")
        if not sep or not source or not target:
            raise click.BadParameter(f"expected FROM=TO, got {value!r}", param_hint="--ns-alias")
        aliases[source] = target
    return aliases


@main.group()
def xmlsig() -> None:
    """XML signatures: verify every ds:Signature of a message, or sign one (GOST, СМЭВ 3, WS-Security)."""


@xmlsig.command("verify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--smev", is_flag=True, help="Also require the СМЭВ profile: GOST, exc-c14n + СМЭВ transform.")
@click.option(
    "--ns-alias",
    "ns_alias",
    multiple=True,
    metavar="FROM=TO",
    help="When a digest does not match, check it again reading namespace URI FROM as TO inside the "
    "СМЭВ transform (e.g. message-exchange types/1.1=…/1.2); such matches are marked.",
)
@click.option(
    "--at",
    "at",
    type=click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]),
    default=None,
    help="Judge certificate validity at this UTC time instead of now.",
)
@click.option(
    "--require-valid-cert", is_flag=True, help="Fail when a certificate is outside its validity period."
)
def verify_command(
    file: Path, smev: bool, ns_alias: tuple[str, ...], at: dt.datetime | None, require_valid_cert: bool
) -> None:
    """Check every ds:Signature in FILE: references, SignatureValue and certificate, each on its own line.

    Exit status 1 when a digest or a SignatureValue fails (or, with --require-valid-cert, a
    certificate is not valid at the check time); 2 when FILE has no signature.
    """
    from rserz_soap.xmlsig.smev import verify_signatures

    document = _parse(file)
    when = at.replace(tzinfo=dt.UTC) if at is not None else dt.datetime.now(dt.UTC)
    reports = verify_signatures(
        document.getroot(), namespace_aliases=_alias(ns_alias), at=when, smev_profile=smev
    )
    if not reports:
        click.echo(f"{file}: no ds:Signature found")
        sys.exit(2)
    failed = False
    for number, report in enumerate(reports, 1):
        title = f"signature {number} of {len(reports)} in {report.location}"
        if report.signature_id:
            title += f" (Id={report.signature_id})"
        click.echo(title)
        for ref in report.references:
            state = "ok" if ref.ok else f"MISMATCH ({ref.problem})" if ref.problem else "MISMATCH"
            if ref.aliased:
                state += " (only with the --ns-alias namespaces)"
            click.echo(f"  reference {ref.uri}: digest {state}")
        if not report.references:
            click.echo("  no references")
        state = "ok" if report.signature_ok else f"INVALID ({report.signature_problem})"
        click.echo(f"  signature value: {state}  [{report.algorithm}]")
        for problem in report.profile_problems:
            click.echo(f"  СМЭВ profile: {problem}")
        cert = report.certificate
        if cert is None:
            click.echo("  certificate: none found in ds:KeyInfo")
        else:
            validity = "valid" if cert.valid_at_check_time else "NOT VALID"
            click.echo(f"  certificate subject: {cert.subject}")
            click.echo(f"  certificate issuer:  {cert.issuer}")
            click.echo(
                f"  certificate validity: {cert.not_before:%Y-%m-%d %H:%M:%S} .. "
                f"{cert.not_after:%Y-%m-%d %H:%M:%S} UTC: {validity} at {when:%Y-%m-%d %H:%M:%S}"
            )
        failed |= not report.ok
        failed |= require_valid_cert and (cert is None or not cert.valid_at_check_time)
    bad = sum(1 for r in reports if not r.ok)
    click.echo(f"{len(reports) - bad} of {len(reports)} signatures verify")
    if failed:
        sys.exit(1)


@xmlsig.command("sign")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--key", "key_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--cert", "cert_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--profile",
    type=click.Choice(["wsse", "smev"]),
    default="smev",
    show_default=True,
    help="wsse: a WS-Security header over Body and Timestamp; smev: a detached GOST signature.",
)
@click.option(
    "--ref",
    "ref_id",
    default="SIGNED_BY_CALLER",
    show_default=True,
    help="smev: the Id of the element to sign.",
)
@click.option(
    "--into",
    "into",
    default="CallerInformationSystemSignature",
    show_default=True,
    help="smev: local name of the element the ds:Signature goes into; created after the signed "
    "element, in its parent's namespace, if the document has none.",
)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Default: stdout.")
def sign_command(
    file: Path,
    key_path: Path,
    cert_path: Path,
    profile: str,
    ref_id: str,
    into: str,
    output: Path | None,
) -> None:
    """Sign FILE with the key pair KEY/CERT (PEM; GOST keys as OpenSSL's GOST engine writes them)."""
    from lxml import etree

    from rserz_soap.xmlsig.dsig import SignatureError, resolve_id
    from rserz_soap.xmlsig.keys import load_keypair

    try:
        keypair = load_keypair(key_path, cert_path)
    except ValueError as exc:
        raise click.ClickException(f"cannot load the key pair: {exc}") from None
    document = _parse(file)
    root = document.getroot()
    try:
        if profile == "wsse":
            from rserz_soap.xmlsig.wsse import sign_envelope

            sign_envelope(root, keypair)
        else:
            from rserz_soap.xmlsig.smev import sign_smev

            target = resolve_id(root, ref_id)
            parent = _signature_parent(target, into)
            sign_smev(root, ref_id, keypair, signature_parent=parent)
    except (SignatureError, ValueError, TypeError) as exc:
        raise click.ClickException(str(exc)) from None
    data = etree.tostring(document, xml_declaration=True, encoding="UTF-8")
    if output is None:
        sys.stdout.buffer.write(data)
    else:
        output.write_bytes(data)
        click.echo(f"signed {file} -> {output}", err=True)


def _signature_parent(target: Any, local_name: str) -> Any:
    from lxml import etree

    root = target.getroottree().getroot()
    found = [el for el in root.iter(etree.Element) if etree.QName(el).localname == local_name]
    if len(found) > 1:
        raise click.ClickException(f"{len(found)} elements named {local_name}: which one is meant?")
    if found:
        return found[0]
    parent = target.getparent()
    if parent is None:
        raise click.ClickException("the signed element is the document root: name an existing --into element")
    namespace = etree.QName(parent).namespace
    holder = etree.Element(f"{{{namespace}}}{local_name}" if namespace else local_name)
    target.addnext(holder)
    return holder
