"""One criterion sentence coded: measurements, performance status, age, sex, pregnancy and vocabulary concepts.

Deterministic and offline: the curated table (fhirtrial/mappings/criteria), a UCUM library and the concepts contract
(fhirtrial/criteria/concepts.py: vocabulary mentions and their ConText qualifiers). https://hl7.org/fhir/R4/group.html
"""
from __future__ import annotations

import re
from dataclasses import replace
from functools import lru_cache

from . import concepts, roles
from .concepts import LOINC, Coding, Qualifiers
from .demographics import age_part, sex_part, topic_parts
from .model import CONCEPT_SYSTEM, FULL, PARTIAL, TEXT_ONLY, CodedCriterion, Part
from .performance import scale_after
from .table import Measure, get_measures
from .thresholds import threshold_after

MAX_TEXT = 4000  # longer "criteria" are whole unparsed texts: kept as text only
# Between two mentions sharing one threshold ("AST (SGOT)/ALT (SGPT) < 3 × ULN", "AST and ALT ≤ 2.5 × ULN").
_SHARED = re.compile(r"[\s()\[\]/,&]*(?:and/or|and|or)?[\s()\[\]/,&]*", re.IGNORECASE)
_CONDITIONAL = re.compile(r"\bunless\b|\bexcept\b|\bif\b|\bprovided\b|\bwhichever\b|\bin case of\b", re.IGNORECASE)
_LEFTOVER = re.compile(r"[<>≤≥]|\d")
_OR = re.compile(r"\bor\b|/", re.IGNORECASE)
_PROSPECT = re.compile(r"\b(?:eligible|eligibility|candidates?|suitable|fit|indicated|scheduled|planned|planning|"
                       r"awaiting|waiting)\s+(?:for|to(?:\s+undergo|\s+receive)?)\s+(?:an?\s+|the\s+)?$", re.IGNORECASE)
_ALLERGY = re.compile(r"\b(?:allerg\w*|hypersensitiv\w*|intoleran\w*|(?:drug|adverse|allergic)\s+reactions?)\b"
                     r"[^.;]{0,60}\b(?:to|for|against|with)\b", re.IGNORECASE)
_COORDINATION = re.compile(r"(?P<mods>(?:[A-Za-z][\w-]*\s*,\s*)*[A-Za-z][\w-]*\s*,?\s*\b(?:and/or|or|and)\s+"
                           r"[A-Za-z][\w-]*)\s+(?P<head>diseases?|dysfunction|failure|impairment|insufficiency|disorders?)\b",
                           re.IGNORECASE)
# The head nouns _COORDINATION ends with: most criteria have none, and the coordination pattern is costly to try at
# every position of a text.
_HEADS = re.compile(r"\b(?:diseases?|dysfunction|failure|impairment|insufficiency|disorders?)\b", re.IGNORECASE)
_MODIFIER = re.compile(r"[A-Za-z][\w-]*")
_CONNECTOR = re.compile(r"\b(or|and)\b|/", re.IGNORECASE)
_CLAUSE_END = re.compile(r"[;.:]")
_RATIO = re.compile(r"\s*/\s*(?!(?:\d|ULN|uln|upper|lower|LLN))[A-Za-z]")


def _codings(measure: Measure) -> tuple[Coding, ...]:
    if measure.loinc:
        return tuple(Coding(LOINC, code, measure.name) for code in measure.loinc)
    return (Coding(CONCEPT_SYSTEM, measure.own or measure.id, measure.name),)


def _groups(found: list[tuple[int, int, Measure]], text: str) -> list[list[tuple[int, int, Measure]]]:
    groups: list[list[tuple[int, int, Measure]]] = []
    for item in found:
        if groups:
            last = groups[-1][-1]
            gap = _SHARED.fullmatch(text, last[1], item[0])
            if gap is not None and last[2].category == item[2].category:
                groups[-1].append(item)
                continue
        groups.append([item])
    return groups


