"""The numpy ranking engine: ties, duplicates, top-K, chunking, fusion and re-weighting."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from llmrec_eval import ItemSpace, QuerySet, Ranker, Weighting
from llmrec_eval._ranking import listed, target_ranks


def _queries(vectors, forced=None, slots=None):
    vectors = np.asarray(vectors, dtype=np.float32)
    n = len(vectors)
    return QuerySet(
        vectors,
        np.arange(n)[:, None] if slots is None else np.asarray(slots),
        np.full(n, -1) if forced is None else np.asarray(forced),
    )


LINE = np.array([[0.0], [1.0], [2.0], [3.0], [4.0]], dtype=np.float32)  # items on a line


def test_l2_ranks_by_distance():
    space = ItemSpace(LINE, np.arange(5))
    ranks, top = Ranker(space).run(_queries([[2.2], [0.0]]), np.array([4, 1]), top_n=3)
    # query 2.2: order 2, 3, 1, 4, 0 -> item 4 has rank 3; query 0: item 1 has rank 1
    assert ranks[0].tolist() == [3, 1]
    assert top.tolist() == [[2, 3, 1], [0, 1, 2]]


def test_ties_go_to_the_smaller_item_id():
    space = ItemSpace(LINE, np.arange(5))
    # query 1.5 is equally far from items 1 and 2
    ranks, top = Ranker(space).run(_queries([[1.5], [1.5]]), np.array([1, 2]), top_n=2)
    assert ranks[0].tolist() == [0, 1]
    assert top[0].tolist() == [1, 2]


def test_duplicates_collapse_to_one_entry():
    # items 1 and 3 form one group (canonical 1): the group scores as its closest member (3)
    space = ItemSpace(LINE, np.array([0, 1, 2, 1, 4]))
    ranks, top = Ranker(space).run(_queries([[3.1]]), np.array([1]), top_n=4)
    assert top[0].tolist() == [
        1,
        4,
        2,
        0,
    ]  # group {1,3} first (member 3 is closest); 3 never listed
    assert ranks[0].tolist() == [0]


def test_forced_exact_item_is_rank_zero_even_when_not_nearest():
    space = ItemSpace(LINE, np.arange(5))
    q = _queries([[0.0]], forced=[3])  # exact title of item 3, vector elsewhere
    ranks, top = Ranker(space).run(q, np.array([3]), top_n=2)
    assert ranks[0, 0] == 0 and top[0, 0] == 3


def test_cosine():
    items = np.array([[1, 0], [0, 1], [1, 1], [-1, 0]], dtype=np.float32)
    space = ItemSpace(items, np.arange(4), "cosine")
    _, top = Ranker(space).run(_queries([[2.0, 0.1]]), np.array([0]), top_n=4)
    assert top[0].tolist() == [0, 2, 1, 3]


def _scores(rng: np.random.Generator, rows: int, n: int, n_distinct: int) -> np.ndarray:
    """Random float32 scores; with `n_distinct`, only n_distinct + 2 values (many ties)."""
    if n_distinct:
        return rng.integers(0, n_distinct + 2, size=(rows, n)).astype(np.float32)
    return rng.random((rows, n), dtype=np.float32)


@given(st.integers(1, 60), st.integers(1, 400), st.integers(0, 3), st.integers(0, 10_000))
@settings(max_examples=60, deadline=None)
def test_listed_matches_a_stable_sort(k, n, n_distinct, seed):
    rng = np.random.default_rng(seed)
    scores = _scores(rng, 3, n, n_distinct)
    expected = np.argsort(scores, axis=1, kind="stable")[:, : min(k, n)]
    assert np.array_equal(listed(scores, k), expected)
    targets = rng.integers(0, n, size=3)
    full = np.argsort(np.argsort(scores, axis=1, kind="stable"), axis=1, kind="stable")
    assert target_ranks(scores, targets).tolist() == full[np.arange(3), targets].tolist()


@given(st.integers(1, 60), st.integers(2_000, 6_000), st.integers(0, 40), st.integers(0, 10_000))
@settings(max_examples=30, deadline=None)
def test_listed_by_groups_matches_a_stable_sort(k, n, n_distinct, seed):
    """Rows long enough for the group pass (more than 2k groups), with and without ties."""
    scores = _scores(np.random.default_rng(seed), 5, n, n_distinct)
    expected = np.argsort(scores, axis=1, kind="stable")[:, :k]
    assert np.array_equal(listed(scores, k), expected)


def test_listed_large_rows():
    rng = np.random.default_rng(1)
    scores = rng.random((4, 100_003), dtype=np.float32)
    assert np.array_equal(listed(scores, 50), np.argsort(scores, axis=1, kind="stable")[:, :50])


def test_listed_never_lists_infinite_scores_and_keeps_ties_by_id():
    """+inf (excluded, non-canonical, missing text) fills with -1; -inf (an exact title) comes
    first; -0.0 and 0.0 are one score (ties by id); a row tied at the k-th score keeps ids in order."""
    n = 3_000
    scores = np.full((4, n), np.inf, dtype=np.float32)
    scores[0, [5, 9, 2_000]] = [1.0, 0.5, 1.0]  # three finite scores: the rest of the list is -1
    scores[1] = 7.0  # every score tied: the smallest ids
    scores[1, 2_999] = -np.inf
    scores[2] = np.random.default_rng(0).random(n, dtype=np.float32) + 1
    scores[2, [40, 12, 2_500]] = [0.0, -0.0, 0.0]
    top = listed(scores, 6)
    assert top[0].tolist() == [9, 5, 2_000, -1, -1, -1]
    assert top[1].tolist() == [2_999, 0, 1, 2, 3, 4]
    assert top[2, :3].tolist() == [12, 40, 2_500]
    assert top[3].tolist() == [-1] * 6  # a missing text: nothing listed
    finite = scores[2].copy()
    assert top[2].tolist() == np.argsort(finite + np.float32(0.0), kind="stable")[:6].tolist()
    with pytest.raises(TypeError, match="float32"):  # its sort keys are float32 bit patterns
        listed(scores.astype(np.float64), 6)


def test_chunking_does_not_change_results():
    rng = np.random.default_rng(2)
    items = rng.normal(size=(500, 8)).astype(np.float32)
    space = ItemSpace(items, np.arange(500))
    q = _queries(rng.normal(size=(37, 8)))
    targets = rng.integers(0, 500, size=37)
    big = Ranker(space).run(q, targets, top_n=20)
    small = Ranker(space, chunk_elems=600, min_rows=1).run(
        q, targets, top_n=20
    )  # one example per chunk
    assert np.array_equal(big[0], small[0]) and np.array_equal(big[1], small[1])


def _two_text_queries():
    # example 0 has texts A (near item 0) and B (near item 4); example 1 has only text A
    vectors = np.array([[0.25], [3.75]], dtype=np.float32)
    return QuerySet(vectors, np.array([[0, 1], [0, -1]]), np.array([-1, -1]))


def test_fusion_first_min_interleave_rrf():
    space = ItemSpace(LINE, np.arange(5))
    q = _two_text_queries()
    tops = {
        f: Ranker(space, fusion=f, depth=5).run(q, np.array([4, 4]), top_n=5)[1]
        for f in ("first", "min", "interleave", "rrf")
    }
    assert tops["first"][0].tolist() == [0, 1, 2, 3, 4]
    assert tops["min"][0].tolist() == [0, 4, 1, 3, 2]  # distances .25 .75 1.75 .75 .25 (ties by id)
    assert tops["interleave"][0].tolist() == [0, 4, 1, 3, 2]  # A1 B1 A2 B2 A3(=2) ...
    assert tops["rrf"][0].tolist() == [0, 4, 1, 3, 2]
    for f, top in tops.items():  # a single text: every fusion is that text's ranking
        assert top[1].tolist() == [0, 1, 2, 3, 4], f
    ranks = Ranker(space, fusion="interleave", depth=5).run(q, np.array([4, 2]))[0][0]
    assert ranks.tolist() == [1, 2]


def test_interleave_rank_beyond_the_fusion_depth():
    rng = np.random.default_rng(3)
    items = rng.normal(size=(300, 4)).astype(np.float32)
    space = ItemSpace(items, np.arange(300))
    q = QuerySet(rng.normal(size=(2, 4)).astype(np.float32), np.array([[0, 1]]), np.array([-1, -1]))
    _ranks, top = Ranker(space, fusion="interleave", depth=10).run(q, np.arange(1), top_n=10)
    full_top = Ranker(space, fusion="interleave", depth=10).run(q, np.array([top[0, 3]]), top_n=0)[
        0
    ]
    assert full_top[0, 0] == 3  # a listed item's rank is its list position
    all_ranks = np.array(
        [
            Ranker(space, fusion="interleave", depth=10).run(q, np.array([t]))[0][0, 0]
            for t in range(300)
        ]
    )
    assert sorted(all_ranks.tolist()) == list(range(300))  # every item a distinct rank


def test_reweighting_matches_the_formula():
    rng = np.random.default_rng(4)
    items = rng.normal(size=(50, 3)).astype(np.float32)
    queries = rng.normal(size=(6, 3)).astype(np.float32)
    w = rng.random(50).astype(np.float32)
    gamma = 2.5
    d = np.sqrt(((queries[:, None, :] - items[None]) ** 2).sum(-1))
    dn = (d - d.min(1, keepdims=True)) / (d.max(1, keepdims=True) - d.min(1, keepdims=True))
    expected_scores = dn * (1 + w) ** (-gamma)
    targets = rng.integers(0, 50, size=6)
    expected = [
        int(np.sum(expected_scores[i] < expected_scores[i, t])) for i, t in enumerate(targets)
    ]
    space = ItemSpace(items, np.arange(50))
    ranks, top = Ranker(space).run(
        _queries(queries), targets, weighting=Weighting(item=w), gammas=[0.0, gamma], top_n=5
    )
    assert ranks[1].tolist() == expected
    assert top.tolist() == np.argsort(expected_scores, axis=1, kind="stable")[:, :5].tolist()
    plain = [int(np.sum(d[i] < d[i, t])) for i, t in enumerate(targets)]
    assert ranks[0].tolist() == plain  # gamma 0: min-max keeps the distance order


def test_per_example_weights():
    space = ItemSpace(LINE, np.arange(5))
    rows = np.array([[0, 0, 0, 0, 1.0]], dtype=np.float32)
    ranks, _ = Ranker(space).run(
        _queries([[0.0]]),
        np.array([4]),
        weighting=Weighting(rows=lambda idx: rows[idx]),
        gammas=[99.0],
    )
    # the nearest item has normalised distance 0 whatever the weights (BIGRec's formula keeps it
    # first); a huge gamma moves the heavily weighted far item 4 from rank 4 to right behind it
    assert ranks[0, 0] == 1


def test_static_scores_and_exclusion():
    space = ItemSpace(np.zeros((5, 1), dtype=np.float32), np.array([0, 1, 2, 1, 4]))
    pop = np.array([5.0, 1.0, 3.0, 9.0, 3.0])
    ranks, top = Ranker(space).run_static(
        -pop, np.array([2, 4]), top_n=3, exclude=[np.array([1]), np.array([], dtype=np.int64)]
    )
    assert top.tolist() == [[0, 2, 4], [1, 0, 2]]  # group {1,3} scores 9; ties 2/4 by id
    assert ranks.tolist() == [1, 3]


def test_bad_arguments():
    with pytest.raises(ValueError, match="distance"):
        ItemSpace(LINE, np.arange(5), "dot")
    with pytest.raises(ValueError, match="fusion"):
        Ranker(ItemSpace(LINE, np.arange(5)), fusion="mean")


@pytest.mark.parametrize("fusion", ["interleave", "rrf"])
def test_rank_fusion_matches_a_plain_reference(fusion):
    rng = np.random.default_rng(5)
    n_items, depth = 120, 15
    items = rng.normal(size=(n_items, 3)).astype(np.float32)
    vectors = rng.normal(size=(12, 3)).astype(np.float32)
    slots = np.arange(12).reshape(4, 3)
    slots[1, 2] = slots[3, 1:] = -1  # examples with fewer texts
    q = QuerySet(vectors, slots, np.full(12, -1))
    space = ItemSpace(items, np.arange(n_items))
    targets = rng.integers(0, n_items, size=4)
    ranks, top = Ranker(space, fusion=fusion, depth=depth).run(q, targets, top_n=depth)
    for i in range(4):
        lists = []
        for s in slots[i][slots[i] >= 0]:
            d = ((items - vectors[s]) ** 2).sum(1)
            lists.append(np.argsort(d, kind="stable")[:depth].tolist())
        if fusion == "interleave":
            fused = []
            for r in range(depth):
                for lst in lists:
                    if lst[r] not in fused:
                        fused.append(lst[r])
        else:
            score: dict[int, float] = {}
            for lst in lists:
                for r, item in enumerate(lst):
                    score[item] = score.get(item, 0.0) + 1 / (60 + r + 1)
            fused = sorted(score, key=lambda it: (-score[it], it))
        assert top[i].tolist() == fused[:depth]
        if targets[i] in fused:
            assert ranks[0, i] == fused.index(targets[i])
        else:
            assert ranks[0, i] >= len(fused)


def test_repeated_texts_are_computed_once_with_the_same_result():
    rng = np.random.default_rng(6)
    items = rng.normal(size=(80, 4)).astype(np.float32)
    vecs = rng.normal(size=(2, 4)).astype(np.float32)
    space = ItemSpace(items, np.arange(80))
    targets = rng.integers(0, 80, size=8)
    shared = QuerySet(vecs, np.array([[0], [0], [0], [1], [0], [0], [1], [0]]), np.array([-1, -1]))
    copies = _queries(vecs[shared.slots[:, 0]])
    a, b = (
        Ranker(space).run(shared, targets, top_n=10),
        Ranker(space).run(copies, targets, top_n=10),
    )
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


@pytest.mark.parametrize("fusion", ["interleave", "rrf"])
def test_a_longer_top_list_does_not_change_the_fusion(fusion):
    """--top-n / --scores-top-n beyond the fusion depth keep the ranks of a shorter list, and the
    list's tail continues the ranking: the item at position p has rank p."""
    rng = np.random.default_rng(11)
    items = rng.normal(size=(120, 4)).astype(np.float32)
    space = ItemSpace(items, np.arange(120))
    q = QuerySet(
        rng.normal(size=(4, 4)).astype(np.float32),
        np.array([[0, 1], [2, 3]]),
        np.array([-1, -1, -1, -1]),
    )
    targets = np.array([7, 99])
    short = Ranker(space, fusion=fusion, depth=5).run(q, targets, top_n=5)
    long = Ranker(space, fusion=fusion, depth=5).run(q, targets, top_n=60)
    assert np.array_equal(short[0], long[0])
    assert np.array_equal(long[1][:, :5], short[1])
    deeper = Ranker(space, fusion=fusion, depth=60).run(q, targets, top_n=60)
    assert not np.array_equal(deeper[1], long[1])  # the depth matters: the test can tell
    for i in range(2):
        for p in (0, 4, 5, 9, 10, 30, 59):
            one = QuerySet(q.vectors, q.slots[i : i + 1], q.forced)
            item = long[1][i, p]
            assert Ranker(space, fusion=fusion, depth=5).run(one, np.array([item]))[0][0, 0] == p
