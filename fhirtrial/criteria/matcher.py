"""Dictionary matching of vocabulary terms in criterion text: longest match, left to right, non-overlapping.

https://www.nlm.nih.gov/mesh/concept_structure.html (entry terms). A token trie is built once per vocabulary;
precision comes first: ambiguous acronyms need their concept spelled out in the same text, and text written all
in capitals (where every word looks like an acronym) only yields acronyms whose concept is spelled out too.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from .normalize import key, raw_key, tokens
from .vocabulary import Concept, Vocabulary, VocabularyError, vocabulary_at, vocabulary_dir

_END = ""  # the terminal key of a trie node (no token is empty)
_RAW = "\x00"  # prefix of a case-sensitive (acronym) trie key
_BLOCK = None  # a blocker: a phrase that codes nothing
# "hepatitis C infection", "HIV infection": the generic word after an infectious disease belongs to that mention
# instead of coding Infections (MeSH C01) beside it.
_TRAILING = frozenset({"D007239"})


@dataclass(frozen=True, slots=True)
class Match:
    start: int  # character offsets into the text
    end: int
    concept: Concept
    acronym: bool  # found through a case-sensitive acronym


class Matcher:
    """The compiled dictionary of one vocabulary."""

    def __init__(self, vocabulary: Vocabulary) -> None:
        self.root: dict[str, dict] = {}
        self._owner: dict[tuple[str, ...], str] = {}
        for concept in vocabulary.concepts:
            if not concept.match:
                continue
            for term in concept.terms:
                self._add(key(term), concept, term)
            for acronym in concept.acronyms:
                self._add(tuple(_RAW + t for t in raw_key(acronym)), concept, acronym)
        for phrase in vocabulary.blockers:
            self._add(key(phrase), _BLOCK, phrase)

    def _add(self, path: tuple[str, ...], concept: Concept | None, term: str) -> None:
        if not path:
            raise VocabularyError(f"term {term!r} has no words")
        owner = f"{concept.system}|{concept.code}" if concept else "blockers"
        if (other := self._owner.setdefault(path, owner)) != owner:
            raise VocabularyError(f"term {term!r} belongs to {other} and {owner}")
        node = self.root
        for part in path:
            node = node.setdefault(part, {})
        node[_END] = (concept, path[0].startswith(_RAW))

    def _longest(self, keys: list[tuple[str, str]], i: int) -> tuple[int, Concept | None, bool] | None:
        best = None
        frontier = [self.root]
        j = i
        while frontier and j < len(keys):
            nxt = []
            for node in frontier:
                for part in keys[j]:
                    child = node.get(part)
                    if child is not None:
                        nxt.append(child)
                        if _END in child and (best is None or best[0] < j):
                            best = (j, *child[_END])
            frontier = nxt
            j += 1
        return best

    def find(self, text: str) -> list[Match]:
        """Concept matches in ``text``, in text order."""
        toks = tokens(text)
        # each token is looked up by its key and, for acronyms, as written; most tokens start no term at all
        keys = [(tok.norm, _RAW + tok.raw) for tok in toks]
        root = self.root
        found: list[Match] = []
        i = 0
        while i < len(toks):
            norm, raw = keys[i]
            hit = self._longest(keys, i) if norm in root or raw in root else None
            if hit is None:
                i += 1
                continue
            j, concept, acronym = hit
            if concept is not None:
                found.append(Match(toks[i].start, toks[j].end, concept, acronym))
            i = j + 1
        return self._disambiguated(text, self._merged(text, found))

    @staticmethod
    def _merged(text: str, found: list[Match]) -> list[Match]:
        out: list[Match] = []
        for m in found:
            prev = out[-1] if out else None
            if (prev is not None and m.concept.code in _TRAILING and not text[prev.end:m.start].strip()
                    and any(t.startswith("C01") for t in prev.concept.trees)):
                out[-1] = Match(prev.start, m.end, prev.concept, prev.acronym)
                continue
            out.append(m)
        return out

    @staticmethod
    def _disambiguated(text: str, found: list[Match]) -> list[Match]:
        if not any(m.acronym for m in found):
            return found
        spelled = {(m.concept.system, m.concept.code) for m in found if not m.acronym}
        letters = [ch for ch in text if ch.isalpha()]
        shouting = len(letters) >= 12 and sum(ch.isupper() for ch in letters) > 0.6 * len(letters)
        out = []
        for m in found:
            if m.acronym and (shouting or text[m.start:m.end] in m.concept.ambiguous):
                if (m.concept.system, m.concept.code) not in spelled:
                    continue
            out.append(m)
        return out


@lru_cache(maxsize=4)
def _compiled(directory: str) -> Matcher:
    return Matcher(vocabulary_at(directory))


def get_matcher() -> Matcher:
    """The matcher of the configured vocabulary, compiled once per process."""
    return _compiled(vocabulary_dir())
