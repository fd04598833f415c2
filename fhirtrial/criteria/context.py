"""Negation, history, hypothetical, family and time-window context of spans, by medspaCy's ConText (offline).

https://github.com/medspacy/medspacy (ConText: Harkema et al., J Biomed Inform 2009). The pipeline is a blank
English spaCy tokenizer, spaCy's rule-based sentencizer and ConText with fhirtrial's criteria rules
(fhirtrial/mappings/vocabularies/context-rules.yaml); no model is downloaded. It is built lazily, once per process.
"""
from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from threading import Lock
from typing import Any

import yaml

from .vocabulary import VocabularyError, vocabulary_dir

RULES_FILE = "context-rules.yaml"
_GROUP = "fhirtrial_targets"
_FLAGS = {"NEGATED_EXISTENCE": "negated", "HISTORICAL": "historical", "CURRENT": "current",
          "HYPOTHETICAL": "hypothetical", "FAMILY": "family"}
_CATEGORIES = frozenset(_FLAGS) | {"WINDOW", "TERMINATE", "PSEUDO"}
_RULE_KEYS = frozenset({"category", "direction", "max_scope", "literals", "pattern"})
_WINDOW_LEAD = 3  # words before a window's number that can say which way it points ("at least", "no more than")
_UNITS = {"min": "min", "minute": "min", "h": "h", "hr": "h", "hour": "h", "d": "d", "day": "d", "wk": "wk",
          "week": "wk", "mo": "mo", "month": "mo", "y": "a", "yr": "a", "year": "a"}
_NUMBER_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
                 "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fourteen": 14, "fifteen": 15,
                 "eighteen": 18, "twenty": 20, "thirty": 30, "sixty": 60, "ninety": 90}
_UNIT_WORDS = r"(minutes?|min|hours?|hrs?|h|days?|d|weeks?|wks?|wk|months?|mos?|years?|yrs?|y)\b"
_WINDOW = re.compile(r"(?:(\d+(?:\.\d+)?)|\b(" + "|".join(_NUMBER_WORDS) + r")\b)(?:\s*\(\s*\d+\s*\))?[\s\-]*"
                     + _UNIT_WORDS, re.I)
_BARE_UNIT = re.compile(r"\b" + _UNIT_WORDS, re.I)
_AT_LEAST = re.compile(r"\b(at least|a minimum of|minimum of|(?<!no )(?<!not )more than|(?<!no )(?<!not )greater than"
                       r"|no less than|not less than|earlier than|ago)\b", re.I)


@dataclass(frozen=True, slots=True)
class Context:
    """What ConText found about one target span (categories) and the windows' words (nearest first)."""

    flags: frozenset[str]
    windows: tuple[str, ...]


def parse_window(words: str) -> tuple[float, str, str] | None:
    """(value, UCUM unit, comparator) of a window phrase: "within the past 6 months" -> (6, "mo", "<=")."""
    m = _WINDOW.search(words)
    bare = None if m else _BARE_UNIT.search(words)
    if m is None and bare is None:
        return None
    unit_word = (m.group(3) if m else bare.group(1)).lower()
    unit = _UNITS.get(unit_word) or _UNITS.get(unit_word.rstrip("s"))
    if unit is None:
        return None
    if m is None and unit_word.endswith("s") and unit_word not in ("hrs", "yrs", "wks", "mos"):
        return None  # "for years": no number
    if m is None:
        value = 1.0  # "within the past year"
    elif m.group(1):
        value = float(m.group(1))
    else:
        value = float(_NUMBER_WORDS[m.group(2).lower()])
    if value <= 0:
        return None
    return value, unit, ">=" if _AT_LEAST.search(words) else "<="


