"""Streebog, the GOST R 34.11-2012 hash function (256- and 512-bit), in pure Python.

Every GOST signature in the exchange hashes with Streebog: the SignedInfo before the signature, each
referenced element for its ds:DigestValue, and every certificate's TBS part. Neither ``hashlib`` nor
``cryptography`` has it, so it is implemented here.

Speed is the point of the layout. The 512-bit state is one Python int; one round's LPS (byte
substitution π, byte transposition τ, linear map ℓ) is 64 look-ups in tables that fold π, τ and ℓ
together and already sit at their 64-bit lane's position, XORed together — the standard "precomputed
LPS" construction of the reference implementation, written so that Python does one ``to_bytes`` and 64
indexings per round instead of bit work. The 64 tables are built at import from the constants of the
standard (π, the matrix A, the round constants C), so the data here can be checked against the text.

Byte order. The standard writes vectors most significant byte first; this module works on byte strings
the way every implementation on the wire does (OpenSSL's ``md_gost12_256``, CryptoPro, gostcrypto): the
message bytes in order, the result as the little-endian bytes of the final state. The standard's test
vector M1 is therefore the ASCII string "0123…012" and its expected value appears here byte-reversed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

__all__ = ["BLOCK_SIZE", "Streebog", "streebog256", "streebog512"]

BLOCK_SIZE: Final = 64
_MASK: Final = (1 << 512) - 1

# GOST R 34.11-2012 §5.1: the substitution π (the same table as the Kuznyechik cipher's).
_PI: Final = bytes.fromhex(
    "fceedd11cf6e3116fbc4fada23c5044de977f0db932e99ba1736f1bb14cd5fc1"
    "f918655ae25cef21811c3c428b018e4f058402aee36a8fa0060bed987fd4d31f"
    "eb342c51eac848abf22a68a2fd3aceccb5700e56080c7612bf7213479cb75d87"
    "15a19629107b9ac7f391786f9d9eb2b13275193dff358a7e6d54c680c3bd0d57"
    "dff524a93ea843c9d779d6f67c22b903e00fecde7a94b0bcdce828504e330a4a"
    "a79760731e0062441ab83882649f2641ad454692275e552f8ca3a57d69d5953b"
    "0758b34086ac1df730376be488d9e789e11b83494c3ff8fe8d53aa90cad88561"
    "207167a42d2b095bcb9b25d0bee56c5259a674d2e6f4b4c0d166afc2394b63b6"
)

# §5.3: the rows of the matrix A of the linear transformation ℓ (A[0] multiplies the top bit).
_A: Final = (
    0x8E20FAA72BA0B470,
    0x47107DDD9B505A38,
    0xAD08B0E0C3282D1C,
    0xD8045870EF14980E,
    0x6C022C38F90A4C07,
    0x3601161CF205268D,
    0x1B8E0B0E798C13C8,
    0x83478B07B2468764,
    0xA011D380818E8F40,
    0x5086E740CE47C920,
    0x2843FD2067ADEA10,
    0x14AFF010BDD87508,
    0x0AD97808D06CB404,
    0x05E23C0468365A02,
    0x8C711E02341B2D01,
    0x46B60F011A83988E,
    0x90DAB52A387AE76F,
    0x486DD4151C3DFDB9,
    0x24B86A840E90F0D2,
    0x125C354207487869,
    0x092E94218D243CBA,
    0x8A174A9EC8121E5D,
    0x4585254F64090FA0,
    0xACCC9CA9328A8950,
    0x9D4DF05D5F661451,
    0xC0A878A0A1330AA6,
    0x60543C50DE970553,
    0x302A1E286FC58CA7,
    0x18150F14B9EC46DD,
    0x0C84890AD27623E0,
    0x0642CA05693B9F70,
    0x0321658CBA93C138,
    0x86275DF09CE8AAA8,
    0x439DA0784E745554,
    0xAFC0503C273AA42A,
    0xD960281E9D1D5215,
    0xE230140FC0802984,
    0x71180A8960409A42,
    0xB60C05CA30204D21,
    0x5B068C651810A89E,
    0x456C34887A3805B9,
    0xAC361A443D1C8CD2,
    0x561B0D22900E4669,
    0x2B838811480723BA,
    0x9BCF4486248D9F5D,
    0xC3E9224312C8C1A0,
    0xEFFA11AF0964EE50,
    0xF97D86D98A327728,
    0xE4FA2054A80B329C,
    0x727D102A548B194E,
    0x39B008152ACB8227,
    0x9258048415EB419D,
    0x492C024284FBAEC0,
    0xAA16012142F35760,
    0x550B8E9E21F7A530,
    0xA48B474F9EF5DC18,
    0x70A6A56E2440598E,
    0x3853DC371220A247,
    0x1CA76E95091051AD,
    0x0EDD37C48A08A6D8,
    0x07E095624504536C,
    0x8D70C431AC02A736,
    0xC83862965601DD1B,
    0x641C314B2B8EE083,
)

# §5.4 (the iteration constants C1…C12), as little-endian byte strings of the 512-bit values.
_C: Final = tuple(
    int.from_bytes(bytes.fromhex(value), "little")
    for value in (
        "0745a6f2596580dd234d74cc3674760515d360a4082a42a20169679291e07c4b"
        "fcc485758db84e7116d0452e43766a2f1f7c65c0812fcbebe9daca1eda5b08b1",
        "b79bb121700479e656cdcbd71ba2dd55caa70adbc261b55c5899d6126b17b59a"
        "3101b5160f5ed561982b230a72eafef3d7b5700f469de34f1a2f9da98ab5a36f",
        "b20aba0af5961e9931db7a8643f4b6c209db6260373ac9c1b19e3590e40fe2d3"
        "7b7b29b11475eaf28b1f9c525f5ef10635843d6a28fc390ac72fce2bacdc74f5",
        "2ed1e384bcbe0c22f137e893a1ea5334be0352933313b7d875d603ed822cd7a9"
        "3f355e68ad1c729d7d3c5c337e858e48dde4715da0e148f9d26615e8b3df1fef",
        "57fe6c7cfd581760f563eaa97ea2567a161a2723b700ffdfa3f53a254717cdbf"
        "bdff0f80d7359e354a1086161f1c157f6323a96c0c413f9a994747adac6bea4b",
        "6e7d64467a4068fa354f903672c571bfb6c6bec2661ff20ab4b79a1cb7a6facf"
        "c68ef09ab49a7f186ca44251f9c4662dc039307a3bc3a46fd9d33a1daeae4fae",
        "93d4143a4d568688f34a3ca24c45173504054a2883694706372c822dc5ab9209"
        "c9937a19333e47d3c987bfe6c7c69e39540924bffe86ac51ecc5aaee160ec7f4",
        "1ee702bfd40d7fa4d9a8515935c2ac362fc4a5d12b8dd16990069b92cb2b89f4"
        "9ac4db4d3b44b4891ede369c71f8b74e41416e0c02aae703a7c9934d425b1f9b",
        "db5a238351446172602a1fcb92dc380e549c07a69a8a2b7bb1ceb2db0b440a80"
        "84090de0b755d93c244289251b3a7d3ade5f16ecd89a4c949b223116545a8f37",
        "ed9c4598fbc7b474c3b63b15d1fa9836f452763b306c1e7a4b3369af0267e79f"
        "0361331b8ae1ff1fdb788aff1ce74189f3f3e4b248e52a38526f0580a6debeab",
        "1b2df381cda4ca6b5dd86fc04a59a2de986e477d1dcdbaefcab948eaef711d8a"
        "79668414218001206107abebbb6bfad894fe5a63cdc60230fb89c8efd09ecd7b",
        "20d71bf14a92bc48991bb2d9d517f4fa5228e188aaa41de786cc91189def805d"
        "9b9f2130d41220f8771ddfbc323ca4cd7ab14904b08013d2ba3116f167e78e37",
    )
)


def _lane_table(position: int) -> list[int]:
    """What byte ``position`` of the state contributes to LPS, for each of its 256 values.

    After τ, byte 8j+i of the input is byte j of output lane i; ℓ of that lane is the XOR of the rows
    of A selected by the bits of π(value) placed at byte j; the result sits at lane i's 64 bits.
    """
    j, i = divmod(position, 8)
    table = []
    for value in range(256):
        substituted = _PI[value]
        lane = 0
        for bit in range(8):
            if substituted >> bit & 1:
                lane ^= _A[63 - (8 * j + bit)]
        table.append(lane << (64 * i))
    return table


def _make_lps(tables: list[list[int]]) -> Callable[[int], int]:
    """LPS as one expression over closure-bound tables (closure cells are the fastest names to read)."""
    (
        t0,
        t1,
        t2,
        t3,
        t4,
        t5,
        t6,
        t7,
        t8,
        t9,
        t10,
        t11,
        t12,
        t13,
        t14,
        t15,
        t16,
        t17,
        t18,
        t19,
        t20,
        t21,
        t22,
        t23,
        t24,
        t25,
        t26,
        t27,
        t28,
        t29,
        t30,
        t31,
        t32,
        t33,
        t34,
        t35,
        t36,
        t37,
        t38,
        t39,
        t40,
        t41,
        t42,
        t43,
        t44,
        t45,
        t46,
        t47,
        t48,
        t49,
        t50,
        t51,
        t52,
        t53,
        t54,
        t55,
        t56,
        t57,
        t58,
        t59,
        t60,
        t61,
        t62,
        t63,
    ) = tables

    def lps(state: int) -> int:
        b = state.to_bytes(64, "little")
        return (
            t0[b[0]]
            ^ t1[b[1]]
            ^ t2[b[2]]
            ^ t3[b[3]]
            ^ t4[b[4]]
            ^ t5[b[5]]
            ^ t6[b[6]]
            ^ t7[b[7]]
            ^ t8[b[8]]
            ^ t9[b[9]]
            ^ t10[b[10]]
            ^ t11[b[11]]
            ^ t12[b[12]]
            ^ t13[b[13]]
            ^ t14[b[14]]
            ^ t15[b[15]]
            ^ t16[b[16]]
            ^ t17[b[17]]
            ^ t18[b[18]]
            ^ t19[b[19]]
            ^ t20[b[20]]
            ^ t21[b[21]]
            ^ t22[b[22]]
            ^ t23[b[23]]
            ^ t24[b[24]]
            ^ t25[b[25]]
            ^ t26[b[26]]
            ^ t27[b[27]]
            ^ t28[b[28]]
            ^ t29[b[29]]
            ^ t30[b[30]]
            ^ t31[b[31]]
            ^ t32[b[32]]
            ^ t33[b[33]]
            ^ t34[b[34]]
            ^ t35[b[35]]
            ^ t36[b[36]]
            ^ t37[b[37]]
            ^ t38[b[38]]
            ^ t39[b[39]]
            ^ t40[b[40]]
            ^ t41[b[41]]
            ^ t42[b[42]]
            ^ t43[b[43]]
            ^ t44[b[44]]
            ^ t45[b[45]]
            ^ t46[b[46]]
            ^ t47[b[47]]
            ^ t48[b[48]]
            ^ t49[b[49]]
            ^ t50[b[50]]
            ^ t51[b[51]]
            ^ t52[b[52]]
            ^ t53[b[53]]
            ^ t54[b[54]]
            ^ t55[b[55]]
            ^ t56[b[56]]
            ^ t57[b[57]]
            ^ t58[b[58]]
            ^ t59[b[59]]
            ^ t60[b[60]]
            ^ t61[b[61]]
            ^ t62[b[62]]
            ^ t63[b[63]]
        )

    return lps


_lps: Final = _make_lps([_lane_table(position) for position in range(64)])


def _compress(h: int, n: int, m: int) -> int:
    """g_N(h, m) = E(LPS(h ⊕ N), m) ⊕ h ⊕ m (§7)."""
    lps = _lps
    key = lps(h ^ n)
    state = m
    for constant in _C:
        state = lps(key ^ state)
        key = lps(key ^ constant)
    return state ^ key ^ h ^ m


class Streebog:
    """An incremental Streebog hash in the ``hashlib`` style (``update``, ``digest``, ``copy``)."""

    __slots__ = ("_buffer", "_h", "_n", "_sigma", "digest_size")

    block_size: Final = BLOCK_SIZE

    def __init__(self, digest_size: int = 32, data: bytes = b"") -> None:
        if digest_size not in (32, 64):
            raise ValueError("Streebog produces 32 or 64 bytes")
        self.digest_size = digest_size
        # IV: 0x01 in every byte for the 256-bit hash, zero for the 512-bit one (§8).
        self._h = int.from_bytes(b"\x01" * 64, "little") if digest_size == 32 else 0
        self._n = 0
        self._sigma = 0
        self._buffer = b""
        if data:
            self.update(data)

    @property
    def name(self) -> str:
        return f"streebog{self.digest_size * 8}"

    def update(self, data: bytes | bytearray | memoryview) -> None:
        buffered = self._buffer + bytes(data)
        full = len(buffered) - len(buffered) % BLOCK_SIZE
        h, n, sigma = self._h, self._n, self._sigma
        from_bytes = int.from_bytes
        for offset in range(0, full, BLOCK_SIZE):
            m = from_bytes(buffered[offset : offset + BLOCK_SIZE], "little")
            h = _compress(h, n, m)
            n = (n + 512) & _MASK
            sigma = (sigma + m) & _MASK
        self._h, self._n, self._sigma = h, n, sigma
        self._buffer = buffered[full:]

    def copy(self) -> Streebog:
        other = Streebog.__new__(Streebog)
        other.digest_size = self.digest_size
        other._h, other._n, other._sigma, other._buffer = self._h, self._n, self._sigma, self._buffer
        return other

    def digest(self) -> bytes:
        tail = self._buffer
        # Padding (§8.1): the remaining bits, one 1 bit above them, zeros up to the block.
        m = int.from_bytes(tail, "little") | (1 << (8 * len(tail)))
        h = _compress(self._h, self._n, m)
        n = (self._n + 8 * len(tail)) & _MASK
        sigma = (self._sigma + m) & _MASK
        h = _compress(h, 0, n)
        h = _compress(h, 0, sigma)
        out = h.to_bytes(64, "little")
        return out if self.digest_size == 64 else out[32:]

    def hexdigest(self) -> str:
        return self.digest().hex()


def pure_streebog256(data: bytes) -> bytes:
    return Streebog(32, data).digest()


def pure_streebog512(data: bytes) -> bytes:
    return Streebog(64, data).digest()


def _fast() -> tuple[Callable[[bytes], bytes], Callable[[bytes], bytes]]:
    from rserz_soap.xmlsig.gost import fast

    return fast.load(pure_streebog256, pure_streebog512) or (pure_streebog256, pure_streebog512)


_STREEBOG_256, _STREEBOG_512 = _fast()


def streebog256(data: bytes) -> bytes:
    """The 256-bit Streebog hash of ``data`` (what ``gostr34112012-256`` digests are); through OpenSSL's
    GOST engine when it is installed and agrees with the pure implementation (``gost/fast.py``)."""
    return _STREEBOG_256(data)


def streebog512(data: bytes) -> bytes:
    """The 512-bit Streebog hash of ``data``."""
    return _STREEBOG_512(data)
