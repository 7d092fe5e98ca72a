"""`llmrec-eval fuse`: several rankings' scores, normalised per example, summed with weights that
are chosen on the validation split only, then applied to test.

A source is a pair of score files (docs/contracts.md), one for valid and one for test: a ranking
model's (`llmrec-train recommend`), or any row's ranking written by `--write-scores` (the LLM's
grounding, the content baseline, popularity). Per example and source, each listed item gets a
gain in (0, 1] (`normalise`), unlisted items the source's floor 0; an item's fused score is the
weighted sum of its gains. Items no positively weighted source lists rank after all the others,
and the test ranking is made by the same engine and candidate rule as every other row.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, get_args

import numpy as np
from tqdm.auto import tqdm

from llmrec_eval._errors import InputError
from llmrec_eval._ranking import RRF_K, ItemSpace, Ranker
from llmrec_eval.compare import paired_bootstrap
from llmrec_eval.config import FuseConfig, Normalisation, parse_ks
from llmrec_eval.evaluate import _check_export, _histories_canonical
from llmrec_eval.metrics import metric_function, metrics_from_ranks
from llmrec_eval.readers import Catalogue, Examples, read_examples, read_items, subset_examples
from llmrec_eval.result import row_result, write_row
from llmrec_eval.scores import Scores, read_scores, scores_path, write_scores

NORMALISATIONS: tuple[str, ...] = get_args(Normalisation)
# coordinate ascent: the values one weight is tried at, the others fixed (weights are relative)
COORDINATE_LEVELS = (0.0, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class Source:
    """A named score source: its valid and test score files."""

    name: str
    valid: Path
    test: Path


def parse_source(spec: str) -> Source:
    """`NAME=DIR` (DIR/valid, DIR/test) or `NAME=VALID,TEST`."""
    name, sep, paths = spec.partition("=")
    if not sep or not _NAME.match(name) or not paths:
        raise InputError(
            f"--source {spec!r}: expected NAME=DIR or NAME=VALID,TEST (NAME: letters, digits, "
            "_ . + -)"
        )
    parts = paths.split(",")
    if len(parts) == 1:
        return Source(name, Path(parts[0]) / "valid", Path(parts[0]) / "test")
    if len(parts) == 2 and all(parts):
        return Source(name, Path(parts[0]), Path(parts[1]))
    raise InputError(f"--source {spec!r}: expected NAME=DIR or NAME=VALID,TEST")


def parse_sources(specs: list[str]) -> list[Source]:
    if not specs:
        raise InputError("fuse needs at least one --source NAME=DIR")
    sources = [parse_source(s) for s in specs]
    names = [s.name for s in sources]
    dup = next((n for n in names if names.count(n) > 1), None)
    if dup is not None:
        raise InputError(f"--source: the name {dup!r} is given twice (names must be unique)")
    return sources


def parse_ablations(specs: list[str] | None, names: list[str]) -> list[tuple[str, list[str]]]:
    """`GROUP=NAME,NAME` -> (group, names); every name a source, at least one source left."""
    out: list[tuple[str, list[str]]] = []
    for spec in specs or []:
        group, sep, members = spec.partition("=")
        dropped = [m for m in members.split(",") if m]
        if not sep or not _NAME.match(group) or not dropped:
            raise InputError(f"--ablate {spec!r}: expected GROUP=NAME[,NAME...]")
        unknown = [m for m in dropped if m not in names]
        if unknown:
            raise InputError(
                f"--ablate {spec!r}: {unknown[0]!r} is not a --source name "
                f"(sources: {', '.join(names)})"
            )
        if set(dropped) >= set(names):
            raise InputError(f"--ablate {spec!r}: drops every source, nothing left to fuse")
        if any(g == group for g, _ in out):
            raise InputError(f"--ablate: the group {group!r} is given twice")
        out.append((group, dropped))
    return out


def parse_normalisations(default: str, specs: list[str] | None, names: list[str]) -> dict[str, str]:
    """Each source's normalisation: `default`, or `NAME=METHOD` from --normalise-source."""
    if default not in NORMALISATIONS:
        raise InputError(
            f"--normalise: expected one of {', '.join(NORMALISATIONS)}, got {default!r}"
        )
    methods = dict.fromkeys(names, default)
    for spec in specs or []:
        name, sep, method = spec.partition("=")
        if not sep or name not in names or method not in NORMALISATIONS:
            raise InputError(
                f"--normalise-source {spec!r}: expected NAME=METHOD with NAME a --source name "
                f"({', '.join(names)}) and METHOD one of {', '.join(NORMALISATIONS)}"
            )
        methods[name] = method
    return methods


