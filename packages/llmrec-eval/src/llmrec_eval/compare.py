"""Paired comparisons of two rows scored on the same examples: metric differences with a paired
bootstrap interval (resample examples, the same resample for both rows), and the best row of a table.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from llmrec_eval.metrics import DEFAULT_KS, parse_metric, per_example
from llmrec_eval.readers import InputError, _fail


@dataclass(frozen=True)
class Difference:
    """One metric of row A minus the same metric of row B, with its paired bootstrap interval."""

    metric: str  # "ndcg@10", "hr@10", ...
    a: float
    b: float
    diff: float  # a - b
    ci: tuple[float, float]

    @property
    def excludes_zero(self) -> bool:
        """The interval lies strictly above or strictly below 0: A and B differ at this level."""
        return self.ci[0] > 0 or self.ci[1] < 0


@dataclass(frozen=True)
class Comparison:
    """Row A against row B on the same `n_examples` examples, every metric."""

    a: str
    b: str
    n_examples: int
    n_resamples: int
    seed: int
    level: float
    differences: list[Difference] = field(default_factory=list)

    def __getitem__(self, metric: str) -> Difference:
        for d in self.differences:
            if d.metric == metric:
                return d
        raise KeyError(f"{metric!r} not compared (have {[d.metric for d in self.differences]})")

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for d, row in zip(self.differences, out["differences"], strict=True):
            row["ci"] = list(d.ci)
            row["excludes_zero"] = d.excludes_zero
        return out

    def markdown(self, digits: int = 4) -> str:
        pct = f"{self.level:.0%}"
        lines = [
            f"Paired comparison: **{self.a}** minus **{self.b}** on {self.n_examples} examples "
            f"(paired bootstrap over examples, {self.n_resamples} resamples, seed {self.seed}).",
            "",
            f"| metric | {self.a} | {self.b} | difference | {pct} interval | excludes 0 |",
            "|---|---:|---:|---:|---|:---:|",
        ]
        for d in self.differences:
            lines.append(
                f"| {_label(d.metric)} | {d.a:.{digits}f} | {d.b:.{digits}f} | "
                f"{d.diff:+.{digits}f} | {d.ci[0]:+.{digits}f} to {d.ci[1]:+.{digits}f} | "
                f"{'yes' if d.excludes_zero else 'no'} |"
            )
        return "\n".join(lines) + "\n"


def _label(metric: str) -> str:
    kind, _, k = metric.partition("@")
    return f"{'NDCG' if kind == 'ndcg' else kind.upper()}@{k}"


def paired_bootstrap(
    ranks_a: np.ndarray,
    ranks_b: np.ndarray,
    ks: Sequence[int] = DEFAULT_KS,
    *,
    metrics: Sequence[str] | None = None,
    n_resamples: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    names: tuple[str, str] = ("A", "B"),
) -> Comparison:
    """Differences A - B of NDCG@K and HR@K (or only `metrics`) from 0-based target ranks of the same
    examples in the same order, with percentile intervals: each resample draws examples with
    replacement and scores both rows on that draw."""
    a, b = np.asarray(ranks_a), np.asarray(ranks_b)
    if a.shape != b.shape:
        raise ValueError(f"paired ranks need the same examples, got {a.shape} and {b.shape}")
    if n_resamples < 1 or not 0 < level < 1:
        raise ValueError("need n_resamples >= 1 and 0 < level < 1")
    gains_a, gains_b = per_example(a, ks), per_example(b, ks)
    names_m = list(metrics) if metrics is not None else list(gains_a)
    for m in names_m:
        if m not in gains_a:
            raise ValueError(f"unknown metric {m!r} (expected one of {list(gains_a)})")
    diffs = np.stack([gains_a[m] - gains_b[m] for m in names_m], axis=1)  # [n, metrics]
    n = diffs.shape[0]
    rng = np.random.default_rng(seed)
    means = np.empty((n_resamples, len(names_m)))
    for i in range(n_resamples):  # a resample's mean = (how often each example is drawn) @ d / n
        means[i] = np.bincount(rng.integers(0, n, size=n), minlength=n) @ diffs / n
    alpha = (1.0 - level) / 2.0
    lo, hi = np.quantile(means, [alpha, 1.0 - alpha], axis=0)
    return Comparison(
        a=names[0],
        b=names[1],
        n_examples=n,
        n_resamples=n_resamples,
        seed=seed,
        level=level,
        differences=[
            Difference(
                metric=m,
                a=float(gains_a[m].mean()),
                b=float(gains_b[m].mean()),
                diff=float(diffs[:, j].mean()),
                ci=(float(lo[j]), float(hi[j])),
            )
            for j, m in enumerate(names_m)
        ],
    )


# --------------------------------------------------------------------------- evaluated rows


@dataclass
class RowRanks:
    """One evaluated row: its `ranks.parquet` (target ranks by example) and its name."""

    path: Path
    name: str
    example_ids: list[str]
    ranks: np.ndarray  # int64
    ks: list[int] | None  # from metrics.json beside it, if any


def _folder_and_file(path: Path) -> tuple[Path, Path]:
    path = Path(path)
    if path.is_dir():
        return path, path / "ranks.parquet"
    return path.parent, (path.parent / "ranks.parquet" if path.suffix == ".json" else path)


def read_row(path: Path) -> RowRanks:
    """An eval folder (or its ranks.parquet / metrics.json): target ranks by example_id, validated."""
    folder, ranks_path = _folder_and_file(path)
    if not ranks_path.is_file():
        raise InputError(f"{ranks_path}: ranks file not found (an llmrec-eval output folder?)")
    try:
        df = pl.read_parquet(ranks_path, columns=["example_id", "rank"])
    except Exception as exc:
        raise InputError(
            f"{ranks_path}: expected parquet with columns example_id, rank ({exc})"
        ) from exc
    if df["example_id"].dtype != pl.String:
        raise _fail(ranks_path, f"expected strings, got {df['example_id'].dtype}", fld="example_id")
    if not df["rank"].dtype.is_integer():
        raise _fail(ranks_path, f"expected integers, got {df['rank'].dtype}", fld="rank")
    for col in ("example_id", "rank"):
        nulls = df[col].is_null().arg_true()
        if len(nulls):
            raise _fail(ranks_path, "expected a value, got null", row=int(nulls[0]), fld=col)
    ranks = df["rank"].cast(pl.Int64).to_numpy()
    bad = np.flatnonzero(ranks < 0)
    if bad.size:
        raise _fail(ranks_path, "expected a 0-based rank >= 0", row=int(bad[0]), fld="rank")
    dup = df["example_id"].is_duplicated().arg_true()
    if len(dup):
        raise _fail(
            ranks_path,
            f"duplicate example_id {df['example_id'][int(dup[1])]!r}",
            row=int(dup[1]),
            fld="example_id",
        )
    name, ks = folder.resolve().name, None
    metrics_path = folder / "metrics.json"
    if metrics_path.is_file():
        try:
            metrics = json.loads(metrics_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise _fail(metrics_path, f"not valid JSON ({exc})") from exc
        name = str(metrics.get("name") or name)
        if isinstance(metrics.get("ks"), list):
            ks = [int(k) for k in metrics["ks"]]
    return RowRanks(ranks_path, name, df["example_id"].to_list(), ranks, ks)


def aligned(a: RowRanks, b: RowRanks) -> np.ndarray:
    """B's ranks in A's example order; an error unless both rows scored exactly the same examples."""
    pos = {eid: i for i, eid in enumerate(b.example_ids)}
    only_a = [e for e in a.example_ids if e not in pos]
    only_b = set(b.example_ids) - set(a.example_ids)
    if only_a or only_b:
        some = repr(only_a[0]) + f" is only in {a.path}" if only_a else ""
        if not some:
            some = repr(sorted(only_b)[0]) + f" is only in {b.path}"
        raise InputError(
            f"{a.path} and {b.path} rank different examples ({len(only_a)} only in the first, "
            f"{len(only_b)} only in the second; e.g. example_id {some}): a paired comparison "
            "needs rows scored on the same examples (see --subset)"
        )
    return b.ranks[[pos[e] for e in a.example_ids]]


def compare(
    a: Path,
    b: Path,
    *,
    ks: Sequence[int] | None = None,
    metrics: Sequence[str] | None = None,
    n_resamples: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> Comparison:
    """Row A minus row B (two eval folders, or their ranks.parquet): NDCG@K and HR@K differences with
    paired bootstrap intervals. `ks` default: the K of A's metrics.json (else 1,3,5,10,20,50)."""
    row_a, row_b = read_row(a), read_row(b)
    ranks_b = aligned(row_a, row_b)
    names = (row_a.name, row_b.name)
    if names[0] == names[1]:
        names = (str(row_a.path.parent), str(row_b.path.parent))
    return paired_bootstrap(
        row_a.ranks,
        ranks_b,
        list(ks or row_a.ks or DEFAULT_KS),
        metrics=metrics,
        n_resamples=n_resamples,
        seed=seed,
        level=level,
        names=names,
    )


