"""Path counts: one backward sweep, kept separable as long as that is cheaper.

The gradient of the target with respect to a tensor (its path counts) is held
as a dense array plus a sum of outer products of per-axis vectors.  Every link
is a product of per-axis maps, so pulling an outer product through a link is
one 1-D pull per axis: a chain (VGG) stays one outer product from the target to
the input and costs O(depth x field width) instead of O(depth x field area).
Merges add terms; when the terms would cost more than the dense array they are
summed into it (one matrix product).

Counts are computed in one of two rings:

* float64 (``rings=None``): exact while every count is below 2**53;
* residues modulo several primes below 2**31 (int64, numba), reconstructed
  exactly with the Chinese remainder theorem (Garner's algorithm) into Python
  ints.  The number of primes comes from a per-tensor upper bound on the counts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from ..geometry import AxisMap
from ..plan import Plan

__all__ = ["sweep", "count_bound_bits", "primes_for_bits", "to_python_ints"]

# Terms cheaper than the dense array: term pulls cost r * sum(n), dense pulls prod(n).
_TERM_FACTOR = 2


@dataclass
class _Grad:
    dense: np.ndarray | None = None  # (rings, *shape)
    factors: list[np.ndarray] | None = None  # per axis (rings, r, n_axis)
    shape: tuple[int, ...] = field(default=())

    @property
    def terms(self) -> int:
        return 0 if self.factors is None else int(self.factors[0].shape[1])

    def add(self, other: _Grad) -> None:
        if other.dense is not None:
            self.dense = other.dense if self.dense is None else self.dense + other.dense
        if other.factors is not None:
            if self.factors is None:
                self.factors = other.factors
            else:
                self.factors = [np.concatenate([a, b], axis=1) for a, b in zip(self.factors, other.factors)]


def _dense_is_cheaper(terms: int, shape: tuple[int, ...]) -> bool:
    """Pulling ``terms`` outer products costs about ``terms * sum(shape)``, a dense array ``prod(shape)``.

    One term is never much worse than dense (and tensors grow towards the input), so it stays.
    """
    return terms > 1 and terms * sum(shape) * _TERM_FACTOR > math.prod(shape)


def _ring_dtype(primes: np.ndarray | None) -> type:
    return np.float64 if primes is None else np.int64


def _reduce(a: np.ndarray, primes: np.ndarray | None) -> np.ndarray:
    if primes is None:
        return a
    return a % primes.reshape((-1,) + (1,) * (a.ndim - 1))


_KERNELS: list[object] = []


def _kernels():  # type: ignore[no-untyped-def]
    # numba loads on the first sweep, not on `import rfgraph`; later calls skip the import machinery.
    if not _KERNELS:
        from . import _kernels

        _KERNELS.append(_kernels)
    return _KERNELS[0]


def _pull_link(
    g: np.ndarray, maps: tuple[AxisMap, ...], primes: np.ndarray | None, weighted: bool = False
) -> np.ndarray:
    """Pull a dense ``g`` (rings, *shape) through every axis of a link."""
    if weighted and any(m.weights is not None for m in maps):
        for axis, m in enumerate(maps):
            g = _pull(g, axis, m, primes, weighted)
        return g
    if primes is None and len(maps) == 2:
        m0, m1 = maps
        k = _kernels()
        out = k._pull_2d(np.ascontiguousarray(g), m0.indptr, m0.indices, m0.n_in, m1.indptr, m1.indices, m1.n_in)
        return out  # type: ignore[no-any-return]
    for axis, m in enumerate(maps):
        g = _pull(g, axis, m, primes)
    return g


def _pull(g: np.ndarray, axis: int, m: AxisMap, primes: np.ndarray | None, weighted: bool = False) -> np.ndarray:
    """Pull ``g`` (rings, ...) through map ``m`` along data axis ``axis`` (0-based after rings);
    ``weighted``: multiplied by the map's averaging weights (float64 only)."""
    k = _kernels()
    shape = g.shape
    rings = shape[0]
    pre = math.prod(shape[1 : axis + 1])
    post = math.prod(shape[axis + 2 :])
    new_shape = shape[: axis + 1] + (m.n_in,) + shape[axis + 2 :]
    if weighted and m.weights is not None:
        assert primes is None
        flat = np.ascontiguousarray(g).reshape(rings * pre, shape[axis + 1], post)
        return k._pull_axis_w(flat, m.indptr, m.indices, m.weights, m.n_in).reshape(new_shape)  # type: ignore[no-any-return]
    if primes is None:
        flat = np.ascontiguousarray(g).reshape(rings * pre, shape[axis + 1], post)
        return k._pull_axis(flat, m.indptr, m.indices, m.n_in).reshape(new_shape)  # type: ignore[no-any-return]
    flat4 = np.ascontiguousarray(g).reshape(rings, pre, shape[axis + 1], post)
    return k._pull_axis_mod(flat4, m.indptr, m.indices, m.n_in, primes).reshape(new_shape)  # type: ignore[no-any-return]


