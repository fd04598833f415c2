"""Free-text eligibilityCriteria split into one inclusion/exclusion criterion each, https://hl7.org/fhir/R4/group.html."""
from __future__ import annotations

import re
from dataclasses import dataclass

PREAMBLE = "preamble"

# A heading line: optional markdown (#, **, __), up to three qualifier words ("Key", "Swab", "Primary Study"...),
# then inclusion/exclusion/eligibility (or "non-inclusion"), optionally "criteria", then a qualifier: "for X",
# "by X", "(X)" or " - lead-in sentence", then an optional colon and inline content.
# Bounded repeats keep the regexes linear on pathological lines.
_HEADING = re.compile(
    r"^(?:#{1,6}\s*)?(?:[*_]{1,3}\s*)?(?P<pre>(?:[A-Za-z-]{1,20}\s+){0,3}?)"
    r"(?P<kind>non[- ]?inclusion|inclusion|exclusion|eligibility)"
    r"(?P<both>(?:\s+criteri(?:a|on))?\s*(?:and|/|&)\s*(?:exclusion|non[- ]?inclusion))?"
    r"(?P<crit>\s+criteri(?:a|on))?"
    r"(?P<qual>\s+(?:for|in|of|by)\s[^:*]{1,80}|\s*\([^)]{1,80}\)|\s+-\s+[^:*]{1,120}:?)?\s*(?:[*_]{1,3})?\s*"
    r"(?P<colon>:|-)?\s*(?:[*_]{1,3})?\s*(?P<rest0>(?<=:)\s*\S.*)?$",
    re.IGNORECASE,
)
# "Inclusion/" alone: the first half of "Inclusion/Exclusion Criteria" broken over two lines.
_HALF = re.compile(r"^(?:[*_]{1,3})?inclusion\s*/\s*(?:[*_]{1,3})?$", re.IGNORECASE)
# Lead-in sentences that work as headings: "Subjects must meet all of the following criteria to participate:".
_LEAD_IN = re.compile(r"\bfollowing\b.{0,40}\bcriteri", re.IGNORECASE)
_LEAD_IN_EXCLUDES = re.compile(r"\bexclu|\bineligible\b|\bnot (?:be )?(?:eligible|enrolled|included)\b", re.IGNORECASE)
# The PDQ (NCI) layout: inclusion sections named by topic.
_PDQ = re.compile(r"^(?:[#*_]{1,6}\s*)?(?P<topic>disease characteristics|patient characteristics|prior concurrent therapy)"
                  r"\s*:?\s*(?:[*_]{1,3})?$", re.IGNORECASE)
# Words before the keyword that say nothing about a cohort.
# Words before the keyword that make the line a sentence ("Does not meet inclusion criteria"), not a heading.
_SENTENCE = frozenset({"not", "no", "meet", "meets", "met", "does", "do", "fail", "fails", "failing", "fulfil", "fulfill",
                       "satisfy", "all", "any", "the", "above", "these", "per", "see", "other"})
_GENERIC = frozenset({"key", "main", "study", "general", "major", "the", "other", "additional", "specific"})
# List markers CT.gov records use: *, -, +, •, numbers "1." "1)" "(1)", letters "a." "(a)", roman "iv."
_ITEM = re.compile(
    r"^(?P<indent>[ \t]*)(?:[*\-+•·▪◦‣○●]|\d{1,3}[.)]|\(\d{1,3}\)|[A-Za-z][.)]|\([A-Za-z]\)|[ivxIVX]{1,5}[.)])"
    r"[ \t]*(?P<body>(?<=[ \t])\S.*|(?<=[\-•·▪◦‣○●])[A-Za-z(].*)$"
)
# Registry boilerplate about the list itself ("The information listed above is not intended to contain all
# considerations ... not all inclusion/ exclusion criteria are listed"): a note, not a criterion. The whole text
# stays on the Group, so nothing is lost.
_NOTE = re.compile(r"\b(?:listed|mentioned|stated) above\b|\bother protocol[- ]defined\b|\bnot all (?:inclusion|exclusion|eligibility)", re.IGNORECASE)
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!<>|~^])")
_BOLD = re.compile(r"\*\*|__")


@dataclass(frozen=True)
class Criterion:
    """One criterion: its text (sub-items kept under it), whether it excludes, and where it sat."""

    text: str
    exclude: bool
    group: str | None = None  # the cohort qualifier or sub-heading ("ARDS cohort", "For parents:"), or PREAMBLE
    parsed: bool = True  # False: the text had no headings and is kept whole


@dataclass(frozen=True)
class _Heading:
    exclude: bool
    qualifier: str | None
    rest: str | None
    combined: bool = False  # "Inclusion and Exclusion Criteria": the items cannot be told apart
    lead_in: bool = False  # a sentence such as "Subjects must meet all of the following criteria:"


def _clean(text: str) -> str:
    return _BOLD.sub("", _ESCAPE.sub(r"\1", text)).strip()


