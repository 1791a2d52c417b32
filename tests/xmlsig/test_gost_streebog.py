"""Streebog (GOST R 34.11-2012): the standard's examples, incremental use, and gostcrypto as a second opinion."""

from __future__ import annotations

import os

import gostcrypto
import pytest

from rserz_soap.xmlsig.gost.streebog import Streebog, streebog256, streebog512

# GOST R 34.11-2012 appendix A. The standard writes vectors most significant byte first; on the wire
# (and here) the message is the byte string and the hash the reversed hex (see streebog's docstring).
M1 = b"012345678901234567890123456789012345678901234567890123456789012"
M2 = bytes.fromhex(
    "fbe2e5f0eee3c820fbeafaebef20fffbf0e1e0f0f520e0ed20e8ece0ebe5f0f2f120fff0eeec20f120faf2fee5e2202ce8f6f3ede220e8e6eee1e8f0f2d1202ce8f0f2e5e220e5d1"
)[::-1]  # "Се ветри, Стрибожи внуци, веютъ с моря стрелами на храбрыя плъкы Игоревы" in CP1251
H512_M1 = "486f64c1917879417fef082b3381a4e211c324f074654c38823a7b76f830ad00fa1fbae42b1285c0352f227524bc9ab16254288dd6863dccd5b9f54a1ad0541b"
H256_M1 = "00557be5e584fd52a449b16b0251d05d27f94ab76cbaa6da890b59d8ef1e159d"
H512_M2 = "28fbc9bada033b1460642bdcddb90c3fb3e56c497ccd0f62b8a2ad4935e85f037613966de4ee00531ae60f3b5a47f8dae06915d5f2f194996fcabf2622e6881e"
H256_M2 = "508f7e553c06501d749a66fc28c6cac0b005746d97537fa85d9e40904efed29d"


def test_m2_is_the_cp1251_text() -> None:
    assert M2.decode("cp1251").startswith("Се ветри, Стрибожи внуци")


@pytest.mark.parametrize(
    ("message", "size", "expected"),
    [(M1, 64, H512_M1), (M1, 32, H256_M1), (M2, 64, H512_M2), (M2, 32, H256_M2)],
    ids=["M1-512", "M1-256", "M2-512", "M2-256"],
)
def test_standard_examples(message: bytes, size: int, expected: str) -> None:
    digest = streebog512(message) if size == 64 else streebog256(message)
    assert digest == bytes.fromhex(expected)[::-1]


def test_incremental_updates_equal_one_call() -> None:
    data = os.urandom(1000)
    for split in (0, 1, 63, 64, 65, 128, 999):
        h = Streebog(32)
        h.update(data[:split])
        copy = h.copy()
        h.update(data[split:])
        assert h.digest() == streebog256(data)
        copy.update(data[split:])
        assert copy.hexdigest() == streebog256(data).hex()


def test_rejects_other_sizes() -> None:
    with pytest.raises(ValueError, match="32 or 64"):
        Streebog(48)


@pytest.mark.parametrize("length", [0, 1, 55, 63, 64, 65, 127, 128, 129, 1000, 4097])
def test_agrees_with_gostcrypto(length: int) -> None:
    data = os.urandom(length)
    for size, ours in ((32, streebog256), (64, streebog512)):
        theirs = gostcrypto.gosthash.new(f"streebog{size * 8}", data=bytearray(data)).digest()
        assert ours(data) == bytes(theirs)


@pytest.mark.parametrize("length", [0, 1, 63, 64, 65, 1000, 5000])
def test_the_openssl_fast_path_agrees_with_the_pure_implementation(length: int) -> None:
    from rserz_soap.xmlsig.gost import fast
    from rserz_soap.xmlsig.gost.streebog import pure_streebog256, pure_streebog512

    loaded = fast.load(pure_streebog256, pure_streebog512)
    if loaded is None:
        pytest.skip("OpenSSL's GOST engine is not installed: the pure Streebog is the only one")
    data = os.urandom(length)
    assert loaded[0](data) == pure_streebog256(data) == streebog256(data)
    assert loaded[1](data) == pure_streebog512(data) == streebog512(data)
