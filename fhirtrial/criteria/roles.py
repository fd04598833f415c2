"""Which concept mentions a criterion is about, and which it names only in passing (left as text, not coded).

https://hl7.org/fhir/R4/group-definitions.html#Group.characteristic.code — a coded characteristic says the
criterion is about that concept. A criterion also names concepts it is not about: the disease a therapy is for
("radiation therapy for prostate cancer", "symptoms of COVID-19"), an exception ("unless Gilbert's syndrome"),
what is allowed ("replacement therapy (e.g. thyroxine) is allowed"), the population an alternative applies to
("≤ 5 × ULN in patients with liver metastases"), a study step ("based on imaging, i.e. CT/MRI", "72 hours before
vaccination", "willing to be vaccinated"), a noun that only qualifies another ("COVID-19 test", "diabetes
physicians"), or a broad class word standing for a narrower concept the vocabulary lacks ("axillary surgery").
A wrong code is worse than none, so such mentions stay text. The rules read the phrase and clause structure of
the sentence (clauses end at ";", a sentence end or a line break; asides are parenthesised); each has a name.
"""
from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Sequence
from functools import lru_cache

from .concepts import MESH, Coding, Mention, subsumes

# Words that open a clause naming what the criterion does NOT require or exclude; it runs to the end of its aside
# or clause.
_EXCEPTION = re.compile(r"\b(?:unless|except(?:ing)?|excluding|other than|with the exception of|apart from"
                        r"|aside from|save for)\b", re.I)
# Alternatives that apply to a sub-population ("AST ≤ 5 × ULN in patients with liver metastases", "Lansky for
# patients ≤ 16 years", "≥ 160 mL for ages 12 to 17").
_POPULATION = re.compile(r"\b(?:for|in)\s+(?:patients?|subjects?|participants?|those|individuals?|persons?|people"
                         r"|children|adults?|women|men|ages?|cases?)\b", re.I)
# The patient's willingness or ability to take part in a study step ("willing to be vaccinated", "unable to
# tolerate an MRI").
_WILLING = re.compile(r"\b(?:willing(?:ness)?|agree(?:s|ment)?|consents?|able|ability|unable|inability|refus(?:e|es"
                      r"|al)) to\b|\btolerate\b", re.I)
# Able to become pregnant: who the criterion is for (women of childbearing potential), not a pregnancy.
_POTENTIAL = re.compile(r"\b(?:capable of|able to|potential (?:to|for)|possibility of|could|can|may|might)\s+"
                        r"(?:becom(?:e|ing)|get(?:ting)?)\s+(?=pregnan)", re.I)
# How something is assessed: the procedure is the study's method, not the patient's history.
_METHOD = re.compile(r"\b(?:based on|by means of|using|via|(?:assessed|determined|measured|documented|confirmed"
                     r"|detected|proven|shown|seen|visible|evaluated|evidenced) (?:by|on|with)"
                     r"|with an? (?:normal|abnormal|negative|positive))\b", re.I)
# The study's time anchor: "72 hours before vaccination", "prior to administration of contrast".
_ANCHOR = re.compile(r"\b(?:before|prior to|preceding|until)\b", re.I)
# Sentences that allow something or require nothing: what they name states no requirement. "not allowed" is a
# prohibition (negation, coded), hence the look-behinds.
_ALLOWED = re.compile(r"\b(?:(?:is|are|be|been|was|were)\s+(?:also\s+|generally\s+|an\s+)?(?:allowed|permitted|acceptable)"
                      r"|(?<!not )(?<!n't )(?:allowed|permitted)(?=\s*(?:[.;,)\]]|$|\s+(?:if|provided|as|for|to|with|in"
                      r"|during|unless)\b))|do(?:es)?\s+not\s+exclude|(?:is|are|be)\s+not\s+(?:considered|required)"
                      r"|not\s+be\s+(?:considered|required)|can\s+(?:enrol|enroll|participate|be\s+(?:enrolled|included))"
                      r"|may\s+(?:enrol|enroll|participate|be\s+(?:enrolled|included)))\b", re.I)