def read_split_scores(
    sources: list[Source],
    split: str,
    everything: Examples,
    examples: Examples,
    catalogue: Catalogue,
) -> list[Scores]:
    """Each source's scores of one split, for exactly `examples` (in their order).

    A source may score more examples of the examples file than are fused (they are ignored),
    but every fused example must be scored by every source."""
    out = []
    for source in sources:
        path = source.valid if split == "valid" else source.test
        scores = read_scores(
            path,
            everything.example_ids,
            catalogue.n_items,
            examples_path=everything.path,
            items_sha256=catalogue.sha256,
            partial=True,
        )
        have = set(scores.example_ids)
        missing = [e for e in examples.example_ids if e not in have]
        if missing:
            raise InputError(
                f"{scores_path(path)}: source {source.name!r} ({split}) has no scores for "
                f"example_id {missing[0]!r} ({len(missing)} of the {len(examples)} examples "
                f"fused): every source must score every fused example; pass "
                f"{'--valid-subset' if split == 'valid' else '--subset'} (e.g. the LLM's "
                "predictions.jsonl) to fuse the examples all sources have"
            )
        out.append(scores.select(examples.example_ids))
    return out


# --------------------------------------------------------------------------- normalisation


def source_gains(scores: Scores, method: str, *, top_n: int, rrf_k: int = RRF_K) -> np.ndarray:
    """float64 [rows]: each listed item's gain for one source, per example; unlisted items get 0.

    - rank: 1 - r/N, r the item's 0-based dense rank of score in its example, N = `top_n` (the
      source's longest list): the best item 1, the N-th 1/N;
    - rrf: 1/(k + r + 1), reciprocal-rank fusion's gain;
    - minmax: (s - min)/(max - min) over the example's listed scores (a constant list: 0);
    - zscore: (s - mean)/std minus the lowest listed z (a constant list: 0).
    With minmax and zscore the lowest listed item sits at the floor, like an unlisted one.
    """
    if method not in NORMALISATIONS:
        raise InputError(
            f"--normalise: expected one of {', '.join(NORMALISATIONS)}, got {method!r}"
        )
    counts = np.diff(scores.offsets)
    if method in ("rank", "rrf"):
        r = scores.order_values().astype(np.float64)
        return 1.0 - r / top_n if method == "rank" else 1.0 / (rrf_k + r + 1.0)
    starts = scores.offsets[:-1]
    v = scores.values
    lo = np.minimum.reduceat(v, starts)
    if method == "minmax":
        hi = np.maximum.reduceat(v, starts)
        span = hi - lo
        span[~(span > 0)] = np.inf  # a constant list: every gain 0
        return (v - np.repeat(lo, counts)) / np.repeat(span, counts)
    mean = np.add.reduceat(v, starts) / counts
    centred = v - np.repeat(mean, counts)
    std = np.sqrt(np.add.reduceat(centred**2, starts) / counts)
    std[~(std > 0)] = np.inf
    z = centred / np.repeat(std, counts)
    return z - np.repeat(np.minimum.reduceat(z, starts), counts)


# --------------------------------------------------------------------------- candidates


