"""Point arithmetic for GOST R 34.10-2012, tuned for CPython's integers.

architecture.md §8: gostcrypto's 45 ms sign / 75 ms verify come from affine arithmetic with an inversion
per step, not from Python. Here:

* Jacobian coordinates (X, Y, Z) ~ (X/Z², Y/Z³), so a step costs about ten modular products and no
  inversion; every table point is affine, so each addition is the cheaper *mixed* one.
* Signing multiplies the generator only: a fixed-base table per curve (``_FIXED_WIDTH``-bit signed
  windows: k·G is a sum of about 33 table points for a 256-bit curve, no doublings), built on first use.
* Verifying computes z1·G + z2·Q. A public key seen for the first time goes through Straus/Shamir's
  trick: one run of doublings over the width-w NAFs of both scalars, G's odd multiples from a per-curve
  table. Keys repeat (every participant signs with the same certificate for a year), so a key seen twice
  gets its own fixed-base table (``_KEY_WIDTH``-bit windows, ~250 KB for a 256-bit key, a few ms to
  build) in a bounded LRU (``set_key_cache_size``); from then on verification is additions only.

Arithmetic is not constant-time — CPython integers are not. The hub signs with its own key on its own
machine; an attacker who can time our signatures to the microsecond is not in the threat model, and
the dev PKI's keys are not secrets. Do not use this module where a side channel matters.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Final

from rserz_soap.xmlsig.gost.curves import Curve

__all__ = [
    "DEFAULT_KEY_CACHE_SIZE",
    "Jacobian",
    "Point",
    "clear_key_cache",
    "multiply",
    "multiply_generator",
    "set_key_cache_size",
    "shamir",
]

Point = tuple[int, int]
Jacobian = tuple[int, int, int]  # Z == 0 is the point at infinity

_FIXED_WIDTH: Final = 8  # generator tables: 128 points per window, ~33 windows (256-bit)
_KEY_WIDTH: Final = 6  # per-key tables: 32 points per window, ~44 windows
_G_NAF_WIDTH: Final = 8  # odd multiples 1G..127G for Straus
_Q_NAF_WIDTH: Final = 5  # odd multiples 1Q..15Q, computed per call
DEFAULT_KEY_CACHE_SIZE: Final = 64
_BUILD_AFTER_USES: Final = 2  # a key gets a table the second time it verifies something

_INFINITY: Final[Jacobian] = (1, 1, 0)


# --- field-level building blocks ------------------------------------------------------------------------


def _double(point: Jacobian, p: int, a: int, a_is_minus_3: bool) -> Jacobian:
    x, y, z = point
    if z == 0 or y == 0:
        return _INFINITY
    yy = y * y % p
    s = 4 * x * yy % p
    zz = z * z % p
    m = 3 * (x - zz) * (x + zz) % p if a_is_minus_3 else (3 * x * x + a * zz * zz) % p
    x3 = (m * m - 2 * s) % p
    return x3, (m * (s - x3) - 8 * yy * yy) % p, 2 * y * z % p


def _add_affine(point: Jacobian, x2: int, y2: int, p: int, a: int, a_is_minus_3: bool) -> Jacobian:
    """point + (x2, y2), the affine point not at infinity (madd-2007-bl)."""
    x1, y1, z1 = point
    if z1 == 0:
        return x2, y2, 1
    z1z1 = z1 * z1 % p
    h = (x2 * z1z1 - x1) % p
    r = (y2 * z1 * z1z1 - y1) % p
    if h == 0:
        return _double(point, p, a, a_is_minus_3) if r == 0 else _INFINITY
    hh = h * h % p
    hhh = h * hh % p
    v = x1 * hh % p
    x3 = (r * r - hhh - 2 * v) % p
    return x3, (r * (v - x3) - y1 * hhh) % p, z1 * h % p


def _to_affine(point: Jacobian, p: int) -> Point | None:
    x, y, z = point
    if z == 0:
        return None
    zi = pow(z, -1, p)
    zi2 = zi * zi % p
    return x * zi2 % p, y * zi2 * zi % p


def _to_affine_many(points: list[Jacobian], p: int) -> list[Point]:
    """Montgomery's trick: one inversion for the whole list (no point may be at infinity)."""
    prefix = []
    acc = 1
    for _x, _y, z in points:
        prefix.append(acc)
        acc = acc * z % p
    inverse = pow(acc, -1, p)
    out: list[Point] = [(0, 0)] * len(points)
    for index in range(len(points) - 1, -1, -1):
        x, y, z = points[index]
        zi = inverse * prefix[index] % p
        inverse = inverse * z % p
        zi2 = zi * zi % p
        out[index] = (x * zi2 % p, y * zi2 * zi % p)
    return out


