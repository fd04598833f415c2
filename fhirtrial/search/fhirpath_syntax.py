"""Parser for the FHIRPath subset that search-parameter expressions use (http://hl7.org/fhirpath/N1/).

Anything outside the subset raises ``Unsupported`` so the caller can fall back to fhirpathpy.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Union


class Unsupported(Exception):
    """The expression uses FHIRPath this fast compiler does not handle."""


@dataclass(frozen=True, slots=True)
class Literal:
    value: Any


@dataclass(frozen=True, slots=True)
class Member:
    focus: "Node | None"  # None: the current context ($this)
    name: str


@dataclass(frozen=True, slots=True)
class Call:
    focus: "Node | None"
    name: str
    args: tuple["Node", ...]


@dataclass(frozen=True, slots=True)
class Binary:
    op: str  # | = != and or
    left: "Node"
    right: "Node"


@dataclass(frozen=True, slots=True)
class TypeOp:
    op: str  # is | as
    focus: "Node"
    type_name: str


@dataclass(frozen=True, slots=True)
class This:
    pass


Node = Union[Literal, Member, Call, Binary, TypeOp, This]

_TOKEN = re.compile(r"\s*(?:(?P<str>'(?:[^'\\]|\\.)*')|(?P<num>\d+(?:\.\d+)?)|(?P<op>!=|[.()|=,])"
                    r"|(?P<this>\$this)|(?P<id>[A-Za-z_][A-Za-z0-9_]*)|(?P<bad>\S))")
_ESCAPES = {"'": "'", '"': '"', "\\": "\\", "/": "/", "n": "\n", "t": "\t", "r": "\r", "f": "\f", "`": "`"}


def _tokens(text: str) -> list[tuple[str, str]]:
    out = []
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup
        if kind is None:
            continue
        if kind == "bad":
            raise Unsupported(f"unsupported character {m[kind]!r}")
        out.append((kind, m[kind]))
    return out


class _Parser:
    # Precedence, loosest first: or, and, = !=, |, is/as, invocation (http://hl7.org/fhirpath/N1/#operator-precedence).
    def __init__(self, text: str) -> None:
        self.toks = _tokens(text)
        self.i = 0

    def peek(self) -> tuple[str, str] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        tok = self.peek()
        if tok is None or (value is not None and tok[1] != value):
            raise Unsupported(f"expected {value!r}, found {tok!r}")
        self.i += 1
        return tok

    def at(self, *values: str) -> bool:
        tok = self.peek()
        return tok is not None and tok[1] in values and tok[0] in ("op", "id")

    def parse(self) -> Node:
        node = self.expr()
        if self.peek() is not None:
            raise Unsupported(f"unexpected {self.peek()!r}")
        return node

    def expr(self) -> Node:
        node = self.and_expr()
        while self.at("or"):
            self.take()
            node = Binary("or", node, self.and_expr())
        return node

    def and_expr(self) -> Node:
        node = self.eq_expr()
        while self.at("and"):
            self.take()
            node = Binary("and", node, self.eq_expr())
        return node

    def eq_expr(self) -> Node:
        node = self.union_expr()
        while self.at("=", "!="):
            op = self.take()[1]
            node = Binary(op, node, self.union_expr())
        return node

    def union_expr(self) -> Node:
        node = self.type_expr()
        while self.at("|"):
            self.take()
            node = Binary("|", node, self.type_expr())
        return node

    def type_expr(self) -> Node:
        node = self.postfix()
        while self.at("is", "as"):
            op = self.take()[1]
            node = TypeOp(op, node, self.type_name())
        return node

    def type_name(self) -> str:
        kind, name = self.take()
        if kind != "id":
            raise Unsupported(f"bad type name {name!r}")
        if self.at("."):  # qualified names such as FHIR.Quantity or System.String
            self.take()
            name = self.take()[1]
        return name

    def postfix(self) -> Node:
        node = self.term()
        while self.at("."):
            self.take()
            node = self.invocation(node)
        return node

    def term(self) -> Node:
        kind, text = self.peek() or ("", "")
        if kind == "str":
            self.take()
            return Literal(re.sub(r"\\(.)", lambda m: _ESCAPES.get(m[1], m[1]), text[1:-1]))
        if kind == "num":
            self.take()
            return Literal(float(text) if "." in text else int(text))
        if kind == "this":
            self.take()
            return This()
        if text in ("true", "false"):
            self.take()
            return Literal(text == "true")
        if text == "(":
            self.take()
            node = self.expr()
            self.take(")")
            return node
        if kind == "id":
            return self.invocation(None)
        raise Unsupported(f"unexpected {text!r}")

    def invocation(self, focus: Node | None) -> Node:
        kind, name = self.take()
        if kind != "id":
            raise Unsupported(f"expected a name, found {name!r}")
        if not self.at("("):
            return Member(focus, name)
        self.take("(")
        args: list[Node] = []
        if name in ("ofType", "as", "is"):
            args.append(Literal(self.type_name()))
        elif not self.at(")"):
            args.append(self.expr())
            while self.at(","):
                self.take()
                args.append(self.expr())
        self.take(")")
        return Call(focus, name, tuple(args))


def parse(text: str) -> Node:
    return _Parser(text).parse()


def split_union(expression: str) -> list[str]:
    """Top-level ``|`` operands of a FHIRPath expression (parentheses and quotes respected)."""
    parts, depth, quote, start = [], 0, False, 0
    for i, ch in enumerate(expression):
        if ch == "'" and (i == 0 or expression[i - 1] != "\\"):
            quote = not quote
        elif not quote and ch == "(":
            depth += 1
        elif not quote and ch == ")":
            depth -= 1
        elif not quote and depth == 0 and ch == "|":
            parts.append(expression[start:i].strip())
            start = i + 1
    parts.append(expression[start:].strip())
    return parts


_RESOLVED_PREFIX = re.compile(r"^\(*([A-Za-z]+(?:\.[A-Za-z]+)*)\.resolve\(\)\.")


def resolved_paths(expression: str) -> set[str]:
    """The paths whose targets an expression resolves (``Path.resolve().`` opening one of its union operands):
    indexing it needs those resources."""
    return {m[1] for part in split_union(expression) if (m := _RESOLVED_PREFIX.match(part))}
