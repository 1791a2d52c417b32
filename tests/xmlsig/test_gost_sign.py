"""GOST R 34.10-2012: the standard's worked examples, every parameter set, the CryptoPro byte order,
the per-key cache, the XMLDSig registration, and gostcrypto as an independent implementation."""

from __future__ import annotations

import os

import gostcrypto
import pytest
from lxml import etree

from rserz_soap.xmlsig import dsig
from rserz_soap.xmlsig.algorithms import get_digest, get_signature_algorithm, signature_algorithm_for_key
from rserz_soap.xmlsig.gost import ec
from rserz_soap.xmlsig.gost.curves import (
    CRYPTOPRO_A,
    CRYPTOPRO_B,
    CRYPTOPRO_C,
    CRYPTOPRO_XCHA,
    CRYPTOPRO_XCHB,
    CURVES,
    TC26_256_A,
    TC26_256_B,
    TC26_256_C,
    TC26_256_D,
    TC26_512_A,
    TC26_512_B,
    TC26_512_C,
    TEST_256,
    TEST_512,
    UnknownCurve,
    curve_by_oid,
)
from rserz_soap.xmlsig.gost.sign import (
    GostPrivateKey,
    GostPublicKey,
    generate_private_key,
    sign_digest,
    verify_digest,
)
from rserz_soap.xmlsig.gost.streebog import streebog256
from rserz_soap.xmlsig.gost.xmldsig import GOST_256, GOST_512, STREEBOG_256, STREEBOG_512

PARAMETER_SETS = [
    CRYPTOPRO_A,
    CRYPTOPRO_B,
    CRYPTOPRO_C,
    CRYPTOPRO_XCHA,
    CRYPTOPRO_XCHB,
    TC26_256_A,
    TC26_256_B,
    TC26_256_C,
    TC26_256_D,
    TC26_512_A,
    TC26_512_B,
    TC26_512_C,
]


# --- GOST R 34.10-2012 appendix A (also RFC 7091 §7) ----------------------------------------------------


def test_example_256() -> None:
    key = GostPrivateKey(
        curve_by_oid(TEST_256), 0x7A929ADE789BB9BE10ED359DD39A72C11B60961F49397EEE1D19CE9891EC3B28, TEST_256
    )
    public = key.public_key()
    assert public.x == 0x7F2B49E270DB6D90D8595BEC458B50C58585BA1D4E9B788F6689DBD8E56FD80B
    assert public.y == 0x26F1B489D6701DD185C8413A977B3CBBAF64D1C593D26627DFFB101A87FF77DA
    e = 0x2DFBC1B372D89A1188C09C52E0EEC61FCE52032AB1022E8E67ECE6672B043EE5
    k = 0x77105C9B20BCD3122823C8CF6FCC7B956DE33814E95B7FE64FED924594DCEAB3
    signature = sign_digest(key, e.to_bytes(32, "little"), k=k)
    r = 0x41AA28D2F1AB148280CD9ED56FEDA41974053554A42767B83AD043FD39DC0493
    s = 0x01456C64BA4642A1653C235A98A60249BCD6D3F746B631DF928014F6C5BF9C40
    assert signature == s.to_bytes(32, "big") + r.to_bytes(32, "big")
    assert verify_digest(public, e.to_bytes(32, "little"), signature)


def test_example_512() -> None:
    d = int(
        "0BA6048AADAE241BA40936D47756D7C93091A0E8514669700EE7508E508B1020"
        "72E8123B2200A0563322DAD2827E2714A2636B7BFD18AADFC62967821FA18DD4",
        16,
    )
    key = GostPrivateKey(curve_by_oid(TEST_512), d, TEST_512)
    assert key.public_key().x == int(
        "115DC5BC96760C7B48598D8AB9E740D4C4A85A65BE33C1815B5C320C854621DD"
        "5A515856D13314AF69BC5B924C8B4DDFF75C45415C1D9DD9DD33612CD530EFE1",
        16,
    )
    assert key.public_key().y == int(
        "37C7C90CD40B0F5621DC3AC1B751CFA0E2634FA0503B3D52639F5D7FB72AFD61"
        "EA199441D943FFE7F0C70A2759A3CDB84C114E1F9339FDF27F35ECA93677BEEC",
        16,
    )
    alpha = int(
        "3754F3CFACC9E0615C4F4A7C4D8DAB531B09B6F9C170C533A71D147035B0C591"
        "7184EE536593F4414339976C647C5D5A407ADEDB1D560C4FC6777D2972075B8C",
        16,
    )
    k = int(
        "0359E7F4B1410FEACC570456C6801496946312120B39D019D455986E364F3658"
        "86748ED7A44B3E794434006011842286212273A6D14CF70EA3AF71BB1AE679F1",
        16,
    )
    r = "2f86fa60a081091a23dd795e1e3c689ee512a3c82ee0dcc2643c78eea8fcacd35492558486b20f1c9ec197c90699850260c93bcbcd9c5c3317e19344e173ae36"
    s = "1081b394696ffe8e6585e7a9362d26b6325f56778aadbc081c0bfbe933d52ff5823ce288e8c4f362526080df7f70ce406a6eeb1f56919cb92a9853bde73e5b4a"
    signature = sign_digest(key, alpha.to_bytes(64, "little"), k=k)
    assert signature.hex() == s + r
    assert verify_digest(key.public_key(), alpha.to_bytes(64, "little"), signature)


