"""The relevance term's BM25+ (criteria/relevance.py), counted for the query's words only, gives exactly the
scores of rank_bm25's BM25Plus over the whole corpus, scaled from the lowest to the best."""
from __future__ import annotations

import random

from rank_bm25 import BM25Plus

from fhirtrial.criteria.relevance import relevance


def _library(query: list[str], documents: list[list[str]]) -> list[float]:
    scores = BM25Plus([d or ["\x00"] for d in documents]).get_scores(query)
    low, best = min(scores), max(scores)
    return [float((s - low) / (best - low)) if best > low else 0.0 for s in scores]


def test_the_same_scores_as_rank_bm25_bm25plus() -> None:
    rng = random.Random(14)
    vocabulary = [f"w{i}" for i in range(60)]
    for _ in range(40):
        documents = [[rng.choice(vocabulary) for _ in range(rng.randrange(0, 30))] for _ in range(rng.randrange(1, 80))]
        # repeated words, words no document has, and the empty document's placeholder never matching
        query = [rng.choice(vocabulary + ["absent"]) for _ in range(rng.randrange(1, 15))]
        assert relevance(query, documents) == _library(query, documents)
        assert relevance(query, [tuple(d) for d in documents]) == _library(query, documents)


def test_edge_cases() -> None:
    assert relevance([], [["a"]]) == [0.0]
    assert relevance(["a"], []) == []
    assert relevance(["a"], [["b"], ["c"]]) == [0.0, 0.0]  # all equal
    assert relevance(["a"], [["a", "b"], ["b"]]) == [1.0, 0.0]