# Where an allowance's clause turns to something else ("X is allowed but Y is not allowed").
_TURN = re.compile(r",?\s*\b(?:but|however|whereas|although)\b", re.I)
# Reasons after an inability are the patient's conditions ("unable to ... due to respiratory failure").
_REASON = re.compile(r"\b(?:due to|because|owing to|as a result of)\b", re.I)
# Nouns a mention modifies through "for / of / against / to": the mention is the object, the head is the topic.
_HEAD_BEFORE = re.compile(r"\b(?:(?:therap(?:y|ies)|treatments?|agents?|drugs?|medications?|medicines?|regimens?"
                          r"|activity|lines?|prophylaxis|symptoms?|signs?|risk|tests?|testing|screening|vaccines?"
                          r"|vaccinations?|immuni[sz]ations?|allerg(?:y|ies)|hypersensitivity|intolerance"
                          r"|contraindications?|irradiation|radiation|radiotherapy|chemotherapy|surgery|resection"
                          r"|evaluation|assessment|interpretation|management|equivalents?)\s+(?:for|of|against|to)"
                          r"|(?:trials?|stud(?:y|ies))\s+(?:with|of))\s+", re.I)
# Nouns a mention modifies from the front ("COVID-19 viral test", "diabetes or obstetrics physicians").
_HEAD_AFTER = re.compile(r"\b(?:tests?|testing|swabs?|screening|vaccines?|vaccinations?|vaccinated|immuni[sz]ations?"
                         r"|boosters?|physicians?|doctors?|clinics?|cent(?:er|re)s?|units?|wards?|departments?|teams?"
                         r"|staff|specialists?|guidelines?|pandemic|outbreak|trials?|study|studies|programs?"
                         r"|programmes?|administration|dosing|infusion|equivalents|reversibility|specimens?|samples?"
                         r"|slides?|blocks?|reports?|results?|available|availability|contacts?|household|relatives?"
                         r"|partners?|members?|index|indices|scales?|questionnaires?|inventory"
                         r"|agonists?|antagonists?|analog(?:ue)?s?)\b",
                         re.I)
_TESTS = frozenset({"test", "tests", "testing", "screening", "swab", "swabs", "result", "results", "sample", "samples",
                    "specimen", "specimens", "report", "reports"})
_RESULT = re.compile(r"\b(?:positive|negative|confirmed|confirmation|detected|proven)\b", re.I)
# Words that end the object of a preposition or the modifiers in front of a head noun.
_STOP = frozenset({"and", "but", "with", "without", "in", "who", "which", "that", "like", "such", "as", "including",
                   "include", "includes", "e.g", "i.e", "is", "are", "was", "were", "has", "have", "had", "must",
                   "should", "will", "may", "can", "within", "after", "before", "during", "at", "on", "by", "for", "of",
                   "to", "from", "into", "than", "per", "using", "through", "via", "either", "due", "despite"})
_LIST = frozenset({"or", "and", "nor", "despite"})  # an anchor's object is one thing: "before X or Y" names Y apart
_WORD = re.compile(r"[^\s,;:()\[\]]+|[,;:()\[\]]")
# Sentence ends: a full stop before a capital (not after "e.g", "i.e", "etc", "vs", "approx"), ";" or a line break.
_CLAUSE_END = re.compile(r";|\n|(?<!\be\.g)(?<!\bi\.e)(?<!\betc)(?<!\bvs)(?<!approx)\.(?=\s+[A-Z(\[]|\s*$)")
# Inside an exception, a coordinated clause with its own verb ends it ("other than surgery and must not intend...").
_CLAUSE_VERB = re.compile(r",?\s+(?:and|but|or)\s+(?:must|should|will|may|can|is|are|has|have|had|who|which|that)\b"
                          r"|,\s*(?:no|not|must|should)\b", re.I)

