"""One op's edges along one spatial axis, in CSR form (see :mod:`rfgraph.geometry`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["AxisMap"]


@dataclass(frozen=True, eq=False)
class AxisMap:
    """The edges of one op along one spatial axis, CSR by output position.

    Output ``o`` is fed by input positions ``indices[indptr[o]:indptr[o + 1]]``
    (sorted, distinct).  Arrays are int64 and read-only.

    ``weights`` (float64, parallel to ``indices``, or ``None`` for all ones) are the
    edge weights of the op's averaging one-channel network (SPEC section 11,
    ``weights="mean"``): ``1/k`` per convolution tap, torch's interpolation weights for
    resizes, and so on; taps that read the same input are summed into one edge.
    Path counts (``weights="ones"``) never read them.
    """

    n_in: int
    n_out: int
    indptr: np.ndarray
    indices: np.ndarray
    weights: np.ndarray | None = None

    @classmethod
    def from_pairs(
        cls, n_in: int, n_out: int, outs: np.ndarray, ins: np.ndarray, weights: np.ndarray | None = None
    ) -> AxisMap:
        """Build from parallel arrays of (output, input) pairs; duplicates are merged.

        With ``weights`` (one per pair) the weights of duplicate pairs add up.
        """
        keep = (ins >= 0) & (ins < n_in) & (outs >= 0) & (outs < n_out)
        outs, ins = outs[keep].astype(np.int64), ins[keep].astype(np.int64)
        w = None if weights is None else np.broadcast_to(np.asarray(weights, dtype=np.float64), keep.shape)[keep]
        order = np.lexsort((ins, outs))
        outs, ins = outs[order], ins[order]
        if outs.size:
            distinct = np.ones(outs.size, dtype=bool)
            distinct[1:] = (outs[1:] != outs[:-1]) | (ins[1:] != ins[:-1])
            if w is not None:
                w = np.add.reduceat(w[order], np.flatnonzero(distinct))
            outs, ins = outs[distinct], ins[distinct]
        elif w is not None:
            w = w[order]
        indptr = np.zeros(n_out + 1, dtype=np.int64)
        np.cumsum(np.bincount(outs, minlength=n_out), out=indptr[1:])
        indptr.setflags(write=False)
        ins.setflags(write=False)
        if w is not None:
            w = np.ascontiguousarray(w, dtype=np.float64)
            w.setflags(write=False)
        return cls(n_in, n_out, indptr, ins, w)

    def with_weights(self, weights: np.ndarray | None) -> AxisMap:
        """The same edges with averaging ``weights`` (one per edge, in CSR order)."""
        if weights is None:
            return AxisMap(self.n_in, self.n_out, self.indptr, self.indices)
        w = np.ascontiguousarray(np.broadcast_to(np.asarray(weights, dtype=np.float64), self.indices.shape))
        w.setflags(write=False)
        return AxisMap(self.n_in, self.n_out, self.indptr, self.indices, w)

    def row_weights(self, per_row: np.ndarray) -> AxisMap:
        """The same edges, every edge of output ``o`` weighing ``per_row[o]``."""
        return self.with_weights(np.repeat(np.asarray(per_row, dtype=np.float64), np.diff(self.indptr)))

    @property
    def mean_weights(self) -> np.ndarray:
        """The averaging weights, ones where none were set."""
        return np.ones(self.indices.size) if self.weights is None else self.weights

    @classmethod
    def union(cls, maps: list[AxisMap]) -> AxisMap:
        """All edges of several maps between the same two axes."""
        outs = np.concatenate([np.repeat(np.arange(m.n_out, dtype=np.int64), np.diff(m.indptr)) for m in maps])
        ins = np.concatenate([m.indices for m in maps])
        weights = None
        if any(m.weights is not None for m in maps):
            weights = np.concatenate([m.mean_weights for m in maps])
        return cls.from_pairs(maps[0].n_in, maps[0].n_out, outs, ins, weights)

    @classmethod
    def window(cls, n_in: int, n_out: int, stride: int, offset: int, taps: np.ndarray) -> AxisMap:
        """Output ``o`` fed by ``o * stride + offset + taps`` (ascending taps) inside ``[0, n_in)``.

        The same map as :meth:`from_pairs` for a sliding window, built without sorting
        (rows and taps are already in order): several times faster on long axes.
        """
        i = np.arange(n_out, dtype=np.int64)[:, None] * stride + offset + np.asarray(taps, dtype=np.int64)[None, :]
        counts = np.full(n_out, i.shape[1], dtype=np.int64)
        border = (i[:, 0] < 0) | (i[:, -1] >= n_in)  # only rows near the ends lose taps
        if border.any():
            valid = (i[border] >= 0) & (i[border] < n_in)
            counts[border] = valid.sum(axis=1)
            indices = i[(i >= 0) & (i < n_in)]
        else:
            indices = i.ravel()
        indptr = np.zeros(n_out + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        indptr.setflags(write=False)
        indices.setflags(write=False)
        return cls(n_in, n_out, indptr, indices)

    @classmethod
    def identity(cls, n: int) -> AxisMap:
        idx = np.arange(n, dtype=np.int64)
        return cls.from_pairs(n, n, idx, idx)

    def inputs_of(self, o: int) -> np.ndarray:
        """Input positions feeding output ``o``."""
        return self.indices[self.indptr[o] : self.indptr[o + 1]]

    @property
    def nnz(self) -> int:
        return int(self.indices.size)

    def dense(self) -> np.ndarray:
        """The relation as a boolean matrix of shape ``(n_out, n_in)``."""
        out = np.zeros((self.n_out, self.n_in), dtype=bool)
        rows = np.repeat(np.arange(self.n_out), np.diff(self.indptr))
        out[rows, self.indices] = True
        return out
