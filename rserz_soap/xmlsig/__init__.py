"""XMLDSig core and X.509 trust.

Importing the package registers the algorithms and transforms that live in modules of their own — GOST
R 34.10-2012 with Streebog (``gost``) and the СМЭВ 3 transform (``smev_transform``) — so that
``dsig.sign``/``dsig.verify`` know them whichever module a caller imports first.
"""

from rserz_soap.xmlsig import gost, smev_transform  # noqa: F401  (each registers itself)