def _measured(text: str, lower: str) -> tuple[list[Part], list[tuple[int, int]], list[int]]:
    """Parts from the table, the spans (names and thresholds) they cover, and where their thresholds end."""
    found = get_measures().find(text, lower)
    if not found:
        return [], [], []
    groups = _groups(found, text)
    parts: list[Part] = []
    covered: list[tuple[int, int]] = []
    ends: list[int] = []
    # A measure keeps its first threshold: a later one in the same criterion is mostly a conditional alternative
    # ("AST ≤ 2.5 × ULN (≤ 5 × ULN if liver metastases)"), left as text, which makes the criterion partly coded.
    seen: set[str] = set()
    for gi, group in enumerate(groups):
        limit = groups[gi + 1][0][0] if gi + 1 < len(groups) else len(text)
        end = group[-1][1]
        measure = group[0][2]
        if all(m.id in seen for _, _, m in group):
            continue
        if _RATIO.match(text, end):
            continue  # "FEV1/FVC": a ratio of the measure with something else, not the measure
        if measure.category == "performance":
            scale = scale_after(text, end, limit, measure)
            if scale is None:
                continue
            low, high, v_start, v_end = scale
            covered.append((v_start, v_end))
            for start, stop, m in group:
                if m.id not in seen:
                    seen.add(m.id)
                    parts.append(Part("performance", m.name, _codings(m), start, stop, low=low, high=high))
                covered.append((start, stop))
            ends.append(v_end)
            continue
        for start, stop, m in group:
            if m.id in seen:
                covered.append((start, stop))
                continue
            t = threshold_after(text, end, limit, m)
            if t is None:
                continue  # a lab named without a threshold states nothing computable: left as text
            seen.add(m.id)
            covered += [(start, stop), (t.start, t.end)]
            ends.append(t.end)
            parts.append(Part("measurement", m.name, _codings(m), start, stop, comparator=t.comparator, value=t.value,
                              low=t.low, high=t.high, unit=t.unit, uln=t.uln, lln=t.lln))
    return parts, covered, ends


def _qualified(part: Part, q: Qualifiers) -> Part:
    status = "hypothetical" if q.hypothetical else "current" if q.current else "historical" if q.historical else None
    if not (q.negated or status or q.window):
        return part
    return replace(part, negated=q.negated, status=status, window=q.window)


def _overlaps(a: tuple[int, int], spans: list[tuple[int, int]]) -> bool:
    return any(a[0] < e and s < a[1] for s, e in spans)


def _operators(text: str, parts: list[Part]) -> list[str]:
    """How each part joins the previous one. A list ("HIV, HCV, HBV, HTLV-1 and 2, syphilis or Chagas disease")
    takes, for every comma between its items, the connector after its last comma; a bare comma list lists
    alternatives, as eligibility lists do."""
    gaps = [(prev.end, part.start) for prev, part in zip(parts, parts[1:])]
    ops = ["or" if _OR.search(text, a, b) else "and" for a, b in gaps]
    i = 0
    while i < len(gaps):
        if "," not in text[gaps[i][0]:gaps[i][1]]:
            i += 1
            continue
        j = i
        while j + 1 < len(gaps) and "," in text[gaps[j + 1][0]:gaps[j + 1][1]]:
            j += 1
        last = text.rfind(",", gaps[j][0], gaps[j][1])
        end = _CLAUSE_END.search(text, last)
        found = _CONNECTOR.search(text, last, end.start() if end else len(text))
        op = "and" if found is not None and found.group(0).lower() == "and" else "or"
        for k in range(i, j + 1):
            ops[k] = op
        i = j + 1
    return ops


