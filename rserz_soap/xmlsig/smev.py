"""СМЭВ 3 signatures: the detached profile (sign) and a per-signature report of a message (verify).

A СМЭВ 3 message carries several ds:Signature elements, each a *detached* signature over one element
by Id: the sender's ``CallerInformationSystemSignature`` over ``SenderProvidedRequestData``
(``Id="SIGNED_BY_CALLER"``), СМЭВ's own ``SMEVSignature``, personal signatures over attachments …
Each has one reference with exc-c14n followed by the СМЭВ transform, a Streebog digest and a GOST
signature, and the signer's certificate in ds:KeyInfo/ds:X509Data.

``sign_smev`` makes such a signature with the one core (``dsig.sign``), inside the element the caller
names and *in place*: SignedInfo is canonicalised where it will be sent. (Building the Signature
elsewhere and appending it under ancestors that bind the XMLDSig namespace to another prefix makes lxml
rewrite prefixes and breaks the signature — tests/data/smev3/README.md.)

``verify_signatures`` is the diagnostic view ``rserz xmlsig verify`` prints: every ds:Signature found by
namespace (prefixes vary: ``ds:``, ``ns5:``, a default namespace), each reference's digest, the
SignatureValue and the certificate's validity reported *separately*, so an expired test certificate does
not hide that the mathematics holds, and a changed body is named by its reference. Deciding whether to
accept a message is ``dsig.verify`` plus ``trust.TrustStore``'s job, not this report's.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from lxml import etree  # type: ignore[import-untyped, unused-ignore]  # lxml ships no stubs

from rserz_soap.xmlsig.algorithms import (
    UnknownAlgorithm,
    get_digest,
    get_signature_algorithm,
    load_der_certificate,
    public_key_from_certificate,
)
from rserz_soap.xmlsig.c14n import (
    DS_NS,
    EXC_C14N,
    SMEV_TRANSFORM,
    TransformError,
    UnsupportedTransform,
    apply_transforms,
    canonicalize,
    inclusive_prefixes,
)
from rserz_soap.xmlsig.dsig import Reference, SignatureError, resolve_id, sign
from rserz_soap.xmlsig.gost.xmldsig import GOST_256, GOST_512, STREEBOG_256, STREEBOG_512
from rserz_soap.xmlsig.keys import KeyPair
from rserz_soap.xmlsig.smev_transform import namespace_aliases as _aliases

__all__ = [
    "SMEV_TRANSFORMS",
    "CertificateReport",
    "ReferenceReport",
    "SignatureReport",
    "sign_smev",
    "verify_signatures",
]

SMEV_TRANSFORMS: Final = (EXC_C14N, SMEV_TRANSFORM)
_WSSE_NS: Final = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"


def _ds(name: str) -> str:
    return f"{{{DS_NS}}}{name}"


# --- signing --------------------------------------------------------------------------------------------


def sign_smev(document_root: Any, ref_id: str, keypair: KeyPair, *, signature_parent: Any) -> Any:
    """Append to ``signature_parent`` a СМЭВ detached signature over the element ``Id=ref_id``.

    GOST-2012 with the Streebog of the key's size, one reference with exc-c14n + СМЭВ transform, the
    certificate in ds:KeyInfo/ds:X509Data. ``signature_parent`` must already be where it will be sent
    (e.g. the ``CallerInformationSystemSignature`` element after ``SenderProvidedRequestData``).
    """
    size = getattr(keypair.private_key, "size", None)
    if size not in (32, 64):
        raise TypeError("the СМЭВ profile signs with a GOST R 34.10-2012 key")
    key_info = etree.Element(_ds("KeyInfo"), nsmap={"ds": DS_NS})
    data = etree.SubElement(key_info, _ds("X509Data"))
    etree.SubElement(data, _ds("X509Certificate")).text = base64.b64encode(keypair.certificate_der).decode()
    return sign(
        document_root,
        [Reference(ref_id, transforms=SMEV_TRANSFORMS)],
        keypair.private_key,
        signature_parent=signature_parent,
        key_info=key_info,
        algorithm=GOST_256 if size == 32 else GOST_512,
        digest=STREEBOG_256 if size == 32 else STREEBOG_512,
    )


# --- the report -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReferenceReport:
    uri: str
    digest_algorithm: str
    ok: bool
    problem: str | None = None  # "digest mismatch", "not found", "unsupported transform …"
    aliased: bool = False  # matched only with the namespace aliases the caller gave


@dataclass(frozen=True)
class CertificateReport:
    subject: str
    issuer: str
    not_before: dt.datetime
    not_after: dt.datetime
    valid_at_check_time: bool


@dataclass(frozen=True)
class SignatureReport:
    """One ds:Signature: where it is, what its references and its SignatureValue say, who signed."""

    location: str  # the local name of the parent element, e.g. SMEVSignature
    signature_id: str | None
    algorithm: str | None
    references: tuple[ReferenceReport, ...]
    signature_ok: bool
    signature_problem: str | None
    certificate: CertificateReport | None
    profile_problems: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        """The mathematics: every digest and the SignatureValue (validity is reported, not included)."""
        return (
            self.signature_ok
            and bool(self.references)
            and all(ref.ok for ref in self.references)
            and not self.profile_problems
        )


def verify_signatures(
    document: Any,
    *,
    namespace_aliases: Mapping[str, str] | None = None,
    at: dt.datetime | None = None,
    smev_profile: bool = False,
) -> list[SignatureReport]:
    """Report on every ds:Signature in ``document`` (any node of the tree).

    ``namespace_aliases``: a reference whose digest does not match as sent is checked again with these
    URIs read as others inside the СМЭВ transform (see ``smev_transform``); a match is reported as ok
    with ``aliased=True``, never silently. Per reference, because in one message the sender may have
    signed the 1.2 namespace while СМЭВ signed what it delivered in 1.1. ``at`` is when certificate
    validity is judged (default now); ``smev_profile`` adds a problem for every signature that is not
    GOST with the exc-c14n + СМЭВ transform chain.
    """
    when = at or dt.datetime.now(dt.UTC)
    root = document.getroottree().getroot()
    return [
        _report(signature, when, smev_profile, namespace_aliases or {})
        for signature in root.iter(_ds("Signature"))
    ]


def _report(
    signature: Any, at: dt.datetime, smev_profile: bool, aliases: Mapping[str, str]
) -> SignatureReport:
    parent = signature.getparent()
    location = etree.QName(parent).localname if parent is not None else "(root)"
    signed_info = signature.find(_ds("SignedInfo"))
    value_element = signature.find(_ds("SignatureValue"))
    certificate = _certificate(signature)
    cert_report = None
    if certificate is not None:
        cert_report = CertificateReport(
            subject=certificate.subject.rfc4514_string(),
            issuer=certificate.issuer.rfc4514_string(),
            not_before=certificate.not_valid_before_utc,
            not_after=certificate.not_valid_after_utc,
            valid_at_check_time=certificate.not_valid_before_utc <= at <= certificate.not_valid_after_utc,
        )
    if signed_info is None or value_element is None:
        return SignatureReport(
            location, signature.get("Id"), None, (), False, "no SignedInfo/SignatureValue", cert_report
        )
    method = signed_info.find(_ds("SignatureMethod"))
    algorithm = method.get("Algorithm") if method is not None else None
    references = tuple(
        _reference_report(ref, signature, aliases) for ref in signed_info.findall(_ds("Reference"))
    )
    ok, problem = _signature_value(signed_info, value_element, algorithm, certificate)
    profile: list[str] = []
    if smev_profile:
        if algorithm not in (GOST_256, GOST_512):
            profile.append(f"signature method {algorithm} is not GOST R 34.10-2012")
        for ref in signed_info.findall(_ds("Reference")):
            chain = tuple(t.get("Algorithm") for t in ref.iterfind(f"{_ds('Transforms')}/{_ds('Transform')}"))
            if chain != SMEV_TRANSFORMS:
                profile.append(f"reference {ref.get('URI')}: transforms {chain} are not exc-c14n + СМЭВ")
    return SignatureReport(
        location,
        signature.get("Id"),
        algorithm,
        references,
        ok,
        problem,
        cert_report,
        tuple(profile),
    )


def _reference_report(reference: Any, signature: Any, aliases: Mapping[str, str]) -> ReferenceReport:
    uri = reference.get("URI") or ""
    method = reference.find(_ds("DigestMethod"))
    digest_uri = (method.get("Algorithm") if method is not None else None) or ""
    if not uri.startswith("#") or len(uri) < 2:
        return ReferenceReport(uri, digest_uri, False, "only same-document references are checked")
    try:
        element = resolve_id(signature, uri[1:])
        steps = [
            (t.get("Algorithm") or "", t)
            for t in reference.iterfind(f"{_ds('Transforms')}/{_ds('Transform')}")
        ]
        digest = get_digest(digest_uri)
        expected = _b64(reference.findtext(_ds("DigestValue")))
        with _aliases({}):
            matches = hmac.compare_digest(
                digest.digest(apply_transforms(element, steps, signature=signature)), expected
            )
        if not matches and aliases:
            with _aliases(aliases):
                octets = apply_transforms(element, steps, signature=signature)
            if hmac.compare_digest(digest.digest(octets), expected):
                return ReferenceReport(uri, digest_uri, True, None, aliased=True)
    except SignatureError as exc:
        return ReferenceReport(uri, digest_uri, False, exc.message)
    except (UnknownAlgorithm, UnsupportedTransform) as exc:
        return ReferenceReport(uri, digest_uri, False, f"unsupported algorithm {exc.uri}")
    except (TransformError, ValueError) as exc:
        return ReferenceReport(uri, digest_uri, False, str(exc))
    if not matches:
        return ReferenceReport(uri, digest_uri, False, "digest mismatch: the element changed after signing")
    return ReferenceReport(uri, digest_uri, True)


def _signature_value(
    signed_info: Any, value_element: Any, algorithm: str | None, certificate: x509.Certificate | None
) -> tuple[bool, str | None]:
    if certificate is None:
        return False, "no certificate in ds:KeyInfo"
    if not algorithm:
        return False, "no SignatureMethod"
    try:
        method = get_signature_algorithm(algorithm)
        public_key = public_key_from_certificate(certificate)
    except UnknownAlgorithm:
        return False, f"unsupported signature method {algorithm}"
    except (UnsupportedAlgorithm, ValueError):
        return False, "the certificate's key type is not supported"
    c14n = signed_info.find(_ds("CanonicalizationMethod"))
    c14n_uri = (c14n.get("Algorithm") if c14n is not None else None) or ""
    try:
        octets = canonicalize(signed_info, c14n_uri, inclusive_ns_prefixes=inclusive_prefixes(c14n))
        value = _b64(value_element.text)
    except UnsupportedTransform:
        return False, f"unsupported canonicalization {c14n_uri}"
    except ValueError as exc:
        return False, str(exc)
    if not method.accepts(public_key):
        return False, f"the certificate's key cannot verify {algorithm}"
    if not method.verify(public_key, value, octets):
        return False, "SignatureValue does not verify over SignedInfo with the certificate's key"
    return True, None


def _certificate(signature: Any) -> x509.Certificate | None:
    """ds:X509Data/ds:X509Certificate, or the BinarySecurityToken a wsse:Reference points to."""
    key_info = signature.find(_ds("KeyInfo"))
    if key_info is None:
        return None
    candidates: Sequence[Any] = list(key_info.iter(_ds("X509Certificate")))
    if not candidates:
        reference = key_info.find(f".//{{{_WSSE_NS}}}Reference")
        uri = reference.get("URI") if reference is not None else None
        if uri and uri.startswith("#"):
            try:
                candidates = [resolve_id(signature, uri[1:])]
            except SignatureError:
                return None
    for candidate in candidates:
        try:
            return load_der_certificate(_b64(candidate.text))
        except ValueError:
            continue
    return None


def _b64(text: str | None) -> bytes:
    try:
        return base64.b64decode("".join((text or "").split()), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("not base64") from None