# --- fixed-base tables ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _WindowTable:
    """rows[i][d - 1] = d·2^(w·i)·B for d in 1..2^(w-1): a scalar is a sum of one entry per window."""

    width: int
    rows: tuple[tuple[Point, ...], ...]


def _window_table(curve: Curve, base: Point, width: int) -> _WindowTable:
    p, a = curve.p, curve.a
    minus3 = a == p - 3
    half = 1 << (width - 1)
    windows = curve.q.bit_length() // width + 2  # room for the carry of the signed recoding
    rows = []
    bx, by = base
    for _ in range(windows):
        multiples: list[Jacobian] = [(bx, by, 1)]
        for _d in range(1, half):
            multiples.append(_add_affine(multiples[-1], bx, by, p, a, minus3))
        multiples.append(_double(multiples[-1], p, a, minus3))  # 2^w·B: the next window's base
        affine = _to_affine_many(multiples, p)
        rows.append(tuple(affine[:half]))
        bx, by = affine[half]
    return _WindowTable(width, tuple(rows))


def _signed_windows(k: int, width: int) -> list[int]:
    """Digits d_i in (-2^(w-1), 2^(w-1)] with k = Σ d_i·2^(w·i)."""
    mask = (1 << width) - 1
    half = 1 << (width - 1)
    full = 1 << width
    digits = []
    while k:
        d = k & mask
        k >>= width
        if d > half:
            d -= full
            k += 1
        digits.append(d)
    return digits


def _sum_table(acc: Jacobian, k: int, table: _WindowTable, curve: Curve) -> Jacobian:
    p, a = curve.p, curve.a
    minus3 = a == p - 3
    rows = table.rows
    for index, d in enumerate(_signed_windows(k, table.width)):
        if d > 0:
            x, y = rows[index][d - 1]
            acc = _add_affine(acc, x, y, p, a, minus3)
        elif d < 0:
            x, y = rows[index][-d - 1]
            acc = _add_affine(acc, x, p - y, p, a, minus3)
    return acc


# --- per-curve and per-key precomputation ---------------------------------------------------------------


@dataclass
class _CurveTables:
    fixed: _WindowTable  # k·G for signing and for verifying with a cached key
    odd: tuple[Point, ...]  # 1G, 3G, …, (2^(w-1) - 1)G for Straus


_CURVE_TABLES: dict[str, _CurveTables] = {}
_CURVE_LOCK: Final = threading.Lock()


def _curve_tables(curve: Curve) -> _CurveTables:
    tables = _CURVE_TABLES.get(curve.name)
    if tables is None:
        with _CURVE_LOCK:  # built once per process: ~20 ms (256-bit) to ~80 ms (512-bit)
            tables = _CURVE_TABLES.get(curve.name)
            if tables is None:
                generator = (curve.x, curve.y)
                tables = _CurveTables(
                    _window_table(curve, generator, _FIXED_WIDTH),
                    _odd_multiples(curve, generator, _G_NAF_WIDTH),
                )
                _CURVE_TABLES[curve.name] = tables
    return tables


class _KeyEntry:
    __slots__ = ("table", "uses")

    def __init__(self) -> None:
        self.uses = 0
        self.table: _WindowTable | None = None


_KEY_CACHE: OrderedDict[tuple[str, int, int], _KeyEntry] = OrderedDict()
_KEY_LOCK: Final = threading.Lock()
_key_cache_size = DEFAULT_KEY_CACHE_SIZE


def set_key_cache_size(size: int) -> None:
    """How many public keys keep a precomputed table (~250 KB each at 256 bits, ~1 MB at 512)."""
    global _key_cache_size
    if size < 0:
        raise ValueError("cache size must be >= 0")
    with _KEY_LOCK:
        _key_cache_size = size
        while len(_KEY_CACHE) > size:
            _KEY_CACHE.popitem(last=False)


def clear_key_cache() -> None:
    with _KEY_LOCK:
        _KEY_CACHE.clear()


def _key_table(curve: Curve, point: Point) -> _WindowTable | None:
    """The key's table if it has one; counts the use and builds it on the ``_BUILD_AFTER_USES``-th."""
    if _key_cache_size == 0:
        return None
    cache_key = (curve.name, point[0], point[1])
    with _KEY_LOCK:
        entry = _KEY_CACHE.get(cache_key)
        if entry is None:
            entry = _KeyEntry()
            _KEY_CACHE[cache_key] = entry
            while len(_KEY_CACHE) > _key_cache_size:
                _KEY_CACHE.popitem(last=False)
        else:
            _KEY_CACHE.move_to_end(cache_key)
        entry.uses += 1
        table, build = entry.table, entry.table is None and entry.uses >= _BUILD_AFTER_USES
    if build:
        # Outside the lock: two threads may both build it once; the second result simply wins.
        table = _window_table(curve, point, _KEY_WIDTH)
        entry.table = table
    return table