@dataclass
class Candidates:
    """One split's fusion table: every (example, item) some source lists, with each source's gain.

    Entries are sorted by (example, canonical id, item id) and those the history rule excludes are
    left out. Also holds what exact target ranks need besides the fused scores (`ranks`)."""

    example_ids: list[str]
    targets: np.ndarray  # int64 [n] canonical id of each example's target
    ex: np.ndarray  # int64 [E] example of each entry
    items: np.ndarray  # int64 [E]
    gains: np.ndarray  # float64 [E, S]
    group_starts: np.ndarray  # int64 [G] first entry of each (example, canonical) group
    group_ex: np.ndarray  # int64 [G]
    group_canon: np.ndarray  # int64 [G]
    canon_below: np.ndarray  # int64 [n] catalogue groups with a canonical id < the target's
    excluded_below: np.ndarray  # int64 [n] excluded groups (history) with an id < the target's
    target_excluded: np.ndarray  # bool [n]
    excluded_rank: np.ndarray  # int64 [n] the engine's rank of an excluded target
    exclude: list[np.ndarray] | None  # per example, the canonical ids the history rule excludes

    def fused(self, weights: np.ndarray) -> np.ndarray:
        """float64 [E] weighted sum of the gains (> 0: listed by a positively weighted source)."""
        return self.gains @ np.asarray(weights, dtype=np.float64)

    def ranks(self, weights: np.ndarray) -> np.ndarray:
        """0-based target ranks under `weights`, exactly as `rank_rows` + `Ranker.run_rows` give
        them (tested against it), without building a [n, n_items] matrix: fast enough to search."""
        n = len(self.example_ids)
        value = np.maximum.reduceat(self.fused(weights), self.group_starts)
        listed = value > 0
        gex, gcan, gval = self.group_ex[listed], self.group_canon[listed], value[listed]
        t = self.targets[gex]
        vt = np.full(n, -np.inf)
        is_target = gcan == t
        vt[gex[is_target]] = gval[is_target]
        vt_e = vt[gex]
        better = (gval > vt_e) | ((gval == vt_e) & (gcan < t))
        ahead = np.bincount(gex, weights=better, minlength=n).astype(np.int64)
        n_listed = np.bincount(gex, minlength=n)
        listed_below = np.bincount(gex, weights=gcan < t, minlength=n).astype(np.int64)
        # an unlisted target: after every listed group, then by canonical id among the unlisted
        unlisted = n_listed + self.canon_below - listed_below - self.excluded_below
        ranks = np.where(np.isfinite(vt), ahead, unlisted)
        return np.where(self.target_excluded, self.excluded_rank, ranks)

    def rank_rows(self, weights: np.ndarray, n_items: int) -> Callable[[np.ndarray], np.ndarray]:
        """`rows(indices) -> float32 [B, n_items]` for `Ranker.run_rows` (lower = better): listed
        items by their dense rank of fused score in the example, unlisted items after them."""
        fused = self.fused(weights)
        keep = fused > 0
        ex, items, val = self.ex[keep], self.items[keep], fused[keep]
        order = np.lexsort((-val, ex))
        ex, items, val = ex[order], items[order], val[order]
        new = np.ones(val.size, dtype=bool)
        new[1:] = (val[1:] != val[:-1]) | (ex[1:] != ex[:-1])
        dense = np.cumsum(new)
        offsets = np.searchsorted(ex, np.arange(len(self.example_ids) + 1))
        counts = np.diff(offsets)
        first = dense[offsets[:-1][counts > 0]]  # each listing example's best entry: 0-based
        dense = (dense - np.repeat(first, counts[counts > 0])).astype(np.float32)
        unlisted = np.float32(dense.max() + 1 if dense.size else 0)

        def rows(indices: np.ndarray) -> np.ndarray:
            out = np.full((len(indices), n_items), unlisted, dtype=np.float32)
            for r, i in enumerate(indices.tolist()):
                a, b = offsets[i], offsets[i + 1]
                out[r, items[a:b]] = dense[a:b]
            return out

        return rows

    def group_values(self, weights: np.ndarray) -> dict[tuple[int, int], float]:
        """(example, canonical id) -> the group's fused score (its best member's), listed only."""
        value = np.maximum.reduceat(self.fused(weights), self.group_starts)
        keep = np.flatnonzero(value > 0)
        return {
            (int(e), int(c)): float(v)
            for e, c, v in zip(
                self.group_ex[keep], self.group_canon[keep], value[keep], strict=True
            )
        }