def _materialise(g: _Grad, primes: np.ndarray | None) -> np.ndarray:
    """The dense array of ``g`` (dense part plus every outer product)."""
    if g.factors is None:
        assert g.dense is not None
        return g.dense
    f = g.factors
    rings = f[0].shape[0]
    ndim = len(f)
    if primes is None:
        if ndim == 1:
            dense = f[0].sum(axis=1)
        elif ndim == 2:
            dense = np.matmul(np.swapaxes(f[0], 1, 2), f[1])
        else:
            dense = np.einsum("kta,ktb,ktc->kabc", f[0], f[1], f[2], optimize=True)
    else:
        from ._kernels import _outer_sum_mod

        if ndim == 1:
            dense = _reduce(f[0].sum(axis=1), primes)
        else:
            x = f[0]
            for y in f[1:-1]:  # 3-D: fold the first two axes into one (products below 2**62)
                x = _reduce(x[:, :, :, None] * y[:, :, None, :], primes).reshape(rings, x.shape[1], -1)
            dense = _outer_sum_mod(np.ascontiguousarray(x), np.ascontiguousarray(f[-1]), primes)
        dense = dense.reshape((rings,) + g.shape)
    if g.dense is not None:
        dense = _reduce(dense + g.dense, primes)
    return dense


def _scaled(g: _Grad, gain: float | int, primes: np.ndarray | None) -> _Grad:
    """``g`` times a gain (an int reduced modulo every prime in the residue rings)."""
    if primes is None:
        factor: float | np.ndarray = float(gain)
    else:
        factor = (int(gain) % primes).astype(np.int64)
    out = _Grad(shape=g.shape)
    if g.dense is not None:
        f = factor if primes is None else np.asarray(factor).reshape((-1,) + (1,) * (g.dense.ndim - 1))
        out.dense = _reduce(g.dense * f, primes)
    if g.factors is not None:
        first = g.factors[0]
        f = factor if primes is None else np.asarray(factor).reshape(-1, 1, 1)
        out.factors = [_reduce(first * f, primes)] + list(g.factors[1:])
    return out


def sweep(
    plan: Plan,
    seed_factors: list[np.ndarray],
    primes: np.ndarray | None = None,
    *,
    separable: bool = True,
    weighted: bool = False,
    gains: dict[int, float | int] | None = None,
) -> _Grad:
    """Backward sweep from a seed given as outer products (per axis (r, n_axis) arrays).

    Returns the input's gradient, still in factored form where possible.  ``weighted``
    multiplies every edge by its map's averaging weight (float64 only); ``gains``
    (tensor index -> factor) multiplies every edge into that tensor: a weighted sum of
    outer products is still one, so the separable sweep carries over unchanged.
    """
    rings = 1 if primes is None else len(primes)
    dtype = _ring_dtype(primes)
    grads: list[_Grad | None] = [None] * len(plan.tensors)
    out = plan.output
    seed = _Grad(factors=[np.broadcast_to(f.astype(dtype), (rings,) + f.shape).copy() for f in seed_factors])
    seed.shape = out.shape
    if not separable:
        seed = _Grad(dense=_materialise(seed, primes), shape=out.shape)
    grads[-1] = seed
    for t in reversed(plan.tensors):
        g = grads[t.index]
        if g is None or t.op is None:
            continue
        grads[t.index] = None  # free this tensor's gradient once pulled
        if g.factors is not None and (not separable or _dense_is_cheaper(g.terms, t.shape)):
            g = _Grad(dense=_materialise(g, primes), shape=t.shape)
        if gains and t.index in gains:
            g = _scaled(g, gains[t.index], primes)
        for link in t.links:
            src_shape = plan.tensors[link.source].shape
            pulled = _Grad(shape=src_shape)
            if g.dense is not None:
                pulled.dense = _pull_link(g.dense, link.maps, primes, weighted)
            if g.factors is not None:
                pulled.factors = [_pull(f, 1, m, primes, weighted) for f, m in zip(g.factors, link.maps)]
            src = grads[link.source]
            if src is None:
                grads[link.source] = pulled
            else:
                src.add(pulled)
                if primes is not None and src.dense is not None:
                    src.dense = _reduce(src.dense, primes)
    result = grads[0]
    if result is None:
        return _Grad(dense=np.zeros((rings,) + plan.input_shape, dtype=dtype), shape=plan.input_shape)
    return result