def pairs_markdown(
    comparisons: Sequence[tuple[str, Comparison]], metrics: Sequence[str], digits: int = 4
) -> str:
    """Several paired comparisons in one table (one row per pair), then one sentence per pair that
    says, from its interval, whether A is ahead of B, behind it, or not distinguishable."""
    if not comparisons:
        return ""
    first = comparisons[0][1]
    head = " | ".join(f"{_label(m)} | 95% interval" for m in metrics)
    lines = [
        f"| A minus B | n | {head} |",
        "|---|---:|" + "---:|---|" * len(metrics),
    ]
    for label, cmp in comparisons:
        cells = []
        for m in metrics:
            d = cmp[m]
            mark = "**" if d.excludes_zero else ""
            cells.append(
                f"{mark}{d.diff:+.{digits}f}{mark} | {d.ci[0]:+.{digits}f} to {d.ci[1]:+.{digits}f}"
            )
        lines.append(f"| {label} | {cmp.n_examples} | {' | '.join(cells)} |")
    lines += [
        "",
        f"Paired bootstrap over examples ({first.n_resamples} resamples, seed {first.seed}); "
        "bold: the 95% interval excludes 0.",
        "",
    ]
    for label, cmp in comparisons:
        lines.append(f"- {difference_sentence(label, cmp[metrics[0]], digits)}")
    return "\n".join(lines) + "\n"