# --- every parameter set ----------------------------------------------------------------------------------


@pytest.mark.parametrize("oid", PARAMETER_SETS)
def test_curve_parameters_are_sound(oid: str) -> None:
    curve = curve_by_oid(oid)
    assert curve.contains(curve.x, curve.y)
    assert ec.multiply(curve, (curve.x, curve.y), curve.q) is None  # the base point has order q
    assert ec.multiply_generator(curve, 12345) == ec.multiply(curve, (curve.x, curve.y), 12345)


@pytest.mark.parametrize("oid", PARAMETER_SETS)
def test_round_trip(oid: str) -> None:
    key = generate_private_key(oid)
    public = key.public_key()
    assert public.param_oid == oid and public.size == (
        64 if oid in (TC26_512_A, TC26_512_B, TC26_512_C) else 32
    )
    data = os.urandom(100)
    signature = key.sign(data)
    assert len(signature) == 2 * key.size
    for _ in range(3):  # the first-seen path (Straus), then the cached per-key table
        assert public.verify(signature, data)
        assert not public.verify(signature, data + b"x")
    assert not public.verify(signature[::-1], data)
    assert GostPublicKey.from_bytes(public.to_bytes(), oid) == public
    assert GostPrivateKey.from_bytes(key.to_bytes(), oid).public_key() == public


def test_unknown_curve_and_bad_points_are_refused() -> None:
    with pytest.raises(UnknownCurve):
        curve_by_oid("1.2.3")
    curve = CURVES[CRYPTOPRO_XCHA]
    with pytest.raises(ValueError, match="not a point"):
        GostPublicKey(curve, 1, 1, CRYPTOPRO_XCHA)
    with pytest.raises(ValueError, match="out of range"):
        GostPrivateKey(curve, curve.q, CRYPTOPRO_XCHA)
    with pytest.raises(ValueError, match="64 bytes"):
        GostPublicKey.from_bytes(b"\x00" * 10, CRYPTOPRO_XCHA)


def test_malformed_signatures_are_invalid_not_errors() -> None:
    key = generate_private_key()
    digest = streebog256(b"m")
    q = key.curve.q
    assert not verify_digest(key.public_key(), digest, b"")
    assert not verify_digest(key.public_key(), digest, b"\x00" * 64)  # r = s = 0
    too_big = q.to_bytes(32, "big") * 2  # r = s = q
    assert not verify_digest(key.public_key(), digest, too_big)


def test_cryptopro_byte_order() -> None:
    """Hash little-endian, s ‖ r, x_le ‖ y_le: reading any of them the other way fails."""
    key = generate_private_key()
    digest = streebog256(b"SignedInfo")
    signature = sign_digest(key, digest)
    s = int.from_bytes(signature[:32], "big")
    e = int.from_bytes(digest, "little") % key.curve.q
    r = int.from_bytes(signature[32:], "big")
    assert (s - key.d * r) * pow(e, -1, key.curve.q) % key.curve.q  # s = rd + ke, so k ≠ 0
    assert verify_digest(key.public_key(), digest, signature)
    assert not verify_digest(key.public_key(), digest[::-1], signature)  # big-endian hash
    assert not verify_digest(key.public_key(), digest, signature[32:] + signature[:32])  # r ‖ s
    raw = key.public_key().to_bytes()
    assert raw[:32] == key.public_key().x.to_bytes(32, "little")


def test_private_key_repr_hides_the_secret() -> None:
    key = generate_private_key()
    assert hex(key.d)[2:12] not in repr(key) and str(key.d) not in repr(key)