def build_candidates(
    sources: list[Scores],
    gains: list[np.ndarray],
    examples: Examples,
    catalogue: Catalogue,
    *,
    exclude_history: bool,
) -> Candidates:
    """The union of the sources' listed items per example, each source's gain in a column."""
    n, n_items = len(examples), catalogue.n_items
    canonical = catalogue.canonical
    keys = [
        np.repeat(np.arange(n, dtype=np.int64), np.diff(s.offsets)) * n_items + s.item_ids
        for s in sources
    ]
    uniq, inverse = np.unique(np.concatenate(keys), return_inverse=True)
    table = np.zeros((uniq.size, len(sources)))
    start = 0
    for j, (k, g) in enumerate(zip(keys, gains, strict=True)):
        table[inverse[start : start + k.size], j] = g
        start += k.size
    ex, items = uniq // n_items, uniq % n_items
    canon = canonical[items]
    targets = canonical[examples.targets]
    groups = np.unique(canonical)
    canon_below = np.searchsorted(groups, targets)
    excluded_below = np.zeros(n, dtype=np.int64)
    target_excluded = np.zeros(n, dtype=bool)
    excluded_rank = np.zeros(n, dtype=np.int64)
    exclude = None
    if exclude_history:
        exclude = _histories_canonical(examples, catalogue)  # sorted unique canonical ids
        gone = np.concatenate([i * n_items + h for i, h in enumerate(exclude)] or [np.array([])])
        kept = ~np.isin(ex * n_items + canon, gone.astype(np.int64))
        ex, items, canon, table = ex[kept], items[kept], canon[kept], table[kept]
        n_excluded = np.array([h.size for h in exclude], dtype=np.int64)
        excluded_below = np.array(
            [np.searchsorted(h, t) for h, t in zip(exclude, targets, strict=True)], dtype=np.int64
        )
        target_excluded = np.array(
            [t in set(h.tolist()) for h, t in zip(exclude, targets, strict=True)], dtype=bool
        )
        # the engine scores excluded and non-canonical items +inf: an excluded target comes after
        # every item id below it and every remaining group above it
        finite_below = canon_below - excluded_below
        excluded_rank = targets + (groups.size - n_excluded) - finite_below
    order = np.lexsort((items, canon, ex))
    ex, items, canon, table = ex[order], items[order], canon[order], table[order]
    new_group = np.ones(ex.size, dtype=bool)
    new_group[1:] = (ex[1:] != ex[:-1]) | (canon[1:] != canon[:-1])
    starts = np.flatnonzero(new_group)
    return Candidates(
        examples.example_ids,
        targets,
        ex,
        items,
        table,
        starts,
        ex[starts],
        canon[starts],
        canon_below,
        excluded_below,
        target_excluded,
        excluded_rank,
        exclude,
    )


# --------------------------------------------------------------------------- weight search


def simplex_grid(n_sources: int, steps: int) -> list[tuple[float, ...]]:
    """Every weight vector with weights in {0, 1/steps, ..., 1} summing to 1; the first source's
    weight descending, then the second's, ... (the order that breaks ties)."""

    def compositions(total: int, parts: int):
        if parts == 1:
            yield (total,)
            return
        for first in range(total, -1, -1):
            for rest in compositions(total - first, parts - 1):
                yield (first, *rest)

    return [tuple(c / steps for c in comp) for comp in compositions(steps, n_sources)]


def grid_steps(grid_step: float) -> int:
    """1/grid_step, which must be an integer."""
    steps = round(1 / grid_step) if grid_step > 0 else 0
    if steps < 1 or not math.isclose(steps * grid_step, 1.0, rel_tol=1e-9):
        raise InputError(f"--grid-step must be 1/integer (0.1, 0.05, 0.25, ...), got {grid_step}")
    return steps


def _normalised(w: np.ndarray) -> tuple[float, ...]:
    return tuple(round(float(x), 6) for x in w / w.sum())


def search_weights(
    objective: Callable[[np.ndarray], float],
    n_sources: int,
    *,
    method: str = "auto",
    grid_step: float = 0.1,
    max_grid: int = 2000,
    desc: str = "weight search",
) -> tuple[np.ndarray, float, str, list[dict[str, Any]]]:
    """The weights (summing to 1) that maximise `objective` (the validation metric), the best value,
    the method used and the trace of every evaluation ({"weights": [...], "value": x}).

    grid: every point of the simplex grid, ties to the first in `simplex_grid` order.
    coordinate: from equal weights, then from each single source alone (restarts), repeatedly set
    each weight to the best of COORDINATE_LEVELS with the others fixed (strict improvements only)
    until a pass changes nothing; the best end point over the starts (ties: the earlier start).
    """
    steps = grid_steps(grid_step)
    n_grid = math.comb(steps + n_sources - 1, n_sources - 1)
    if method == "auto":
        method = "grid" if n_grid <= max_grid else "coordinate"
    trace: list[dict[str, Any]] = []
    cache: dict[tuple[float, ...], float] = {}
    bar = tqdm(total=n_grid if method == "grid" else None, desc=desc, unit="weights", disable=None)

    def value(w: np.ndarray) -> float:
        key = _normalised(w)
        if key not in cache:
            cache[key] = float(objective(np.asarray(key)))
            trace.append({"weights": list(key), "value": cache[key]})
            bar.update(1)
        return cache[key]

    with bar:
        weights, best, method = _search(value, n_sources, method, steps)
    return weights, best, method, trace


