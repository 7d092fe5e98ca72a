"""Full-catalogue ranking in numpy: distances by one BLAS matmul, exact target ranks, top-K lists.

Conventions (the same everywhere, documented in the README):
- Lower score = better. A ranked list never holds two items of one duplicate group: each group is
  collapsed to its canonical item, scored with the best (lowest) score of its members.
- The rank of the target is 0-based: the number of groups scoring strictly better, plus the groups
  scoring exactly the same with a smaller canonical item id. Top-K lists use the same order
  (score, then item id), so `rank < K` if and only if the target is in the top-K list.
- Work is chunked over examples so about `chunk_elems` floats of distance matrices are alive.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np

Fusion = Literal["first", "min", "interleave", "rrf"]
FUSIONS: tuple[str, ...] = get_args(Fusion)
RRF_K = 60  # reciprocal-rank fusion's constant (Cormack et al. 2009)
Distance = Literal["l2", "cosine"]
DISTANCES: tuple[str, ...] = get_args(Distance)
CHUNK_ELEMS = 1 << 23
"""Floats in one chunk's distance matrices (all text slots together): 32 MiB stays in a large CPU
cache while the top lists, ranks and fusions read it back; 2^26 was 1.1-1.9x slower (one core, AMD
EPYC, 10,681 items)."""
GROUPS = 512
"""Column groups whose minima bound a row's k-th score (`listed`): 512 was the fastest of 128-2048
for k = 50 at 10,681 items (one core, AMD EPYC)."""


def _normalise_rows(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(norms, 1e-12)


class ItemSpace:
    """Items prepared so that one matmul gives the full distance matrix.

    L2: ||a-b||^2 = [a, 1, ||a||^2] . [-2b, ||b||^2, 1]; cosine: 1 - a.b = [a, 1, 1] . [-b, 0, 1]
    (a, b unit vectors). Scores are squared L2 or cosine distances.
    """

    def __init__(
        self,
        vectors: np.ndarray,
        canonical: np.ndarray,
        distance: str = "l2",
        build_chunk: int = 65536,
    ) -> None:
        if distance not in DISTANCES:
            raise ValueError(f"unknown distance {distance!r} (expected one of {DISTANCES})")
        n, d = vectors.shape
        if canonical.shape != (n,):
            raise ValueError(f"{n} item vectors but {canonical.shape[0]} catalogue items")
        self.distance = distance
        self.vectors = vectors  # kept (possibly memory-mapped) for exact-title query vectors
        self.dim = d
        self.matrix = np.empty((n, d + 2), dtype=np.float32)
        for a in range(0, n, build_chunk):
            b = np.asarray(vectors[a : a + build_chunk], dtype=np.float32)
            if distance == "l2":
                self.matrix[a : a + len(b), :d] = -2.0 * b
                self.matrix[a : a + len(b), d] = np.einsum("ij,ij->i", b, b)
            else:
                self.matrix[a : a + len(b), :d] = -_normalise_rows(b)
                self.matrix[a : a + len(b), d] = 0.0
            self.matrix[a : a + len(b), d + 1] = 1.0
        self.canonical = np.asarray(canonical, dtype=np.int64)
        ids = np.arange(n)
        dup = np.bincount(self.canonical, minlength=n) > 1
        members = np.flatnonzero(dup[self.canonical])
        members = members[np.argsort(self.canonical[members], kind="stable")]
        self.has_duplicates = members.size > 0
        self._members = members
        self._starts = np.flatnonzero(np.diff(self.canonical[members], prepend=-1) != 0)
        self._dup_canon = self.canonical[members][self._starts]
        self._noncanonical = ids[self.canonical != ids]

    @property
    def n_items(self) -> int:
        return self.matrix.shape[0]

    def augment(self, queries: np.ndarray) -> np.ndarray:
        """Query vectors [q, d] -> [q, d+2] rows for the matmul."""
        q = np.asarray(queries, dtype=np.float32)
        if q.ndim != 2 or q.shape[1] != self.dim:
            raise ValueError(f"query vectors must be [n, {self.dim}], got {q.shape}")
        out = np.empty((q.shape[0], self.dim + 2), dtype=np.float32)
        if self.distance == "l2":
            out[:, : self.dim] = q
            out[:, self.dim + 1] = np.einsum("ij,ij->i", q, q)
        else:
            out[:, : self.dim] = _normalise_rows(q)
            out[:, self.dim + 1] = 1.0
        out[:, self.dim] = 1.0
        return out

    def collapse(self, scores: np.ndarray) -> None:
        """In place: each duplicate group's canonical column gets the group's best score, others +inf."""
        if not self.has_duplicates:
            return
        mins = np.minimum.reduceat(scores[:, self._members], self._starts, axis=1)
        scores[:, self._dup_canon] = mins
        scores[:, self._noncanonical] = np.inf


@dataclass
class QuerySet:
    """What each example asks for: up to T query vectors (one per generated text), best first.

    `slots[i, j]` indexes `vectors` (-1: example i has fewer texts). `forced[q]` is the item a query
    grounds to exactly (a catalogue title), or -1; that item gets distance 0 for that query.
    """

    vectors: np.ndarray  # float32 [Q, d]
    slots: np.ndarray  # int64 [n, T]
    forced: np.ndarray  # int64 [Q]


@dataclass
class Weighting:
    """BIGRec re-weighting: score = minmax(distance) * (1 + W)^(-gamma), W in [0, 1].

    `item`: one weight per item for every example (popularity), or `rows(indices) -> [B, N]`
    per-example weights (a collaborative model's scores), already min-max normalised per row.
    """

    item: np.ndarray | None = None
    rows: Callable[[np.ndarray], np.ndarray] | None = None

    def log1p(self, rows: np.ndarray) -> np.ndarray:
        if self.item is not None:
            w = self.item[None, :]
        else:
            assert self.rows is not None, "Weights need `item` or `rows`"
            w = self.rows(rows)
        return np.log1p(w.astype(np.float32))


def minmax_rows(x: np.ndarray) -> np.ndarray:
    """In place per-row min-max normalisation to [0, 1] (ignoring +inf); constant rows become 0."""
    # Rows are either all finite (distances) or all +inf (a missing text): no nan-aware pass needed.
    lo = x.min(axis=1, keepdims=True)
    hi = x.max(axis=1, keepdims=True)
    missing = ~np.isfinite(lo)
    lo[missing], hi[missing] = 0.0, 1.0
    span = hi - lo
    span[~(span > 0)] = 1.0
    x -= lo
    x /= span
    return x


def _sortable(values: np.ndarray) -> np.ndarray:
    """float32 -> int64 keys in the same order (equal floats, -0.0 and 0.0 too, get equal keys)."""
    bits = (values + np.float32(0.0)).view(np.int32)  # + 0.0 turns -0.0 into 0.0
    # negative floats order backwards as integers: flip their magnitude bits
    return (bits ^ ((bits >> 31) & 0x7FFFFFFF)).astype(np.int64) + 2**31


def listed(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices [B, min(k, N)] of each row's k lowest scores, ordered by (score, index); +inf scores
    (excluded and non-canonical items) are never listed: -1 fills a row with fewer finite scores.

    Exact without sorting a row: the k smallest of any k columns' group minima bound the k-th score
    from above (k items are at or below it), so every item at or below that bound is a candidate, and
    only the candidates (about k + a few per row) are sorted. Group g is the strided columns g,
    g + G, g + 2 G, ...: their minima are an elementwise minimum of contiguous slices (SIMD).
    Ties need no special case: every score equal to the bound is a candidate.
    """
    if scores.dtype != np.float32:  # the sort keys below are float32 bit patterns
        raise TypeError(f"listed ranks float32 scores, got {scores.dtype}")
    scores = np.ascontiguousarray(scores)
    b, n = scores.shape
    k = min(k, n)
    out = np.full((b, k), -1, dtype=np.int64)
    if k == 0 or b == 0:
        return out
    groups = min(n, max(GROUPS, 8 * k))  # at least k groups: the bound exists
    size = n // groups
    mins = scores[:, : groups * size].reshape(b, size, groups).min(axis=1)
    bound = np.partition(mins, k - 1, axis=1)[:, k - 1]
    # an infinite bound would make every +inf a candidate: the largest float lists the finite ones
    np.minimum(bound, np.finfo(np.float32).max, out=bound)
    flat = np.flatnonzero(scores <= bound[:, None])
    rows, idx = np.divmod(flat, n)
    # one stable sort by (row, score): flatnonzero gave (row, index) order, so ties stay by index
    order = np.argsort((rows << 32) | _sortable(scores.reshape(-1)[flat]), kind="stable")
    rows, idx = rows[order], idx[order]
    pos = np.arange(rows.size) - np.searchsorted(rows, np.arange(b))[rows]
    keep = pos < k
    out[rows[keep], pos[keep]] = idx[keep]
    return out


def target_ranks(scores: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """0-based rank of each row's target: strictly better scores, plus equal scores at smaller ids."""
    ranks = np.empty(len(targets), dtype=np.int64)
    for r, t in enumerate(targets.tolist()):
        row = scores[r]
        v = row[t]
        ranks[r] = np.count_nonzero(row[:t] <= v) + np.count_nonzero(row[t + 1 :] < v)
    return ranks


def _dedupe_first(cand: np.ndarray) -> np.ndarray:
    """keep[i, j]: cand[i, j] is not -1 and does not occur earlier in row i."""
    order = np.argsort(cand, axis=1, kind="stable")
    srt = np.take_along_axis(cand, order, axis=1)
    first = np.ones_like(srt, dtype=bool)
    first[:, 1:] = srt[:, 1:] != srt[:, :-1]
    keep = np.empty_like(first)
    np.put_along_axis(keep, order, first, axis=1)
    return keep & (cand >= 0)


def _interleave(lists: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Round-robin fusion of [B, T, D] ranked lists: the 1st item of each text (best text first),
    then the 2nd of each, ..., skipping items already taken. Returns candidates [B, T*D], which of
    them are kept, and each kept candidate's position in the fused ranking."""
    b, t, d = lists.shape
    cand = lists.transpose(0, 2, 1).reshape(b, d * t)
    keep = _dedupe_first(cand)
    return cand, keep, np.cumsum(keep, axis=1) - 1


def _rrf(lists: np.ndarray, k0: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Reciprocal-rank fusion: score(item) = sum over texts of 1 / (k0 + rank + 1); ties by id."""
    b, t, d = lists.shape
    flat = lists.reshape(b, t * d)
    gain = np.tile(1.0 / (k0 + 1.0 + np.arange(d)), t)[None, :] * (flat >= 0)
    order = np.argsort(flat, axis=1, kind="stable")
    srt = np.take_along_axis(flat, order, axis=1)
    g = np.take_along_axis(gain, order, axis=1)
    start = np.ones_like(srt, dtype=bool)
    start[:, 1:] = srt[:, 1:] != srt[:, :-1]
    group = np.cumsum(start, axis=1) - 1  # per row: index of the item's run
    # each run's gains summed in list order (the stable sort kept it): bincount adds them in the same
    # order as a loop would, so the sums are the same to the last bit
    run = (group + np.arange(b)[:, None] * (t * d)).ravel()
    total = np.bincount(run, weights=g.ravel(), minlength=b * t * d).reshape(b, t * d)
    score = np.take_along_axis(total, group, axis=1)  # each entry: its item's summed gain
    keep = start & (srt >= 0)
    # rank kept items by (-score, item id): srt is in item order, so a stable sort by score alone
    # breaks ties by id; repeats and -1 go last (their positions are never read)
    key_order = np.argsort(np.where(keep, -score, np.inf), axis=1, kind="stable")
    pos = np.empty_like(group)
    np.put_along_axis(pos, key_order, np.arange(t * d)[None, :].repeat(b, 0), axis=1)
    return srt, keep, pos


class Ranker:
    """Ranks the catalogue for many examples at once, chunked over examples."""

    def __init__(
        self,
        space: ItemSpace,
        *,
        fusion: str = "first",
        depth: int = 50,
        rrf_k: int = RRF_K,
        chunk_elems: int = CHUNK_ELEMS,
        min_rows: int = 64,
    ) -> None:
        if fusion not in FUSIONS:
            raise ValueError(f"unknown fusion {fusion!r} (expected one of {FUSIONS})")
        self.space, self.fusion, self.depth, self.rrf_k = space, fusion, depth, rrf_k
        # a chunk holds about chunk_elems floats over its matrices, but at least min_rows examples: a
        # matmul of fewer rows is memory-bound on a big catalogue (13 vs 35 GFLOPS at 1M items)
        self.chunk_elems, self.min_rows = chunk_elems, min_rows

    # -- per chunk: one distance matrix per generated-text slot
    def _n_slots(self, slots: np.ndarray) -> int:
        """Text slots a chunk ranks: those before the first one none of its examples fills (texts
        are packed best first, so that is every text); `first` ranks one."""
        empty = np.flatnonzero(~(slots >= 0).any(axis=0))
        n = int(empty[0]) if empty.size else slots.shape[1]
        return min(n, 1) if self.fusion == "first" else n

    def _distances(
        self, queries: QuerySet, aug: np.ndarray, rows: np.ndarray, j: int, normalise: bool
    ) -> np.ndarray:
        """Scores [B, n_items] of text slot j for the examples `rows` (+inf: no j-th text)."""
        slot = queries.slots[rows, j]
        valid = slot >= 0
        ids = np.where(valid, slot, 0)
        uniq, inverse = np.unique(ids, return_inverse=True)
        if uniq.size < 0.75 * ids.size:  # LLMs repeat titles: one matmul row per distinct text
            s = (aug[uniq] @ self.space.matrix.T)[inverse]
        else:
            s = aug[ids] @ self.space.matrix.T
        forced = np.where(valid, queries.forced[ids], -1)
        fr = np.flatnonzero(forced >= 0)
        if normalise:
            np.maximum(s, 0.0, out=s)  # rounding can push a distance below 0
            if self.space.distance == "l2":
                np.sqrt(s, out=s)  # BIGRec normalises L2 distances, not squared ones
            s[fr, forced[fr]] = 0.0
            s[~valid] = np.inf
            minmax_rows(s)
        else:
            s[fr, forced[fr]] = -np.inf
            s[~valid] = np.inf
        return s

    def _finish(
        self,
        mats: Iterable[np.ndarray],
        n_mats: int,
        factor: np.ndarray | None,
        targets: np.ndarray,
        exclude: list[np.ndarray] | None,
        top_n: int,
        inplace: bool = False,
        valid: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Fuse, collapse duplicates, exclude, then target ranks (and top lists if top_n).

        `mats`: the n_mats text slots' score matrices, best text first; a lazy iterable computes each
        one just before it is used, while the previous one's work is still in the CPU cache.
        `inplace`: the matrices may be overwritten (they are not reused for another gamma).
        `valid[i, j]`: example i has a j-th text (rank fusions skip missing ones).
        """

        def prepared(m: np.ndarray, owned: bool) -> np.ndarray:
            s = m * factor if factor is not None else m if owned else m.copy()
            self.space.collapse(s)
            if exclude is not None:
                for r, items in enumerate(exclude):
                    s[r, items] = np.inf
            return s

        slot_mats = iter(mats)
        if self.fusion in ("first", "min") or n_mats == 1:
            # min over texts first, then collapse, exclusion and weights once: they commute with it
            fused = next(slot_mats)
            owned = inplace
            if n_mats > 1 and not owned:
                fused, owned = fused.copy(), True
            for m in slot_mats:
                np.minimum(fused, m, out=fused)
            base = prepared(fused, owned)
            ranks = target_ranks(base, targets)
            return ranks, (listed(base, top_n) if top_n else None)
        # The fusion depth is a ranking setting: a longer top list (top_n) must not change it,
        # or the metrics would depend on how much of the list is kept; the list's tail is filled below.
        # Each text's list, then its scores folded into `base`, the min over texts that orders the
        # items below every list (collapse, exclusion and weights commute with the min).
        base = prepared(next(slot_mats), inplace)
        per_text = [listed(base, self.depth)]
        for m in slot_mats:
            p = prepared(m, inplace)
            per_text.append(listed(p, self.depth))
            np.minimum(base, p, out=base)
        # [B, T, depth] each text's best items; a missing text's list is -1
        lists = np.stack(per_text, axis=1)
        if valid is not None:  # None: every example has every text
            lists[~valid] = -1
        if self.fusion == "interleave":
            cand, keep, pos = _interleave(lists)
        else:
            cand, keep, pos = _rrf(lists, self.rrf_k)
        b = len(targets)
        hit = keep & (cand == targets[:, None])
        found = hit.any(axis=1)
        # below every list: after all listed items, ordered by the min-fused score
        rows = np.arange(b)
        c = np.maximum(cand, 0)
        v = base[rows, targets][:, None]
        cv = np.take_along_axis(base, c, axis=1)
        listed_ahead = ((cv < v) | ((cv == v) & (c < targets[:, None]))) & keep
        below = keep.sum(axis=1) + target_ranks(base, targets) - listed_ahead.sum(axis=1)
        ranks = np.where(found, np.where(hit, pos, 0).sum(axis=1), below)
        top = None
        if top_n:
            top = np.full((b, top_n), -1, dtype=np.int64)
            r, c = np.nonzero(keep & (pos < top_n))
            top[r, pos[r, c]] = cand[r, c]
            n_kept = keep.sum(axis=1)
            if (n_kept < top_n).any():  # beyond every list: the best min-fused items not listed
                r, c = np.nonzero(keep)
                base[r, cand[r, c]] = np.inf
                tail = listed(base, top_n)
                slot = np.arange(top_n)[None, :] - n_kept[:, None]  # tail index of each slot
                fill = slot >= 0
                top[fill] = np.take_along_axis(tail, np.maximum(slot, 0), axis=1)[fill]
        return ranks, top

    def _chunks(self, n: int, n_mats: int):
        size = max(self.min_rows, self.chunk_elems // (self.space.n_items * n_mats), 1)
        for a in range(0, n, size):
            yield np.arange(a, min(n, a + size))

    def run(
        self,
        queries: QuerySet,
        targets: np.ndarray,
        *,
        weighting: Weighting | None = None,
        gammas: list[float] | tuple[float, ...] = (0.0,),
        top_n: int = 0,
        exclude: list[np.ndarray] | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Ranks [len(gammas), n] of the targets (canonical ids), and top lists [n, top_n] for gammas[-1].

        Without `weighting` the scores are raw distances (gammas ignored, one row of ranks).
        """
        if weighting is None:
            gammas = (0.0,)
        n = len(targets)
        ranks = np.empty((len(gammas), n), dtype=np.int64)
        top = np.empty((n, top_n), dtype=np.int64) if top_n else None
        aug = self.space.augment(queries.vectors)
        t_slots = 1 if self.fusion == "first" else queries.slots.shape[1]
        normalise = weighting is not None
        for rows in self._chunks(n, t_slots):
            n_mats = self._n_slots(queries.slots[rows])
            mats: Iterable[np.ndarray] = (
                self._distances(queries, aug, rows, j, normalise) for j in range(n_mats)
            )
            if len(gammas) > 1:  # every gamma re-weights the same distances
                mats = list(mats)
            log_w = weighting.log1p(rows) if weighting is not None else None
            excl = [exclude[i] for i in rows] if exclude is not None else None
            for g, gamma in enumerate(gammas):
                factor = None if log_w is None or gamma == 0 else np.exp(-gamma * log_w)
                want_top = top_n if g == len(gammas) - 1 else 0
                r, tl = self._finish(
                    mats,
                    n_mats,
                    factor,
                    targets[rows],
                    excl,
                    want_top,
                    inplace=len(gammas) == 1,
                    valid=queries.slots[rows, :n_mats] >= 0,
                )
                ranks[g, rows] = r
                if top is not None and tl is not None:
                    top[rows] = tl
            if progress is not None:
                progress(len(rows))
        return ranks, top

    def run_static(
        self,
        scores: np.ndarray,
        targets: np.ndarray,
        *,
        top_n: int = 0,
        exclude: list[np.ndarray] | None = None,
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Ranks for one score per item shared by every example (popularity baselines)."""
        shared = scores.astype(np.float32)
        return self.run_rows(
            lambda rows: np.broadcast_to(shared, (len(rows), shared.size)).copy(),
            targets,
            top_n=top_n,
            exclude=exclude,
        )

    def run_rows(
        self,
        make_rows: Callable[[np.ndarray], np.ndarray],
        targets: np.ndarray,
        *,
        top_n: int = 0,
        exclude: list[np.ndarray] | None = None,
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Ranks for given scores, `make_rows(example indices) -> [B, n_items]` (lower = better,
        a fresh array per call): a ranking model's score file."""
        n = len(targets)
        ranks = np.empty(n, dtype=np.int64)
        top = np.empty((n, top_n), dtype=np.int64) if top_n else None
        for rows in self._chunks(n, 1):
            mat = make_rows(rows)
            excl = [exclude[i] for i in rows] if exclude is not None else None
            r, tl = self._finish([mat], 1, None, targets[rows], excl, top_n, inplace=True)
            ranks[rows] = r
            if top is not None and tl is not None:
                top[rows] = tl
        return ranks, top
