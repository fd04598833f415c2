"""How much a study is about what the patient's record says: BM25 of the record's own words (its conditions,
findings, observations, medications, procedures) against each candidate study's title, summary, conditions
and keywords, scaled to [0, 1] over the candidates. A term of the $match score (README.md
"Judging"); it does not depend on any verdict, so the score stays monotone in them.
https://en.wikipedia.org/wiki/Okapi_BM25 (rank_bm25's BM25Plus)
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Sequence

from .patient import PatientRecord

_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset("""a an and are as at be by for from has have in is it of on or the to with without no not any
other than this that who which within patients patient subjects subject study history""".split())


def tokens(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.lower()) if len(w) > 1 and w not in _STOP]


def record_words(record: PatientRecord) -> list[str]:
    words = [f.text for f in record.facts] + [f.display for f in (c for fact in record.facts for c in fact.codings)]
    words += [m.text + " " + (m.concept_text or "") for m in record.measurements]
    return tokens(" ".join(words))


def study_words(study: dict[str, Any]) -> list[str]:
    """The words a study is about: its title, summary, conditions and keywords (its criteria are judged, not
    counted: so a study's relevance is known before its eligibility Group is read)."""
    parts = [str(study.get("title") or ""), str(study.get("description") or "")]
    parts += [str(c.get("text") or "") for c in study.get("condition") or () if isinstance(c, dict)]
    parts += [str(c.get("text") or "") for c in study.get("keyword") or () if isinstance(c, dict)]
    return tokens(" ".join(parts))


def relevance(query: list[str], documents: Sequence[Sequence[str]]) -> list[float]:
    """BM25 of ``query`` against each document, from the lowest (0) to the best (1); all 0 when they are equal."""
    if not documents or not query:
        return [0.0] * len(documents)
    # BM25+ (Lv & Zhai 2011): its idf stays positive however few the candidates are (Okapi's is 0 for a word in
    # half of two studies).
    scores = _scorer()(set(query), [d or ("\x00",) for d in documents]).get_scores(query)
    low, best = min(scores), max(scores)  # BM25+ gives every document a floor: measured from the lowest
    return [float((s - low) / (best - low)) if best > low else 0.0 for s in scores]


@lru_cache(maxsize=1)
def _scorer() -> type:
    """rank_bm25's BM25Plus (numpy with it: imported on first use), its statistics counted for the query's words
    only, the only ones its scores read, and each word's frequencies set where they are not 0: the same scores
    (tests/criteria/test_relevance_scores.py), at the cost of the candidates that share a word with the query."""
    import numpy as np
    from rank_bm25 import BM25Plus

    class QueryBM25Plus(BM25Plus):  # type: ignore[misc]
        def __init__(self, words: set[str], corpus: Sequence[Sequence[str]]) -> None:
            self.k1, self.b, self.delta = 1.5, 0.75, 1  # BM25Plus's defaults
            self.corpus_size = len(corpus)
            self.doc_len = [len(d) for d in corpus]
            self.avgdl = sum(self.doc_len) / self.corpus_size
            self.freqs = {w: np.zeros(self.corpus_size, dtype=np.int64) for w in words}
            nd: dict[str, int] = {}
            for i, document in enumerate(corpus):
                for w in words.intersection(document):
                    self.freqs[w][i] = document.count(w)
                    nd[w] = nd.get(w, 0) + 1
            self.idf: dict[str, float] = {}
            self._calc_idf(nd)

        def get_scores(self, query: list[str]) -> Any:
            score = np.zeros(self.corpus_size)
            doc_len = np.array(self.doc_len)
            for q in query:  # BM25Plus.get_scores's sum, term by term in the same order
                q_freq = self.freqs[q]
                score += (self.idf.get(q) or 0) * (self.delta + (q_freq * (self.k1 + 1)) /
                                                   (self.k1 * (1 - self.b + self.b * doc_len / self.avgdl) + q_freq))
            return score

    return QueryBM25Plus