def _search(
    value: Callable[[np.ndarray], float], n_sources: int, method: str, steps: int
) -> tuple[np.ndarray, float, str]:
    if n_sources == 1:
        w = np.ones(1)
        return w, value(w), "single source"
    if method == "grid":
        best_w, best = None, -np.inf
        for point in simplex_grid(n_sources, steps):
            v = value(np.asarray(point))
            if v > best:
                best_w, best = np.asarray(point), v
        assert best_w is not None
        return best_w, best, "grid"
    if method != "coordinate":
        raise InputError(f"--search: expected auto, grid or coordinate, got {method!r}")
    starts = [np.ones(n_sources)] + [np.eye(n_sources)[i] for i in range(n_sources)]
    best_w, best = None, -np.inf
    for start in starts:
        w, current = start.copy(), value(start)
        for _ in range(50):  # passes; each strict improvement raises a bounded metric
            changed = False
            for i in range(n_sources):
                for level in COORDINATE_LEVELS:
                    trial = w.copy()
                    trial[i] = level
                    if trial.sum() == 0:
                        continue
                    v = value(trial)
                    if v > current:
                        w, current, changed = trial, v, True
            if not changed:
                break
        if current > best:
            best_w, best = w / w.sum(), current
    assert best_w is not None
    return np.asarray(_normalised(best_w)), best, "coordinate"


def out_of_fold_ranks(
    cands: Candidates,
    n_sources: int,
    objective: Callable[[np.ndarray], float],
    *,
    folds: int,
    seed: int,
    method: str,
    grid_step: float,
    max_grid: int,
    desc: str,
) -> tuple[np.ndarray, list[list[float]]]:
    """Each validation example's target rank under weights searched without it: the examples in
    `folds` seeded folds; for each, `objective(ranks, mask)` is maximised on the other folds and the
    held-out fold is ranked with the weights found. Returns the ranks and each fold's weights."""
    n = len(cands.example_ids)
    if folds < 2 or folds > n:
        raise InputError(
            f"--cv-folds must be 0 (off) or 2..{n} (the validation examples), got {folds}"
        )
    fold_of = np.empty(n, dtype=np.int64)
    fold_of[np.random.default_rng(seed).permutation(n)] = np.arange(n) % folds
    oof = np.empty(n, dtype=np.int64)
    fold_weights = []
    for f in range(folds):
        train = fold_of != f

        def on_train(w: np.ndarray, train: np.ndarray = train) -> float:
            return objective(cands.ranks(w)[train])

        weights, _, _, _ = search_weights(
            on_train,
            n_sources,
            method=method,
            grid_step=grid_step,
            max_grid=max_grid,
            desc=f"{desc}, fold {f + 1}/{folds}",
        )
        held_out = ~train
        oof[held_out] = cands.ranks(weights)[held_out]
        fold_weights.append([float(w) for w in weights])
    return oof, fold_weights


# --------------------------------------------------------------------------- the command


@dataclass
class _Split:
    everything: Examples
    examples: Examples
    scores: list[Scores]


def _read_split(
    sources: list[Source],
    split: str,
    path: Path,
    subset: Path | None,
    catalogue: Catalogue,
) -> _Split:
    everything = read_examples(path, catalogue.n_items)
    examples = subset_examples(everything, subset)
    return _Split(
        everything, examples, read_split_scores(sources, split, everything, examples, catalogue)
    )