# A drug named as the measure of a dose ("> 10 mg/day of prednisone or its equivalent", "glucocorticoid equivalents
# of > 10 mg/day of prednisone"): the criterion is about the class the dose is counted in, not that one drug.
_EQUIVALENT_AFTER = re.compile(r"\s*(?:[\d.,]+\s*mg(?:\s*/\s*\w+)?(?:\s+(?:daily|per day|a day))?\s*)?,?\s*\(?"
                               r"(?:or|and/or)\s+(?:its\s+|an?\s+|the\s+|other\s+)?equivalents?\b", re.I)
_EQUIVALENT_BEFORE = re.compile(r"\bequivalents?\s+of\s+[^;.()]{0,40}?\bof\s+$", re.I)
# A class a named drug specifies: "cisplatin- or carboplatin-based chemotherapy" is not any chemotherapy.
_BASED = re.compile(r"\w-?\s*(?:based|containing)\s+$", re.I)
# A treatment fused to "pre-" / "post-" times something else ("FEV1/FVC < 70 % (post-bronchodilator)",
# "pre-transplant work-up"): the compound is an adjective of time, not the treatment.
_TIMED = re.compile(r"\b(?:pre|post)-$", re.I)


# Broad classes that stand for a narrower concept when another word specifies them ("axillary surgery", "yolk sac
# tumor", "middle ear infection"): the vocabulary lacks the narrower one, the broad code would say too much.
GENERIC = frozenset({"D013514", "D009369", "D002277", "D007239", "D014612"})
_NEUTRAL = frozenset({"major", "minor", "prior", "previous", "recent", "any", "other", "no", "active", "current",
                      "concurrent", "planned", "elective", "acute", "emergency", "chronic", "severe", "serious",
                      "significant", "uncontrolled", "ongoing", "known", "documented", "history", "of", "or", "and",
                      "the", "a", "an", "with", "without", "for", "after", "before", "following", "post", "systemic",
                      "invasive", "malignant", "solid", "primary", "secondary", "new", "recurrent", "untreated",
                      "treated", "unresolved", "concomitant", "curative", "radical", "palliative", "clinically",
                      "confirmed", "suspected", "evidence", "presence", "active", "opportunistic", "intercurrent",
                      "underlying", "advanced", "metastatic", "refractory", "relapsed", "any", "each", "one", "two",
                      "multiple", "further", "additional", "life-threatening", "previously", "currently", "requiring",
                      "from", "during", "to", "in", "on", "at", "by", "had", "has", "have", "having", "that", "this",
                      "these", "those", "their", "its", "his", "her", "different", "another", "proven", "definitive",
                      "up-front", "upfront", "all", "some", "same", "first", "second", "last", "is", "are", "was",
                      "were", "be", "been", "undergo", "undergoing", "receive", "receiving", "study", "investigational"})
# A broad mention that heads a list of examples is what the criterion is about ("skin disease (for example, ...").
_EXAMPLES = re.compile(r"\s*(?:\(|,)?\s*(?:such as|including|includes|include|e\.g\.?|i\.e\.?|for example|like)\b", re.I)


# The rules that apply to pregnancy, breastfeeding and contraception as well ("willing to use contraception" and
# "pregnancy test for women of childbearing potential" do state them).
CLAUSE_RULES = frozenset({"exception", "allowance", "potential"})


_ANOTHER = re.compile(r"\b(?:other|another|different|additional|second|new)\b[\w\s-]*$", re.I)