def load_rules(path: Path) -> list[Any]:
    """The ConText rules of ``path`` as medspaCy ConTextRule objects, validated."""
    from medspacy.context import ConTextRule

    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise VocabularyError(f"{path.name}: cannot be read: {exc}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("rules"), list):
        raise VocabularyError(f"{path.name}: a mapping with a rules list is expected")
    rules = []
    for i, raw in enumerate(doc["rules"]):
        where = f"{path.name}: rules[{i}]"
        if not isinstance(raw, dict) or raw.get("category") not in _CATEGORIES:
            raise VocabularyError(f"{where}: category must be one of {sorted(_CATEGORIES)}")
        if unknown := set(raw) - _RULE_KEYS:
            raise VocabularyError(f"{where}: unknown keys {sorted(unknown)}")
        literals, pattern = raw.get("literals"), raw.get("pattern")
        if (literals is None) == (pattern is None):
            raise VocabularyError(f"{where}: give either literals or a pattern")
        if literals is not None and (not isinstance(literals, list)
                                     or not all(isinstance(x, str) and x.strip() for x in literals)):
            raise VocabularyError(f"{where}: literals must be non-empty strings (quote yes/no/on/off)")
        common = {k: raw[k] for k in ("category", "direction", "max_scope") if k in raw}
        try:
            if pattern is not None:
                rules.append(ConTextRule(literal=f"{raw['category'].lower()} pattern {i}", pattern=pattern, **common))
            else:
                rules += [ConTextRule(literal=literal, **common) for literal in literals]
        except (TypeError, ValueError) as exc:
            raise VocabularyError(f"{where}: {exc}") from exc
    return rules


_QUALIFYING = frozenset(_FLAGS) | {"WINDOW"}  # the categories whose modifiers reach a Context


@dataclass(frozen=True, slots=True)
class Openers:
    """How a qualifying rule (a category that reaches a Context) can start: a word, two consecutive words (lower
    case), a number (spaCy's like_num), or anything (``always``). A doc where none occurs gets no qualifying modifier
    from ConText, so every span in it has an empty Context and ConText's rule matching can be skipped."""

    words: frozenset[str]
    pairs: frozenset[tuple[str, str]]
    number: bool
    always: bool

    def possible(self, doc: Any) -> bool:
        if self.always:
            return True
        lowers = [t.lower_ for t in doc]
        if not self.words.isdisjoint(lowers) or (self.number and any(t.like_num for t in doc)):
            return True
        pairs = self.pairs
        return any(pair in pairs for pair in zip(lowers, lowers[1:]))


def _head(token: Any) -> list[str] | None:
    """The lower-case words a required token pattern accepts; None when that is not a plain word list."""
    lower = token.get("LOWER") if isinstance(token, dict) and set(token) == {"LOWER"} else None
    if isinstance(lower, str):
        return [lower]
    if isinstance(lower, dict) and set(lower) == {"IN"} and all(isinstance(w, str) for w in lower["IN"]):
        return list(lower["IN"])
    return None


def openers(rules: list[Any], tokenizer: Any) -> Openers:
    """The Openers of medspaCy ConTextRules: a literal's first one or two tokens (medspaCy matches literals on
    lower-cased tokens), a token pattern's first one or two tokens when they are required LOWER words or lists, or
    its first token when it is LIKE_NUM."""
    words: set[str] = set()
    pairs: set[tuple[str, str]] = set()
    number = always = False
    for rule in rules:
        if rule.category.upper() not in _QUALIFYING:
            continue
        if rule.pattern is None:
            toks = [t.lower_ for t in tokenizer(rule.literal.lower())]
            if len(toks) >= 2:
                pairs.add((toks[0], toks[1]))
            elif toks:
                words.add(toks[0])
            else:
                always = True
            continue
        pattern = rule.pattern if isinstance(rule.pattern, list) else []
        first = _head(pattern[0]) if pattern else None
        second = _head(pattern[1]) if len(pattern) > 1 else None
        if pattern and pattern[0] == {"LIKE_NUM": True}:
            number = True
        elif first is not None and second is not None:
            pairs.update((a, b) for a in first for b in second)
        elif first is not None:
            words.update(first)
        else:
            always = True  # a regex, an optional first token, another attribute: no cheap test
    return Openers(frozenset(words), frozenset(pairs), number, always)


_EMPTY = Context(frozenset(), ())


class ContextEngine:
    """A spaCy pipeline with ConText; ``spans`` answers the context of character spans of one text."""

    def __init__(self, rules_path: Path, cache_size: int = 256) -> None:
        import medspacy  # noqa: F401  (registers the medspacy_context factory and the Span._.window extension)
        import spacy

        self.nlp = spacy.blank("en")
        self.nlp.add_pipe("sentencizer")
        self.context = self.nlp.add_pipe("medspacy_context", config={
            "rules": None, "input_span_type": "group", "span_group_name": _GROUP, "span_attrs": None})
        rules = load_rules(rules_path)
        self.context.add(rules)
        self.openers = openers(rules, self.nlp.tokenizer)
        self._before = [proc for _, proc in self.nlp.pipeline[:-1]]  # the sentencizer (nlp.pipeline is rebuilt per call)
        self._docs: OrderedDict[str, Any] = OrderedDict()
        self._size = cache_size
        self._lock = Lock()  # spaCy docs and ConText's span groups are not shared safely between threads

    def _doc(self, text: str) -> Any:
        doc = self._docs.get(text)
        if doc is None:
            doc = self.nlp.make_doc(text)
            for proc in self._before:
                doc = proc(doc)
            self._docs[text] = doc
            if len(self._docs) > self._size:
                self._docs.popitem(last=False)
        else:
            self._docs.move_to_end(text)
        return doc

    def clear(self) -> None:
        """Forget the cached docs (a cold start, for benchmarks)."""
        with self._lock:
            self._docs.clear()

    @staticmethod
    def _window_words(doc: Any, span: tuple[int, int]) -> str:
        """A window's words with the few around it that qualify it: "at least 4 weeks before"."""
        sentence = doc[span[0]].sent
        return doc[max(sentence.start, span[0] - _WINDOW_LEAD):min(sentence.end, span[1] + 1)].text

    def spans(self, text: str, spans: list[tuple[int, int]]) -> list[Context]:
        """The context of each (start, end) character span of ``text``, in the same order."""
        with self._lock:
            doc = self._doc(text)
            if not self.openers.possible(doc):
                return [_EMPTY for _ in spans]  # no rule that qualifies can match: ConText would find nothing
            targets = []
            for start, end in spans:
                span = doc.char_span(start, end, alignment_mode="expand")
                if span is None or len(span) == 0:  # whitespace only: nothing to qualify
                    span = doc[0:0]
                targets.append(span)
            live = [t for t in targets if len(t)]
            for t in live:  # extension values live in the cached doc, keyed by offsets: start afresh
                t._.modifiers = ()
            doc.spans[_GROUP] = live
            self.context(doc)
            out = []
            for span in targets:
                mods = list(dict.fromkeys(span._.modifiers)) if len(span) else []
                flags = frozenset(_FLAGS[m.category] for m in mods if m.category in _FLAGS)
                windows = sorted((m for m in mods if m.category == "WINDOW"),
                                 key=lambda m: min(abs(m.modifier_span[0] - span.end), abs(span.start - m.modifier_span[1])))
                out.append(Context(flags, tuple(self._window_words(doc, m.modifier_span) for m in windows)))
            del doc.spans[_GROUP]
            return out


@lru_cache(maxsize=4)
def _engine(directory: str) -> ContextEngine:
    return ContextEngine(Path(directory) / RULES_FILE)


def get_engine() -> ContextEngine:
    """The ConText engine of the configured vocabulary folder, built on first use."""
    return _engine(vocabulary_dir())