def dense_result(g: _Grad, primes: np.ndarray | None) -> np.ndarray:
    return _materialise(g, primes)


# --------------------------------------------------------------------------- exact integers


def count_bound_bits(plan: Plan, seeds: int = 1, gains: dict[int, float | int] | None = None) -> int:
    """An upper bound on log2 of any path count (to choose the number of primes).

    Per tensor ``B = max count``; pulling through a link multiplies by at most
    the largest number of outputs one input feeds (per axis, product) and by the
    tensor's gain, and several consumers add.
    """
    logs: list[float | None] = [None] * len(plan.tensors)
    logs[-1] = math.log2(max(seeds, 1))
    for t in reversed(plan.tensors):
        b = logs[t.index]
        if b is None:
            continue
        if gains and t.index in gains:
            b += math.log2(max(abs(int(gains[t.index])), 1))
        for link in t.links:
            fan = sum(math.log2(max(int(np.bincount(m.indices, minlength=1).max(initial=1)), 1)) for m in link.maps)
            v = b + fan
            old = logs[link.source]
            logs[link.source] = v if old is None else max(old, v) + 1.0  # log2(a + b) <= max + 1
    return int(math.ceil(logs[0] or 0.0)) + 1


def _is_prime(n: int) -> bool:
    if n < 2 or n % 2 == 0:
        return n == 2
    d, s = n - 1, 0
    while d % 2 == 0:
        d //= 2
        s += 1
    for a in (2, 3, 5, 7, 11, 13, 17):  # deterministic below 3.4e14
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


@lru_cache(maxsize=8)
def _primes(count: int) -> tuple[int, ...]:
    out: list[int] = []
    n = 2**31 - 1
    while len(out) < count:
        if _is_prime(n):
            out.append(n)
        n -= 2
    return tuple(out)


def primes_for_bits(bits: int) -> np.ndarray:
    """Primes below 2**31 whose product exceeds ``2**bits``."""
    return np.array(_primes(max(1, -(-(bits + 1) // 30))), dtype=np.int64)


def to_python_ints(res: np.ndarray, primes: np.ndarray) -> np.ndarray:
    """CRT: residues (rings, *shape) -> object array of exact Python ints."""
    from ._kernels import _garner_limbs

    shape = res.shape[1:]
    ps = [int(p) for p in primes]
    inverses = np.array([[pow(pi, -1, pj) if i < j else 0 for j, pj in enumerate(ps)] for i, pi in enumerate(ps)])
    limbs = _garner_limbs(np.ascontiguousarray(res.reshape(len(ps), -1)), primes, inverses.astype(np.int64))
    out = limbs[-1].astype(object)
    for h in range(limbs.shape[0] - 2, -1, -1):
        base = ps[2 * h] * (ps[2 * h + 1] if 2 * h + 1 < len(ps) else 1)
        out = out * base + limbs[h].astype(object)
    return out.reshape(shape)


def exact_from_factors(g: _Grad, primes: np.ndarray) -> np.ndarray | None:
    """Exact ints from a purely factored gradient with few terms: exact 1-D vectors, exact outer products."""
    if g.dense is not None or g.factors is None or g.terms > 2:
        return None
    out: np.ndarray | None = None
    for t in range(g.terms):
        vecs = [to_python_ints(f[:, t, :], primes) for f in g.factors]
        term = vecs[0]
        for v in vecs[1:]:
            term = np.multiply.outer(term, v)
        out = term if out is None else out + term
    return out