@lru_cache(maxsize=4096)
def _ends(text: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Where the clauses of ``text`` end (the separators' starts) and where the next ones begin."""
    found = list(_CLAUSE_END.finditer(text))
    return tuple(m.start() for m in found), tuple(m.end() for m in found)


def _clause(text: str, pos: int) -> tuple[int, int]:
    """The clause holding ``pos``."""
    starts, ends = _ends(text)
    i = bisect_left(starts, pos)  # the first separator at or after pos
    return (ends[i - 1] if i else 0), (starts[i] if i < len(starts) else len(text))


def _aside_end(text: str, pos: int) -> int | None:
    """The offset of the ")" closing the aside ``pos`` is in, if any."""
    depth = 0
    for i in range(pos, len(text)):
        ch = text[i]
        if ch in "([":
            depth += 1
        elif ch in ")]":
            if depth == 0:
                return i
            depth -= 1
    return None


def _scope_end(text: str, pos: int) -> int:
    """Where a clause-level trigger at ``pos`` stops applying: the end of its aside, else of its clause."""
    end = _clause(text, pos)[1]
    aside = _aside_end(text, pos)
    return aside if aside is not None and aside < end else end


def _words(text: str, start: int, end: int) -> list[re.Match[str]]:
    return list(_WORD.finditer(text, start, end))


def _object(text: str, pos: int, limit: int = 5, stop: frozenset[str] = frozenset()) -> int:
    """The end of the object of a preposition ending at ``pos``: up to ``limit`` words of its clause, stopping at
    punctuation or a word that starts another phrase."""
    end = pos
    for m in _words(text, pos, min(_clause(text, pos)[1], pos + 120))[:limit]:
        word = m.group().lower().rstrip(".")
        if not word or not word[0].isalnum() or word in _STOP or word in stop:
            break
        end = m.end()
    return end


def _modifiers(text: str, pos: int, limit: int = 4) -> int:
    """The start of up to ``limit`` modifier words in front of a head noun at ``pos``."""
    start = pos
    for m in reversed(_words(text, max(_clause(text, pos)[0], pos - 120), pos)[-limit:]):
        word = m.group().lower().rstrip(".")
        if not word or not word[0].isalnum() or word in _STOP:
            break
        start = m.start()
    return start


@lru_cache(maxsize=4096)
def regions(text: str) -> tuple[tuple[int, int, str, bool], ...]:
    """Spans of ``text`` whose mentions are named in passing: (start, end, rule, whole) — ``whole``: the mention
    must lie inside the span, else it must start inside it."""
    out: list[tuple[int, int, str, bool]] = []
    for rule, pattern in (("exception", _EXCEPTION), ("population", _POPULATION), ("willingness", _WILLING)):
        for m in pattern.finditer(text):
            end = _scope_end(text, m.end())
            if rule == "exception" and (verb := _CLAUSE_VERB.search(text, m.end(), end)):
                end = verb.start()
            if rule == "willingness" and (reason := _REASON.search(text, m.end(), end)):
                end = reason.start()
            # a population's own words belong to it ("for ages 12 to 17" is an age)
            out.append((m.start() + len(m.group().split()[0]) if rule == "population" else m.end(), end, rule, False))
    for m in _POTENTIAL.finditer(text):
        out.append((m.end(), m.end() + 1, "potential", False))
    for m in _ALLOWED.finditer(text):
        start, end = _clause(text, m.start())
        opening = max(text.rfind("(", start, m.start()), text.rfind("[", start, m.start()))
        if opening >= 0 and (close := _aside_end(text, opening + 1)) is not None and close > m.start():
            start, end = opening + 1, close  # "(Note: HIV testing is not required ...)": the aside only
        for turn in _TURN.finditer(text, start, end):
            if turn.end() <= m.start():
                start = turn.end()
            elif turn.start() >= m.end():
                end = turn.start()
                break
        out.append((start, end, "allowance", False))
    for m in _HEAD_BEFORE.finditer(text):
        head = m.group().split()[0].lower()
        if head in _TESTS and _RESULT.search(text, max(0, m.start() - 40), m.start()):
            continue  # "a positive test for SARS-CoV-2" says the patient has it
        out.append((m.end(), _object(text, m.end()), "symptom" if head.startswith(("symptom", "sign")) else "object",
                    False))
    for m in _HEAD_AFTER.finditer(text):
        if m.group().lower() in _TESTS and (_RESULT.search(text, max(0, m.start() - 40), m.start())
                                            or _RESULT.search(text, m.end(), m.end() + 20)):
            continue  # "positive COVID-19 PCR test", "COVID-19 test positive"
        pos = m.start()
        before = text[:pos].rstrip(" -")
        if before.endswith(")") and (opening := text.rfind("(", 0, len(before))) >= 0:
            pos = opening  # "acquired immunodeficiency syndrome (AIDS)-defining", "... hormone (GnRH) agonist": past
            # the acronym
        out.append((_modifiers(text, pos), m.start(), "modifier", True))
    for m in _ANCHOR.finditer(text):
        out.append((m.end(), _object(text, m.end(), 6, _LIST), "anchor", False))
    return tuple(out)


def _method(text: str, start: int) -> bool:
    clause_start = _clause(text, start)[0]
    return any(m.end() <= start for m in _METHOD.finditer(text, clause_start, start))


def passing(text: str, start: int, end: int, category: str | None = None) -> str | None:
    """The rule by which ``text[start:end]`` is named only in passing, or None when the criterion may be about it."""
    for r_start, r_end, rule, whole in regions(text):
        if r_start <= start < r_end and (not whole or end <= r_end):
            if rule == "symptom" and category == "finding":
                continue  # "symptoms of cough": the symptom itself
            if rule == "modifier" and _HEAD_AFTER.fullmatch(text[start:end].split()[-1]):
                continue  # "live attenuated virus vaccine or inactivated vaccine": a head of its own
            return rule
    if category == "procedure" and _method(text, start):
        return "method"
    return None


def _mesh(mention: Mention) -> Coding | None:
    return next((c for c in mention.codings if c.system == MESH), None)


def _specified(text: str, mention: Mention) -> bool:
    """A broad class word with a specifying word in front: "axillary surgery", "yolk sac tumor"."""
    before = _words(text, max(0, mention.start - 40), mention.start)
    if not before or len(mention.text.split()) > 1:
        return False
    word = before[-1].group().lower()
    # a participle or a function word says nothing about which kind ("required surgery", "recovery from surgery")
    return word[0].isalpha() and word not in _NEUTRAL and not word.endswith("ed") and before[-1].end() == mention.start - 1


def asides(text: str, ends: Sequence[int]) -> list[tuple[int, int]]:
    """The asides right after the given offsets (a threshold's end): "≥ 100,000/µL (without transfusion support)"."""
    out = []
    for end in ends:
        m = re.compile(r"\s*[(\[]").match(text, end)
        if m and (close := _aside_end(text, m.end())) is not None:
            out.append((m.end(), close))
    return out


def roles(text: str, mentions: Sequence[Mention], qualifying: Sequence[tuple[int, int]] = ()) -> list[str | None]:
    """For each mention of ``text``: the rule by which it is named only in passing, or None. ``qualifying``: asides
    that qualify a measurement (``asides``), whose mentions say how it is measured."""
    out: list[str | None] = [passing(text, m.start, m.end, m.category) for m in mentions]
    for i, m in enumerate(mentions):
        if out[i] is not None:
            continue
        if any(s <= m.start and m.end <= e for s, e in qualifying):
            out[i] = "measurement aside"
        elif m.category in ("therapy", "substance") and (
                _EQUIVALENT_AFTER.match(text, m.end) or _EQUIVALENT_BEFORE.search(text, max(0, m.start - 60), m.start)):
            out[i] = "dose equivalent"
        elif m.category in ("therapy", "procedure") and _BASED.search(text, max(0, m.start - 30), m.start):
            out[i] = "specified"
        elif m.category in ("therapy", "procedure") and _TIMED.search(text, max(0, m.start - 5), m.start):
            out[i] = "timing"
    kept = [(m, _mesh(m)) for m, why in zip(mentions, out) if why is None]
    for i, mention in enumerate(mentions):
        mesh = _mesh(mention)
        if out[i] is not None or mesh is None or mesh.code not in GENERIC:
            continue
        if _specified(text, mention):
            out[i] = "specified"
        elif " " not in mention.text.strip() and not _EXAMPLES.match(text, mention.end) \
                and not _ANOTHER.search(text, max(0, mention.start - 25), mention.start) and any(
                other is not mention and code is not None and code.code != mesh.code and subsumes(mesh, code)
                and not re.search(r"[,;]", text[min(other.end, mention.end):max(other.start, mention.start)])
                for other, code in kept):
            out[i] = "broader"  # "breast cancer ... examined tumors": the narrower mention says it
    return out
