"""Tokens of criterion text with offsets, normalised for dictionary matching, https://www.nlm.nih.gov/mesh/meshhome.html.

The same function normalises the vocabulary's entry terms and the text, so "Haemorrhages", "hemorrhage" and
"HEMORRHAGE" meet on one key, and "Crohn's disease" meets MeSH's "Crohn Disease". Case-sensitive acronyms are
matched on the raw token instead (``Token.raw``).
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import NamedTuple

# A token: a run of letters/digits (Latin or any script but Greek), or a run of Greek letters, with an optional
# possessive 's kept on the token so that "Crohn's" stays one token.
_TOKEN = re.compile(r"(?:(?![\u0370-\u03ff])[^\W_])+(?:['\u2019]s\b)?|[\u0370-\u03ff]+")

_GREEK = {"α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "ε": "epsilon", "κ": "kappa", "λ": "lambda",
          "μ": "mu", "ω": "omega", "θ": "theta", "σ": "sigma", "τ": "tau", "ζ": "zeta", "η": "eta"}
# British -> American spellings, applied as substring rewrites on lower-cased tokens (stems, not whole words).
_BRITISH = (("haem", "hem"), ("aemi", "emi"), ("paed", "ped"), ("gynaec", "gynec"), ("caesar", "cesar"),
            ("anaesth", "anesth"), ("oedem", "edem"), ("oesophag", "esophag"), ("oestr", "estr"), ("foet", "fet"),
            ("coeliac", "celiac"), ("rrhoea", "rrhea"), ("pnoea", "pnea"), ("isation", "ization"),
            ("tumour", "tumor"), ("behaviour", "behavior"), ("colour", "color"), ("leucocyt", "leukocyt"),
            ("leucopen", "leukopen"), ("sulph", "sulf"), ("centre", "center"), ("fibre", "fiber"), ("litre", "liter"),
            ("ischaem", "ischem"))
_IRREGULAR = {"metastases": "metastasis", "diagnoses": "diagnosis", "analyses": "analysis", "feces": "feces",
              "faeces": "feces", "prostheses": "prosthesis", "criteria": "criterion", "children": "child",
              "women": "woman", "men": "man", "teeth": "tooth", "feet": "foot", "indices": "index"}
_KEEP = frozenset({"doses", "noses", "hoses", "poses", "roses", "closes", "news", "lens", "gas", "bias", "yes",
                   "this", "has", "was", "does", "status", "always", "series", "species", "plus", "versus"})
_ROMAN = {"ii": "2", "iii": "3", "iv": "4"}
_POSSESSIVE = ("'s", "\u2019s")
_ROMAN_AFTER = frozenset({"type", "stage", "grade", "class", "phase"})


class Token(NamedTuple):
    """A word of the text: offsets, the word as written, its matching key."""

    start: int
    end: int
    raw: str  # the token as written (possessive 's stripped)
    norm: str  # lower case, no diacritics, American spelling, singular


def _plain(word: str) -> str:
    """Lower case without diacritics or Greek letters: "Sjögren" -> "sjogren", "α" -> "alpha"."""
    word = word.lower()
    if word.isascii():
        return word
    word = "".join(_GREEK.get(ch, ch) for ch in word)
    return "".join(ch for ch in unicodedata.normalize("NFKD", word) if not unicodedata.combining(ch))


def singular(word: str) -> str:
    """A deterministic (not linguistic) singular: the same rule on both sides is all matching needs."""
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    if len(word) <= 3 or word in _KEEP or not word.isalpha():
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("oses") and len(word) > 5:
        return word[:-2] + "is"
    if word.endswith(("sses", "xes", "ches", "shes", "uses")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


@lru_cache(maxsize=65536)
def norm_word(word: str) -> str:
    """The matching key of one word."""
    word = _plain(word)
    for british, american in _BRITISH:
        if british in word:
            word = word.replace(british, american)
    return singular(word)


def tokens(text: str) -> list[Token]:
    """Word tokens of ``text`` with character offsets; hyphens, slashes and punctuation separate tokens."""
    out: list[Token] = []
    append, norm, make = out.append, norm_word, Token._make  # locals: this loop runs for every word of every criterion
    prev = ""
    for m in _TOKEN.finditer(text):
        raw = m.group()
        if raw[-2:] in _POSSESSIVE and len(raw) > 2:
            raw = raw[:-2]
        word = norm(raw)
        if word in _ROMAN or (word == "i" and prev in _ROMAN_AFTER):
            word = _ROMAN.get(word, "1")
        start = m.start()
        append(make((start, start + len(raw), raw, word)))
        prev = word
    return out


def key(term: str) -> tuple[str, ...]:
    """The normalised token sequence of a dictionary term."""
    return tuple(t.norm for t in tokens(term))


def raw_key(term: str) -> tuple[str, ...]:
    """The case-sensitive token sequence of an acronym."""
    return tuple(t.raw for t in tokens(term))
