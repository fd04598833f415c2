"""FHIR primitive datatypes checked on their JSON values, https://hl7.org/fhir/R4/datatypes.html#primitive.

JSON kind (boolean, integer, decimal or string), regex, maxLength and integer range come from structure-r4.json
(derived from the official definitions by ``python -m fhirtrial.validation.generate``); the regexes are written
in XML Schema syntax and translated once.
"""
from __future__ import annotations

import calendar
import re
from typing import Any, Callable

_XSD_SPACE = " \t\n\r"  # XML Schema \s, in which the FHIR regexes are written (datatypes.html)

# A primitive check: value -> None when valid, else the reason
PrimitiveCheck = Callable[[Any], "str | None"]


# -- regexes ------------------------------------------------------------------------------------------------
def _class_escape(chars: str) -> str:
    return "".join({" ": " ", "\t": r"\t", "\n": r"\n", "\r": r"\r"}[c] for c in chars)


def translate_regex(pattern: str) -> str:
    r"""A FHIR (XML Schema) regex as a Python one: ``\s`` is exactly space, tab, CR and LF there (Python's
    would also match non-breaking and other Unicode spaces)."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\" and i + 1 < n:
            esc = pattern[i + 1]
            out.append({"s": f"[{_class_escape(_XSD_SPACE)}]", "S": f"[^{_class_escape(_XSD_SPACE)}]"}.get(esc, c + esc))
            i += 2
        elif c == "[":
            end = i + 1
            negated = end < n and pattern[end] == "^"
            end += negated
            members: list[str] = []
            literal: set[str] = set()
            has_not_space = False
            while pattern[end] != "]":
                if pattern[end] == "\\":
                    esc = pattern[end + 1]
                    if esc == "s":
                        members.append(_class_escape(_XSD_SPACE))
                    elif esc == "S":
                        has_not_space = True
                    else:
                        members.append("\\" + esc)
                        literal.add({"t": "\t", "n": "\n", "r": "\r"}.get(esc, esc))
                    end += 2
                else:
                    members.append(pattern[end])
                    literal.add(pattern[end])
                    end += 1
            if has_not_space:  # [...\S] = everything but the XSD spaces not listed in the class
                if negated:
                    raise ValueError(f"unsupported regex class in {pattern!r}")
                rest = "".join(c for c in _XSD_SPACE if c not in literal)
                out.append(f"[^{_class_escape(rest)}]" if rest else r"[\s\S]")
            else:
                out.append("[" + ("^" if negated else "") + "".join(members) + "]")
            i = end + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


# -- primitives ---------------------------------------------------------------------------------------------
_FULL_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


def _real_date(value: str) -> bool:
    """datatypes.html#date: a full date SHALL be a valid calendar date (the regex allows 2021-02-30)."""
    m = _FULL_DATE.match(value)
    if m is None:
        return True
    year, month, day = int(m[1]), int(m[2]), int(m[3])
    return day <= calendar.monthrange(year, month)[1]


def primitive_check(name: str, spec: dict[str, Any]) -> PrimitiveCheck:
    kind = spec["json"]
    translated = translate_regex(spec["regex"]) if spec.get("regex") else None
    rx = re.compile(translated) if translated else None
    full = rx.fullmatch if rx is not None else None
    shown = spec.get("regex")
    if kind == "boolean":
        def check_boolean(v: Any) -> str | None:
            return None if v is True or v is False else "a boolean must be JSON true or false"
        return check_boolean
    if kind == "integer":
        lo, hi = spec.get("minValue"), spec.get("maxValue")

        def check_integer(v: Any) -> str | None:
            if type(v) is not int:
                return f"{name} must be a JSON integer"
            if (lo is not None and v < lo) or (hi is not None and v > hi):
                return f"{name} must be within {lo}..{hi}"
            if full is not None and full(str(v)) is None:
                return f"{name} must match {shown}"
            return None
        return check_integer
    if kind == "decimal":
        def check_decimal(v: Any) -> str | None:
            if type(v) is not int and type(v) is not float:
                return f"{name} must be a JSON number"
            if full is not None and full(repr(v)) is None:
                return f"{name} must be a finite number"
            return None
        return check_decimal
    max_length = spec.get("maxLength")
    any_text = translated in (r"[\s\S]+", None)  # string, markdown, xhtml: any non-empty text
    dated = name in ("date", "dateTime", "instant")

    def check_string(v: Any) -> str | None:
        if type(v) is not str:
            return f"{name} must be a JSON string"
        if not v:
            return "empty strings are not allowed in FHIR JSON"
        if max_length is not None and len(v) > max_length:
            return f"{name} is longer than {max_length} characters"
        if not any_text and full(v) is None:  # type: ignore[misc]
            return f"{name} must match {shown}"
        if dated and not _real_date(v):
            return f"{v!r} is not a calendar date"
        return None
    return check_string
