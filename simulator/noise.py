"""Random-access deterministic noise: the same (seed, key, time) always gives the same value.

The weather must be evaluable at any instant without simulating from an origin
(backfill of any window, live serving, counters integrated since commissioning),
so randomness comes from a counter-based hash (splitmix64) instead of a stateful
generator, and smooth processes are value noise: normal values at knots
``spacing`` apart, blended with a smoothstep.
"""

from __future__ import annotations

import zlib

import numpy as np

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def key_of(*parts: object) -> int:
    """A stable 32-bit key for a named stream (crc32 of the joined parts)."""
    return zlib.crc32("\x1f".join(str(p) for p in parts).encode())


def _mix(x: np.ndarray) -> np.ndarray:
    x = (x ^ (x >> np.uint64(30))) * _M1
    x = (x ^ (x >> np.uint64(27))) * _M2
    return x ^ (x >> np.uint64(31))


def uniform(seed: int, key: int, index: np.ndarray) -> np.ndarray:
    """Uniform [0, 1) values for integer indices of one (seed, key) stream."""
    idx = np.asarray(index, dtype=np.int64).astype(np.uint64)
    base = np.uint64((seed * 0x100000001 + key) & 0xFFFFFFFFFFFFFFFF)
    with np.errstate(over="ignore"):
        h = _mix(_mix(idx * _GOLDEN + base) + base)
    return (h >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)


def normal(seed: int, key: int, index: np.ndarray) -> np.ndarray:
    """Standard normal values for integer indices (Box–Muller on two hashed uniforms)."""
    idx = np.asarray(index, dtype=np.int64)
    u1 = uniform(seed, key, 2 * idx)
    u2 = uniform(seed, key, 2 * idx + 1)
    return np.sqrt(-2.0 * np.log1p(-u1)) * np.cos(2.0 * np.pi * u2)


def value_noise(seed: int, key: int, t: np.ndarray, spacing: float) -> np.ndarray:
    """Smooth noise of unit variance at the knots, correlated over ``spacing`` (same unit as t).

    Between knots the value is a smoothstep blend; the blend is rescaled so the
    variance stays 1 everywhere (no dip between knots).
    """
    x = np.asarray(t, dtype=np.float64) / spacing
    i = np.floor(x)
    f = x - i
    w = f * f * (3.0 - 2.0 * f)
    i64 = i.astype(np.int64)
    if i64.size == 0:
        return np.zeros_like(x)
    # hash each knot once, then gather (many samples share a knot)
    lo = int(i64.min())
    knots = normal(seed, key, np.arange(lo, int(i64.max()) + 2, dtype=np.int64))
    a = knots[i64 - lo]
    b = knots[i64 - lo + 1]
    return (a * (1.0 - w) + b * w) / np.sqrt((1.0 - w) ** 2 + w * w)