def test_key_cache_is_bounded_and_builds_on_second_use() -> None:
    ec.clear_key_cache()
    ec.set_key_cache_size(2)
    try:
        keys = [generate_private_key() for _ in range(3)]
        digest = streebog256(b"x")
        for key in keys:
            assert verify_digest(key.public_key(), digest, sign_digest(key, digest))
        assert len(ec._KEY_CACHE) == 2  # the oldest was dropped
        entry = ec._KEY_CACHE[(keys[2].curve.name, keys[2].public_key().x, keys[2].public_key().y)]
        assert entry.table is None
        assert verify_digest(keys[2].public_key(), digest, sign_digest(keys[2], digest))
        assert entry.table is not None
        ec.set_key_cache_size(0)
        assert not ec._KEY_CACHE
        assert verify_digest(keys[0].public_key(), digest, sign_digest(keys[0], digest))
    finally:
        ec.set_key_cache_size(ec.DEFAULT_KEY_CACHE_SIZE)


# --- gostcrypto: another implementation, other conventions (big-endian numbers, r ‖ s) ----------------

_GOSTCRYPTO_NAMES = {
    TC26_256_A: "id-tc26-gost-3410-2012-256-paramSetA",
    CRYPTOPRO_XCHA: "id-tc26-gost-3410-2012-256-paramSetB",
    CRYPTOPRO_B: "id-tc26-gost-3410-2012-256-paramSetC",
    CRYPTOPRO_C: "id-tc26-gost-3410-2012-256-paramSetD",
    TC26_512_A: "id-tc26-gost-3410-12-512-paramSetA",
    TC26_512_B: "id-tc26-gost-3410-12-512-paramSetB",
    TC26_512_C: "id-tc26-gost-3410-2012-512-paramSetC",
}


@pytest.mark.parametrize("oid", list(_GOSTCRYPTO_NAMES))
def test_agrees_with_gostcrypto(oid: str) -> None:
    key = generate_private_key(oid)
    size = key.size
    mode = gostcrypto.gostsignature.MODE_256 if size == 32 else gostcrypto.gostsignature.MODE_512
    theirs = gostcrypto.gostsignature.new(
        mode, gostcrypto.gostsignature.CURVES_R_1323565_1_024_2019[_GOSTCRYPTO_NAMES[oid]]
    )
    d_be = bytearray(key.d.to_bytes(size, "big"))
    public = key.public_key()
    assert bytes(theirs.public_key_generate(d_be)) == public.x.to_bytes(size, "big") + public.y.to_bytes(
        size, "big"
    )
    for _ in range(2):
        digest = os.urandom(size)
        ours = sign_digest(key, digest)
        r_s = bytearray(ours[size:] + ours[:size])
        assert theirs.verify(theirs.public_key_generate(d_be), bytearray(digest[::-1]), r_s)
        their_signature = bytes(theirs.sign(d_be, bytearray(digest[::-1])))
        assert verify_digest(public, digest, their_signature[size:] + their_signature[:size])


# --- the XMLDSig registries -----------------------------------------------------------------------------


def test_registered_uris() -> None:
    assert get_digest(STREEBOG_256).digest(b"abc") == streebog256(b"abc")
    assert len(get_digest(STREEBOG_512).digest(b"abc")) == 64
    key256, key512 = generate_private_key(), generate_private_key(TC26_512_A)
    assert signature_algorithm_for_key(key256).uri == GOST_256
    assert signature_algorithm_for_key(key512).uri == GOST_512
    method = get_signature_algorithm(GOST_256)
    assert method.accepts(key256.public_key()) and not method.accepts(key512.public_key())
    assert not method.verify(key512.public_key(), key512.sign(b"x"), b"x")
    with pytest.raises(TypeError, match="256-bit GOST private key"):
        method.sign(key512, b"x")


@pytest.mark.parametrize(("oid", "digest"), [(CRYPTOPRO_XCHA, STREEBOG_256), (TC26_512_B, STREEBOG_512)])
def test_dsig_signs_and_verifies_with_gost_keys_unchanged(oid: str, digest: str) -> None:
    root = etree.fromstring(b'<r xmlns="urn:t"><data Id="d1">payload &amp; more</data><sig/></r>')
    key = generate_private_key(oid)
    signature = dsig.sign(root, [dsig.Reference("d1")], key, signature_parent=root[1], digest=digest)
    verified = dsig.verify(signature, public_key=key.public_key())
    assert verified.algorithm == (GOST_256 if key.size == 32 else GOST_512)
    root[0].text = "changed"
    with pytest.raises(dsig.SignatureError) as caught:
        dsig.verify(signature, public_key=key.public_key())
    assert caught.value.code == "digest_mismatch"
    with pytest.raises(dsig.SignatureError) as caught:
        dsig.verify(signature, public_key=generate_private_key(oid).public_key())
    assert caught.value.code == "bad_signature"
