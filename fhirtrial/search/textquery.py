"""The boolean syntax of _text and _content (https://hl7.org/fhir/R4/search.html#text), parsed once, storage-free.

``(bone OR liver) and metastases``: words, ``"quoted phrases"``, ``AND`` / ``OR`` in any case, ``NOT`` (upper case)
or a leading ``-`` for "without", parentheses. Adjacent terms are ANDed; NOT binds tightest, then AND, then OR.
A term with inner punctuation (``covid-19``) is the phrase of its words. The parser is lenient where the
meaning is clear: an unclosed quote or parenthesis runs to the end, a stray ``)`` or an operator without an
operand is dropped, characters that are neither words nor syntax are separators (so FTS5's own syntax typed by a
client is never syntax). It refuses (ValueError, a 400) what no engine can answer: no word at all, a query
that is only negative (``-cancer``, ``a OR NOT b``), more than MAX_TERMS terms or MAX_DEPTH levels.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Union

MAX_TERMS = 64
MAX_DEPTH = 12
_WORD = re.compile(r"\w+", re.UNICODE)
_SYNTAX = '"()'


@dataclass(frozen=True, slots=True)
class Words:
    """One word, or several as a phrase (adjacent, in order)."""

    words: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class And:
    items: tuple["Node", ...]


@dataclass(frozen=True, slots=True)
class Or:
    items: tuple["Node", ...]


@dataclass(frozen=True, slots=True)
class Not:
    item: "Node"


Node = Union[Words, And, Or, Not]


def _tokens(text: str) -> list[tuple[str, object]]:
    """("term", words) | ("and" | "or" | "not" | "neg" | "(" | ")", None)."""
    out: list[tuple[str, object]] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch == '"':
            end = text.find('"', i + 1)
            end = n if end < 0 else end
            words = tuple(_WORD.findall(text[i + 1:end]))
            if words:
                out.append(("term", words))
            i = end + 1
        elif ch in "()":
            out.append((ch, None))
            i += 1
        elif ch == "-" and i + 1 < n and not text[i + 1].isspace() and text[i + 1] != "-":
            out.append(("neg", None))
            i += 1
        else:
            j = i
            while j < n and not text[j].isspace() and text[j] not in _SYNTAX:
                j += 1
            raw = text[i:j]
            i = j
            if raw.upper() in ("AND", "OR"):
                out.append((raw.lower(), None))
            elif raw == "NOT":
                out.append(("not", None))
            elif words := tuple(_WORD.findall(raw)):
                out.append(("term", words))
    return out


class _Parser:
    def __init__(self, tokens: list[tuple[str, object]]) -> None:
        self.tokens, self.i, self.depth = tokens, 0, 0

    def peek(self) -> str | None:
        return self.tokens[self.i][0] if self.i < len(self.tokens) else None

    def take(self) -> tuple[str, object]:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def query(self) -> Node | None:
        items: list[Node] = []
        while self.peek() is not None:
            node = self.or_expr()
            if node is not None:
                items.append(node)
            if self.peek() == ")":  # a stray closing parenthesis at the top: dropped
                self.take()
        return _join(And, items)

    def or_expr(self) -> Node | None:
        items = [self.and_expr()]
        while self.peek() == "or":
            self.take()
            items.append(self.and_expr())
        return _join(Or, [x for x in items if x is not None])

    def and_expr(self) -> Node | None:
        items: list[Node | None] = []
        while (kind := self.peek()) not in (None, "or", ")"):
            if kind == "and":
                self.take()
                continue
            items.append(self.unary())
        return _join(And, [x for x in items if x is not None])

    def unary(self) -> Node | None:
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:  # before Python's own recursion limit: a 400, not a 500
                raise ValueError(f"nested deeper than {MAX_DEPTH} levels")
            return self._unary()
        finally:
            self.depth -= 1

    def _unary(self) -> Node | None:
        kind, value = self.take()
        if kind in ("not", "neg"):
            if self.peek() in (None, "or", "and", ")"):
                return None
            inner = self.unary()
            return Not(inner) if inner is not None else None
        if kind == "(":
            inner = self.or_expr()
            while self.peek() not in (None, ")"):  # "(a b" ... keeps reading to the closing parenthesis
                more = self.or_expr()
                inner = _join(And, [x for x in (inner, more) if x is not None])
            if self.peek() == ")":
                self.take()
            return inner
        if kind == "term":
            return Words(value)  # type: ignore[arg-type]
        return None


def _join(kind: type, items: list[Node]) -> Node | None:
    flat: list[Node] = []
    for item in items:
        flat.extend(item.items if isinstance(item, kind) else (item,))  # type: ignore[attr-defined]
    if not flat:
        return None
    return flat[0] if len(flat) == 1 else kind(tuple(flat))


def _check(node: Node, depth: int = 0) -> int:
    """Raise ValueError for what cannot be searched; returns the number of terms."""
    if depth > MAX_DEPTH:
        raise ValueError(f"nested deeper than {MAX_DEPTH} levels")
    if isinstance(node, Words):
        return 1
    if isinstance(node, Not):
        raise ValueError("NOT (or -) needs a word that must be present beside it, e.g. 'cancer -lung'")
    if isinstance(node, Or):
        if any(isinstance(x, Not) for x in node.items):
            raise ValueError("NOT (or -) cannot be an alternative of OR; write 'a -b' or 'a NOT b'")
        return sum(_check(x, depth + 1) for x in node.items)
    positive = [x for x in node.items if not isinstance(x, Not)]
    if not positive:
        raise ValueError("NOT (or -) needs a word that must be present beside it, e.g. 'cancer -lung'")
    return sum(_check(x, depth + 1) for x in positive) + sum(
        _check(x.item, depth + 1) for x in node.items if isinstance(x, Not))


def parse_text_query(text: str) -> Node:
    """The query tree of one _text/_content value; ValueError with a reason when it cannot be searched."""
    node = _Parser(_tokens(text)).query()
    if node is None:
        raise ValueError("no word to search for")
    if _check(node) > MAX_TERMS:
        raise ValueError(f"more than {MAX_TERMS} terms")
    return node


def fts5_query(node: Node) -> str:
    """The node as an SQLite FTS5 expression: every word inside double quotes (never FTS5 syntax)."""
    if isinstance(node, Words):
        return '"' + " ".join(node.words) + '"'
    if isinstance(node, Or):
        return "(" + " OR ".join(fts5_query(x) for x in node.items) + ")"
    if isinstance(node, Not):  # only inside And (checked)
        return fts5_query(node.item)
    out = "(" + " AND ".join(fts5_query(x) for x in node.items if not isinstance(x, Not)) + ")"
    for x in node.items:
        if isinstance(x, Not):
            out = f"({out} NOT {fts5_query(x.item)})"
    return out


def matches_text(node: Node, text: str) -> bool:
    """The query on a text held in memory (no stemming): words compared casefolded and accent-free, a phrase
    as consecutive words."""
    from fhirtrial.search.normalize import normalize

    words = _WORD.findall(normalize(text))
    present = set(words)

    def check(n: Node) -> bool:
        if isinstance(n, Words):
            wanted = [normalize(w) for w in n.words]
            if len(wanted) == 1:
                return wanted[0] in present
            size = len(wanted)
            return any(words[i:i + size] == wanted for i in range(len(words) - size + 1))
        if isinstance(n, Not):
            return not check(n.item)
        if isinstance(n, Or):
            return any(check(x) for x in n.items)
        return all(check(x) for x in n.items)

    return check(node)


def words_of(node: Node) -> list[str]:
    """Every word of the positive terms, for highlighting and tests."""
    if isinstance(node, Words):
        return list(node.words)
    if isinstance(node, Not):
        return []
    return [w for x in node.items for w in words_of(x)]


__all__ = ["And", "MAX_DEPTH", "MAX_TERMS", "Node", "Not", "Or", "Words", "fts5_query", "matches_text",
           "parse_text_query", "words_of"]