def difference_sentence(label: str, d: Difference, digits: int = 4) -> str:
    """`label` (A minus B) read from its interval: ahead, behind, or not distinguishable.

    A label written `A - B` names both rows in the sentence; any other label is read as the name of
    the difference itself (above, below, or not distinguishable from zero)."""
    a, sep, b = label.partition(" - ")
    interval = f"{d.diff:+.{digits}f}, 95% interval {d.ci[0]:+.{digits}f} to {d.ci[1]:+.{digits}f}"
    metric = _label(d.metric)
    if not sep:
        side = "above" if d.ci[0] > 0 else "below" if d.ci[1] < 0 else None
        verdict = (
            f"{label} is significantly {side} zero on {metric}"
            if side
            else f"{label} cannot be told from zero on {metric}"
        )
    elif d.ci[0] > 0:
        verdict = f"{a} is significantly ahead of {b} on {metric}"
    elif d.ci[1] < 0:
        verdict = f"{a} is significantly behind {b} on {metric}"
    else:
        verdict = f"{a} and {b} cannot be told apart on {metric}"
    return f"{verdict} ({interval})."


# --------------------------------------------------------------------------- best row of a table


@dataclass(frozen=True)
class Leader:
    """The best row of a table by one metric, and whether it is significantly ahead of the runner-up."""

    metric: str
    best: int  # index into the table's rows
    runner_up: int | None
    difference: (
        Difference | None
    )  # best minus runner-up, paired; None when it could not be computed
    note: str  # why there is no difference, or ""

    @property
    def significant(self) -> bool:
        return self.difference is not None and self.difference.ci[0] > 0


def find_leader(
    runs: list[dict[str, Any]],
    paths: list[Path],
    metric: str = "ndcg@10",
    *,
    n_resamples: int = 1000,
    seed: int = 0,
) -> Leader | None:
    """The row with the highest `metric` (first in table order on a tie), compared with the second
    best on the examples both scored; None when fewer than one row has the metric."""
    _, k = parse_metric(metric, "--best-by", none_too=True)
    have = [i for i, run in enumerate(runs) if metric in run["metrics"]]
    if not have:
        return None
    order = sorted(have, key=lambda i: -runs[i]["metrics"][metric])  # stable: table order on ties
    best = order[0]
    if len(order) == 1:
        return Leader(metric, best, None, None, "the only row with this metric")
    second = order[1]
    try:
        row_a, row_b = read_row(paths[best]), read_row(paths[second])
        ranks_b = aligned(row_a, row_b)
    except InputError as err:
        return Leader(metric, best, second, None, f"not compared: {err}")
    cmp = paired_bootstrap(
        row_a.ranks,
        ranks_b,
        [k],
        metrics=[metric],
        n_resamples=n_resamples,
        seed=seed,
    )
    return Leader(metric, best, second, cmp.differences[0], "")


def leader_sentence(leader: Leader, labels: list[str], digits: int = 4) -> str:
    """One Markdown line under the table: the best row, and whether it is ahead of the runner-up."""
    head = f"Best by {_label(leader.metric)}: **{labels[leader.best]}**"
    if leader.runner_up is None:
        return f"{head} ({leader.note})."
    second = labels[leader.runner_up]
    d = leader.difference
    if d is None:
        return f"{head}; against the runner-up {second}: {leader.note}."
    verdict = (
        "significant, the interval excludes 0"
        if leader.significant
        else "not significant, the interval includes 0"
    )
    return (
        f"{head}, ahead of the runner-up {second} by {d.diff:+.{digits}f} (paired bootstrap "
        f"95% interval {d.ci[0]:+.{digits}f} to {d.ci[1]:+.{digits}f}): {verdict}."
    )