def _elided(text: str, covered: list[tuple[int, int]]) -> list[Part]:
    """Concepts whose head noun a coordination shares: "liver or renal dysfunction" names liver dysfunction,
    "hepatic, renal, and vascular disease" hepatic disease; each modifier read with the head, by the vocabulary.
    A connector is a whole word ("for metastatic disease" shares nothing), and a phrase named in passing ("therapy
    for adrenal or pituitary insufficiency") stays text, as a mention would."""
    out: list[Part] = []
    if _HEADS.search(text) is None:
        return out
    for m in _COORDINATION.finditer(text):
        head = m.group("head")
        for word in _MODIFIER.finditer(m.group("mods")):
            start, end = m.start("mods") + word.start(), m.start("mods") + word.end()
            if word.group(0).lower() in ("and", "or") or _overlaps((start, end), covered):
                continue
            phrase = f"{word.group(0)} {head}"
            found = [x for x in concepts.concepts_in(phrase) if x[0] == 0 and x[1] == len(phrase)]
            if found and roles.passing(text, start, end, found[0][2]) is None:
                out.append(_qualified(Part(found[0][2], phrase.lower(), found[0][3], start, end),
                                      concepts.qualifiers(text, start, end)))
    return out


@lru_cache(maxsize=20000)
def code_criterion(text: str) -> CodedCriterion:
    """The coded parts of one criterion (offsets into ``text``) and how far it was understood."""
    if not text.strip() or len(text) > MAX_TEXT:
        return CodedCriterion(text, (), TEXT_ONLY)
    lower = text.lower()
    parts, covered, ends = _measured(text, lower)
    age = age_part(text, lower)
    if age is not None and roles.passing(text, age.start, age.end) == "population":
        age = None  # "Lansky for patients <= 16 years": the age says where another rule applies
    own = [p for p in (age, sex_part(text)) if p is not None]
    for p in own:
        covered.append((p.start, p.end))
    parts += own
    topics = [p for p in topic_parts(text, lower) if roles.passing(text, p.start, p.end, p.category)
              not in roles.CLAUSE_RULES]
    # One ConText pass for the mentions and the parts found so far (tokenising and matching its rules is most of
    # the cost of coding)
    mentions, context = concepts.read(text, [(p.start, p.end) for p in parts + topics])
    parts = [_qualified(p, q) for p, q in zip(parts, context)]
    topics = [_qualified(p, q) for p, q in zip(topics, context[len(parts):])]
    hard = list(covered)
    for mention, passing in zip(mentions, roles.roles(text, mentions, roles.asides(text, ends))):
        span = (mention.start, mention.end)
        if passing is not None:
            continue  # named in passing ("therapy for prostate cancer", "unless Gilbert's syndrome"): left as text
        if _overlaps(span, hard):
            continue  # the table's reading of a measurement or an age wins over a vocabulary match
        topic = next((i for i, t in enumerate(topics) if _overlaps(span, [(t.start, t.end)])), None)
        if topic is not None:  # "pregnancy" found by both: keep one part, with the vocabulary's codes too
            t = topics[topic]
            topics[topic] = replace(t, codings=t.codings + mention.codings)
            continue
        if any(t.category == p.category for t in topics for p in topic_parts(mention.text)):
            continue  # "pregnant women ... during their pregnancy": the topic's part says it once
        covered.append(span)
        part = _qualified(Part(mention.category, mention.text.lower(), mention.codings, mention.start, mention.end),
                          mention.qualifiers)
        if part.category in ("therapy", "substance") and _ALLERGY.search(text, 0, mention.start):
            part = replace(part, category="allergy")  # "drug reaction for cyclosporin": an allergy, not a therapy
        if _PROSPECT.search(text, 0, mention.start):  # "(not) eligible for transplant": a prospect, not a fact
            part = replace(part, status="hypothetical", negated=False)
        parts.append(part)
    for part in _elided(text, covered):
        covered.append((part.start, part.end))
        parts.append(part)
    for t in topics:
        covered.append((t.start, t.end))
    parts += topics
    if not parts:
        return CodedCriterion(text, (), TEXT_ONLY)
    parts.sort(key=lambda p: (p.start, p.end))
    ops = _operators(text, parts)
    joined = [parts[0]] + [replace(part, operator=op) for part, op in zip(parts[1:], ops)]
    leftover = any(not _overlaps((m.start(), m.end()), covered) for m in _LEFTOVER.finditer(text))
    complete = all(p.complete for p in joined) and not leftover and not _CONDITIONAL.search(text)
    return CodedCriterion(text, tuple(joined), FULL if complete else PARTIAL)