# --- scalar multiplication ------------------------------------------------------------------------------


def _odd_multiples(curve: Curve, point: Point, width: int) -> tuple[Point, ...]:
    p, a = curve.p, curve.a
    minus3 = a == p - 3
    twice = _to_affine(_double((point[0], point[1], 1), p, a, minus3), p)
    if twice is None:
        raise ValueError("point of order 2")
    multiples: list[Jacobian] = [(point[0], point[1], 1)]
    for _ in range((1 << (width - 2)) - 1):
        multiples.append(_add_affine(multiples[-1], twice[0], twice[1], p, a, minus3))
    return tuple(_to_affine_many(multiples, p))


def _naf(k: int, width: int) -> list[int]:
    """Width-w NAF, least significant digit first: odd digits in (-2^(w-1), 2^(w-1)), zeros between."""
    full = 1 << width
    half = full >> 1
    mask = full - 1
    digits: list[int] = []
    while k:
        if k & 1:
            d = k & mask
            if d >= half:
                d -= full
            k -= d
            digits.append(d)
            k >>= 1
        else:
            zeros = (k & -k).bit_length() - 1  # skip a run of zero digits in one step
            digits.extend([0] * zeros)
            k >>= zeros
    return digits


def multiply_generator(curve: Curve, k: int) -> Point | None:
    """k·G (None for the point at infinity), from the curve's fixed-base table."""
    acc = _sum_table(_INFINITY, k % curve.q, _curve_tables(curve).fixed, curve)
    return _to_affine(acc, curve.p)


def multiply(curve: Curve, point: Point, k: int) -> Point | None:
    """k·P for an arbitrary point (tests, key checks): width-5 NAF double-and-add."""
    p, a = curve.p, curve.a
    minus3 = a == p - 3
    odd = _odd_multiples(curve, point, _Q_NAF_WIDTH)
    acc = _INFINITY
    for d in reversed(_naf(k, _Q_NAF_WIDTH)):
        acc = _double(acc, p, a, minus3)
        if d > 0:
            x, y = odd[d >> 1]
            acc = _add_affine(acc, x, y, p, a, minus3)
        elif d < 0:
            x, y = odd[(-d) >> 1]
            acc = _add_affine(acc, x, p - y, p, a, minus3)
    return _to_affine(acc, p)


def shamir(curve: Curve, u: int, point: Point, v: int) -> Point | None:
    """u·G + v·Q, the verification equation; Q must already be known to lie on the curve.

    With Q's fixed-base table (a key seen before) both halves are table sums; otherwise Straus's
    interleaving: one pass of doublings over both NAFs.
    """
    tables = _curve_tables(curve)
    key_table = _key_table(curve, point)
    p, a = curve.p, curve.a
    if key_table is not None:
        acc = _sum_table(_INFINITY, u, tables.fixed, curve)
        return _to_affine(_sum_table(acc, v, key_table, curve), p)

    minus3 = a == p - 3
    g_odd = tables.odd
    q_odd = _odd_multiples(curve, point, _Q_NAF_WIDTH)
    g_naf = _naf(u, _G_NAF_WIDTH)
    q_naf = _naf(v, _Q_NAF_WIDTH)
    length = max(len(g_naf), len(q_naf))
    g_naf += [0] * (length - len(g_naf))
    q_naf += [0] * (length - len(q_naf))
    # The hot loop of a first-time verification: ~256 doublings, written out (they dominate).
    x1, y1, z1 = 1, 1, 0
    for index in range(length - 1, -1, -1):
        if z1:  # double (dbl-2007-bl; a = -3 where the curve allows)
            yy = y1 * y1 % p
            s = 4 * x1 * yy % p
            zz = z1 * z1 % p
            m = 3 * (x1 - zz) * (x1 + zz) % p if minus3 else (3 * x1 * x1 + a * zz * zz) % p
            z1 = 2 * y1 * z1 % p
            x1 = (m * m - 2 * s) % p
            y1 = (m * (s - x1) - 8 * yy * yy) % p
        d = g_naf[index]
        if d:
            x2, y2 = g_odd[d >> 1] if d > 0 else g_odd[(-d) >> 1]
            x1, y1, z1 = _add_affine((x1, y1, z1), x2, y2 if d > 0 else p - y2, p, a, minus3)
        d = q_naf[index]
        if d:
            x2, y2 = q_odd[d >> 1] if d > 0 else q_odd[(-d) >> 1]
            x1, y1, z1 = _add_affine((x1, y1, z1), x2, y2 if d > 0 else p - y2, p, a, minus3)
    acc = (x1, y1, z1)
    return _to_affine(acc, p)