def _candidates(
    split: _Split,
    idx: list[int],
    config: FuseConfig,
    top_ns: list[int],
    catalogue: Catalogue,
    methods: list[str] | None = None,
) -> Candidates:
    chosen = [split.scores[i] for i in idx]
    methods = methods or [config.normalise] * len(split.scores)
    gains = [
        source_gains(s, methods[i], top_n=top_ns[i], rrf_k=config.rrf_k)
        for s, i in zip(chosen, idx, strict=True)
    ]
    return build_candidates(
        chosen, gains, split.examples, catalogue, exclude_history=config.exclude_history
    )


def _rank(
    cands: Candidates, weights: np.ndarray, catalogue: Catalogue, config: FuseConfig, top_n: int
) -> tuple[np.ndarray, np.ndarray | None]:
    """The split ranked by the engine every row uses (collapse, exclusion, ties, top lists)."""
    space = ItemSpace(np.zeros((catalogue.n_items, 1), dtype=np.float32), catalogue.canonical)
    return Ranker(space, chunk_elems=config.chunk_elems).run_rows(
        cands.rank_rows(weights, catalogue.n_items),
        cands.targets,
        top_n=top_n,
        exclude=cands.exclude,
    )


def _fused_scores(
    folder: Path,
    cands: Candidates,
    weights: np.ndarray,
    top: np.ndarray,
    catalogue: Catalogue,
    config: FuseConfig,
    info: dict[str, Any],
) -> None:
    """The fused ranking as a score file: listed items with their fused score, then (when fewer
    than the top N are listed) unlisted ones with score 0, in ranking order."""
    groups = cands.group_values(weights)
    values = np.array(
        [
            [groups.get((i, int(c)), 0.0) if c >= 0 else 0.0 for c in row]
            for i, row in enumerate(top.tolist())
        ]
    )
    write_scores(
        folder,
        cands.example_ids,
        top,
        model=config.name or Path(config.out).resolve().name,
        items_sha256=catalogue.sha256,
        exclude_history=config.exclude_history,
        values=values,
        extra=info,
    )


