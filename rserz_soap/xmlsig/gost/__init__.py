"""GOST R 34.10-2012 signatures with Streebog (GOST R 34.11-2012) digests, in pure Python.

Importing the package registers the GOST algorithms with the XMLDSig core (see ``xmldsig``), which
``rserz_soap.xmlsig`` does for every user of the core. Modules, innermost first: ``streebog`` (the hash),
``curves`` (parameter sets by OID), ``ec`` (point arithmetic and its caches), ``sign`` (keys, signatures,
the CryptoPro byte order), ``asn1`` (SPKI, PKCS#8, certificates and CRLs), ``xmldsig`` (registration),
``openssl`` (optional: OpenSSL's GOST engine, for cross-checks and as a fast Streebog when present).
"""

from rserz_soap.xmlsig.gost.asn1 import certificate_public_key, private_key_from_pem, private_key_pem
from rserz_soap.xmlsig.gost.curves import CURVES, Curve
from rserz_soap.xmlsig.gost.sign import GostPrivateKey, GostPublicKey, generate_private_key
from rserz_soap.xmlsig.gost.streebog import streebog256, streebog512
from rserz_soap.xmlsig.gost.xmldsig import GOST_256, GOST_512, STREEBOG_256, STREEBOG_512, register

__all__ = [
    "CURVES",
    "GOST_256",
    "GOST_512",
    "STREEBOG_256",
    "STREEBOG_512",
    "Curve",
    "GostPrivateKey",
    "GostPublicKey",
    "certificate_public_key",
    "generate_private_key",
    "private_key_from_pem",
    "private_key_pem",
    "streebog256",
    "streebog512",
]

register()
