"""Free-text eligibilityCriteria split into one inclusion/exclusion criterion each, https://hl7.org/fhir/R4/group.html."""
from __future__ import annotations

import re
from dataclasses import dataclass

PREAMBLE = "preamble"

# A heading line: optional markdown (#, **, __), up to three qualifier words ("Key", "Main Study"...),
# then inclusion/exclusion/eligibility, optionally "criteria" and a short qualifier, then an optional colon.
# Bounded repeats keep the regex linear on pathological lines.
_HEADING = re.compile(
    r"^(?:#{1,6}\s*)?(?:[*_]{1,3}\s*)?(?:[A-Za-z-]{1,20}\s+){0,3}?"
    r"(?P<kind>inclusion|exclusion|eligibility)(?:\s+(?:and\s+exclusion\s+)?criteri(?:a|on))?"
    r"(?P<qual>\s+(?:for|in|of)\s[^:*]{1,80})?\s*(?:[*_]{1,3})?\s*(?::|-)?\s*(?:[*_]{1,3})?\s*"
    r"(?::\s*(?P<rest0>.*))?$",
    re.IGNORECASE,
)
_HEADING_INLINE = re.compile(
    r"^(?:[*_]{1,3})?(?P<kind>inclusion|exclusion)\s+criteria\s*(?:[*_]{1,3})?\s*:\s*(?:[*_]{1,3})?\s*(?P<rest>\S.*)$",
    re.IGNORECASE,
)
# List markers CT.gov records use: *, -, +, •, numbers "1." "1)" "(1)", letters "a." "(a)", roman "iv."
_ITEM = re.compile(
    r"^(?P<indent>[ \t]*)(?:[*\-+•·▪◦‣○●]|\d{1,3}[.)]|\(\d{1,3}\)|[A-Za-z][.)]|\([A-Za-z]\)|[ivxIVX]{1,5}[.)])"
    r"[ \t]+(?P<body>\S.*)$"
)
# Registry boilerplate about the list itself ("The information listed above is not intended to contain all
# considerations ... not all inclusion/ exclusion criteria are listed"): a note, not a criterion. The whole text
# stays on the Group, so nothing is lost.
_NOTE = re.compile(r"\b(?:listed|mentioned|stated) above\b|\bnot all (?:inclusion|exclusion|eligibility)", re.IGNORECASE)
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!<>|~])")
_BOLD = re.compile(r"\*\*|__")


@dataclass(frozen=True)
class Criterion:
    """One criterion: its text (sub-items kept under it), whether it excludes, and where it sat."""

    text: str
    exclude: bool
    group: str | None = None  # a sub-heading such as "For parent participants:", or PREAMBLE
    parsed: bool = True  # False: the text had no headings and is kept whole


def _clean(text: str) -> str:
    return _BOLD.sub("", _ESCAPE.sub(r"\1", text)).strip()


def _heading(line: str) -> tuple[bool | None, str | None, str | None] | None:
    """(exclude, qualifier, inline rest) when the line is a heading; None otherwise."""
    stripped = line.strip()
    if len(stripped) > 160:
        return None
    inline = _HEADING_INLINE.match(stripped)
    if inline:
        return inline.group("kind").lower() == "exclusion", None, inline.group("rest")
    m = _HEADING.match(stripped)
    if m is None:
        return None
    # Plain words before the keyword must not turn a sentence into a heading: require a colon, markdown, or
    # the keyword followed by "criteria" and nothing else.
    kind = m.group("kind").lower()
    if not re.search(r"criteri|:|^#|^\*\*|^__", stripped, re.IGNORECASE):
        return None
    qual = m.group("qual")
    return kind == "exclusion", _clean(qual) if qual else None, m.group("rest0") or None


@dataclass
class _Item:
    indent: int
    lines: list[str]
    children: list[list[str]]


def parse_criteria(text: str) -> list[Criterion]:
    """Split criteria text into criteria; with no recognisable heading, return it whole as one unparsed criterion."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if not any(_heading(_item_body(line)) for line in lines if line.strip()):
        whole = _clean(text)
        return [Criterion(whole, False, None, parsed=False)] if whole else []

    out: list[Criterion] = []
    exclude = False
    group: str | None = PREAMBLE
    item: _Item | None = None  # the open top-level item
    para: list[str] = []  # the open paragraph (text that is not a list item)
    blank = False

    def flush_item() -> None:
        nonlocal item
        if item is not None:
            body = " ".join(item.lines)
            subs = "\n".join("- " + " ".join(c) for c in item.children)
            out.append(Criterion(_clean(body + ("\n" + subs if subs else "")), exclude, group))
            item = None

    def flush_para(next_is_item: bool) -> None:
        nonlocal group
        if para:
            joined = _clean(" ".join(para))
            para.clear()
            if not joined:
                return
            if joined.endswith(":") and next_is_item:
                group = joined  # a sub-heading for the items that follow
            elif not _NOTE.search(joined):
                out.append(Criterion(joined, exclude, group))

    for raw in lines:
        if not raw.strip():
            blank = True
            continue
        line = raw.rstrip()
        if not any(ch.isalnum() for ch in line):
            continue  # a bare list marker or rule line carries no criterion
        head = _heading(_item_body(line))
        if head is not None:
            flush_item()
            flush_para(False)
            exclude, qual, rest = head
            group = qual
            if rest:
                para.append(rest)
            blank = False
            continue
        m = _ITEM.match(line)
        if m is not None:
            indent = len(m.group("indent").expandtabs(4))
            body = m.group("body")
            if item is not None and indent > item.indent and not para:
                item.children.append([body.strip()])
            else:
                flush_item()
                flush_para(True)
                item = _Item(indent, [body.strip()], [])
            blank = False
            continue
        # Plain text: continues the open item or paragraph unless a blank line ended it.
        indent = len(line) - len(line.lstrip())
        if item is not None and (not blank or indent > item.indent):
            # a wrapped line, or an indented paragraph that belongs to the open item
            (item.children[-1] if item.children else item.lines).append(line.strip())
        elif para and not blank:
            para.append(line.strip())
        else:
            flush_item()
            flush_para(False)
            para.append(line.strip())
        blank = False
    flush_item()
    flush_para(False)
    return out


def _item_body(line: str) -> str:
    """A heading may itself be written as a list item ("* Inclusion Criteria:")."""
    m = _ITEM.match(line)
    return m.group("body") if m else line