def fuse(config: FuseConfig) -> list[dict[str, Any]]:
    """Fuse the sources (and each ablation): weights on valid, metrics on test. Returns the
    metrics of the full fusion, then of each ablation row."""
    started = time.time()
    ks = parse_ks(config.ks)
    metric_fn, metric_k = metric_function(config.select_metric)
    sources = parse_sources(config.source)
    names = [s.name for s in sources]
    ablations = parse_ablations(config.ablate, names)
    normalise = parse_normalisations(config.normalise, config.normalise_source, names)
    methods = [normalise[n] for n in names]
    grid_steps(config.grid_step)
    if config.search not in ("auto", "grid", "coordinate"):
        raise InputError(f"--search: expected auto, grid or coordinate, got {config.search!r}")
    if config.cv_folds < 0 or config.cv_folds == 1:
        raise InputError(f"--cv-folds must be 0 (off) or at least 2, got {config.cv_folds}")
    _check_export(config)
    catalogue = read_items(config.items)
    # every input is read and checked before any search
    valid = _read_split(sources, "valid", config.valid_examples, config.valid_subset, catalogue)
    test = _read_split(sources, "test", config.examples, config.subset, catalogue)
    # N of the rank normalisation: the source's longest list over both splits (one scale)
    top_ns = [
        int(max(np.diff(v.offsets).max(), np.diff(t.offsets).max()))
        for v, t in zip(valid.scores, test.scores, strict=True)
    ]
    top_n = min(max(config.top_n, max(ks)), catalogue.n_groups)
    export_n = min(config.scores_top_n, catalogue.n_groups) if config.write_scores else 0
    out = Path(config.out)
    rows: list[tuple[str | None, list[int]]] = [(None, list(range(len(sources))))]
    rows += [
        (group, [i for i, s in enumerate(sources) if s.name not in dropped])
        for group, dropped in ablations
    ]
    results = []
    full_oof: np.ndarray | None = None  # the full fusion's out-of-fold valid ranks
    for group, idx in rows:
        row_started = time.time() if group is not None else started
        used = [names[i] for i in idx]
        vc = _candidates(valid, idx, config, top_ns, catalogue, methods)

        def on_valid(w: np.ndarray, vc: Candidates = vc) -> float:
            return metric_fn(vc.ranks(w), metric_k)

        weights, best, method, trace = search_weights(
            on_valid,
            len(idx),
            method=config.search,
            grid_step=config.grid_step,
            max_grid=config.max_grid,
            desc="weight search" if group is None else f"weight search without {group}",
        )
        valid_cv = None
        if config.cv_folds:
            oof, fold_weights = out_of_fold_ranks(
                vc,
                len(idx),
                lambda r: metric_fn(r, metric_k),
                folds=config.cv_folds,
                seed=config.cv_seed,
                method=config.search,
                grid_step=config.grid_step,
                max_grid=config.max_grid,
                desc="cross-validation" if group is None else f"cross-validation without {group}",
            )
            valid_cv = {
                "folds": config.cv_folds,
                "seed": config.cv_seed,
                "metric": metric_fn(oof, metric_k),
                "metrics": metrics_from_ranks(oof, ks),
                "fold_weights": [dict(zip(used, w, strict=True)) for w in fold_weights],
            }
            if group is None:
                full_oof = oof
            elif full_oof is not None:
                d = paired_bootstrap(
                    full_oof, oof, [metric_k], metrics=[config.select_metric], seed=config.cv_seed
                )[config.select_metric]
                valid_cv["full_minus_this"] = {
                    "metric": config.select_metric,
                    "diff": d.diff,
                    "ci": list(d.ci),
                    "excludes_zero": d.excludes_zero,
                }
        vranks, vtop = _rank(vc, weights, catalogue, config, export_n)
        if not np.array_equal(vranks, vc.ranks(weights)):  # the search's shortcut must agree
            raise RuntimeError("fuse: the search's target ranks differ from the ranking engine's")
        tc = _candidates(test, idx, config, top_ns, catalogue, methods)
        ranks, top = _rank(tc, weights, catalogue, config, max(top_n, export_n))
        assert top is not None
        chosen = {n: float(w) for n, w in zip(used, weights, strict=True)}
        fusion = {
            "sources": {
                s.name: {"valid": str(scores_path(s.valid)), "test": str(scores_path(s.test))}
                for s in (sources[i] for i in idx)
            },
            "without": None if group is None else dict(ablations)[group],
            "ablation": group,
            "normalise": {names[i]: methods[i] for i in idx},
            "rrf_k": config.rrf_k if "rrf" in (methods[i] for i in idx) else None,
            "rank_scale_n": {names[i]: top_ns[i] for i in idx},
            "weights": chosen,
            "search": method,
            "grid_step": config.grid_step if method == "grid" else None,
            "select_metric": config.select_metric,
            "valid_examples": len(valid.examples),
            "valid_metric": best,
            "valid_metrics": metrics_from_ranks(vranks, ks),
            "valid_cv": valid_cv,
            "evaluations": len(trace),
            "exclude_history": config.exclude_history,
            "unlisted": "items no positively weighted source lists: after every listed item, "
            "by canonical item id",
        }
        row_out = out if group is None else out.with_name(f"{out.name}-without-{group}")
        row_name = config.name or out.resolve().name
        row_config = replace(
            config, out=row_out, name=row_name if group is None else f"{row_name}-without-{group}"
        )
        if group is None and config.write_scores is not None:
            assert vtop is not None  # export_n > 0 with --write-scores: the top lists are computed
            folder = Path(config.write_scores)
            info = {"row": "fuse", "weights": chosen, "normalise": fusion["normalise"]}
            _fused_scores(folder / "valid", vc, weights, vtop, catalogue, row_config, info)
            _fused_scores(
                folder / "test", tc, weights, top[:, :export_n], catalogue, row_config, info
            )
        inputs = [config.items, config.examples, config.valid_examples, config.subset]
        inputs += [config.valid_subset]
        for i in idx:
            inputs += [scores_path(sources[i].valid), scores_path(sources[i].test)]
        # each row is written when it is computed: its manifest's wall time is its own
        row = row_result(
            row_config,
            command="fuse",
            config=row_config,
            started=row_started,
            inputs=inputs,
            example_ids=test.examples.example_ids,
            targets=test.examples.targets,
            ranks=ranks,
            top=top[:, :top_n],
            catalogue=catalogue,
            extra={
                "source": {
                    "examples": str(config.examples),
                    "valid_examples": str(config.valid_examples),
                    "items": str(config.items),
                },
                "fusion": fusion,
            },
            manifest_extra={"fusion": {"weights": chosen, "search": method, "trace": trace}},
        )
        results.append(write_row(row))
    return results