def _qualifier(pre: str, qual: str | None) -> str | None:
    words = [w for w in pre.split() if w.lower() not in _GENERIC]
    parts = [" ".join(words)] if words else []
    if qual:
        q = _clean(qual).strip()
        if q.startswith("(") and q.endswith(")"):
            q = q[1:-1].strip()
        elif q.startswith("- "):
            q = q[2:].strip()
        parts.append(q)
    return " - ".join(p for p in parts if p) or None


def _heading(line: str, plain: bool) -> _Heading | None:
    """The heading this line is, or None; ``plain`` lines (not list items) may also be lead-in sentences."""
    stripped = line.strip()
    if len(stripped) > 200:
        return None
    m = _HEADING.match(stripped)
    if m is not None:
        kind = m.group("kind").lower()
        bare = re.fullmatch(r"[#*_\s]*(?:inclusion|exclusion)s?[*_\s]*:?", stripped, re.IGNORECASE) is not None
        # Plain words before the keyword must not turn a sentence into a heading: require "criteria", a colon,
        # markdown, or the bare keyword alone on its line.
        if bare or m.group("crit") or m.group("both") or m.group("colon") == ":" or stripped[:1] in "#*_":
            pre = m.group("pre").lower().split()
            if pre and (not (m.group("crit") or m.group("both")) or _SENTENCE.intersection(pre)):
                return None  # "Use of other drugs in the moment of inclusion:" is a criterion
            if m.group("both"):
                return _Heading(False, "inclusion and exclusion criteria", m.group("rest0"), combined=True)
            exclude = kind != "inclusion" and kind != "eligibility"
            return _Heading(exclude, _qualifier(m.group("pre"), m.group("qual")), (m.group("rest0") or "").strip() or None)
    pdq = _PDQ.match(stripped)
    if pdq is not None:
        return _Heading(False, pdq.group("topic").capitalize(), None)
    if plain and stripped.endswith(":") and _LEAD_IN.search(stripped):
        return _Heading(_LEAD_IN_EXCLUDES.search(stripped) is not None, None, None, lead_in=True)
    return None


@dataclass
class _Item:
    indent: int
    lines: list[str]
    children: list[list[str]]


def _classify(line: str) -> tuple[_Heading | None, re.Match[str] | None]:
    item = _ITEM.match(line)
    body = item.group("body") if item else line
    if item is not None and _HALF.match(body.strip()):
        return _Heading(False, None, None), item
    return _heading(body, item is None), item


def parse_criteria(text: str) -> list[Criterion]:
    """Split criteria text into criteria; with no recognisable heading, return it whole as one unparsed criterion."""
    lines = [ln.rstrip() for ln in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    classified = [_classify(ln) if ln.strip() else (None, None) for ln in lines]
    if not any(head for head, _ in classified):
        whole = _clean(text)
        return [Criterion(whole, False, None, parsed=False)] if whole else []

    out: list[Criterion] = []
    exclude = False
    group: str | None = PREAMBLE
    item: _Item | None = None  # the open top-level item
    para: list[str] = []  # the open plain line (a registry v1 text puts one criterion on each line)
    blank = False
    half, half_at = False, 0  # "Inclusion/" seen (at len(out) == half_at), its "Exclusion Criteria:" half not yet
    seen = False  # a heading was seen

    def flush_item() -> None:
        nonlocal item
        if item is not None:
            body = " ".join(item.lines)
            subs = "\n".join("- " + " ".join(c) for c in item.children)
            out.append(Criterion(_clean(body + ("\n" + subs if subs else "")), exclude, group))
            item = None

    def flush_para(more_follows: bool) -> None:
        nonlocal group
        if para:
            joined = _clean(" ".join(para))
            para.clear()
            if not joined:
                return
            if joined.endswith(":") and more_follows:
                group = joined  # a sub-heading for the criteria that follow
            elif not _NOTE.search(joined):
                out.append(Criterion(joined, exclude, group))

    for i, line in enumerate(lines):
        if not line.strip():
            blank = True
            continue
        if not any(ch.isalnum() for ch in line):
            continue  # a bare list marker or rule line carries no criterion
        head, m = classified[i]
        if head is not None and head.lead_in and seen and head.exclude <= exclude:
            head = None  # a lead-in inside a section is text (a sub-heading), not a new section
        if head is not None:
            flush_item()
            flush_para(False)
            if half and len(out) == half_at:
                head = _Heading(False, "inclusion and exclusion criteria", head.rest, combined=True)
            half, half_at, seen = _HALF.match((m.group("body") if m else line).strip()) is not None, len(out), True
            exclude, group = head.exclude, head.qualifier
            if head.rest:
                para.append(head.rest)
            blank = False
            continue
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
        # Plain text: an indented line continues the open item; otherwise each line is its own unit.
        indent = len(line) - len(line.lstrip())
        if item is not None and indent > item.indent:
            (item.children[-1] if item.children else item.lines).append(line.strip())
        else:
            flush_item()
            flush_para(True)
            para.append(line.strip())
        blank = False
    flush_item()
    flush_para(False)
    return out

