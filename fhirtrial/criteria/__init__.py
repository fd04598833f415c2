"""Computable eligibility criteria: splitting, coding and judging, storage- and HTTP-free.

https://hl7.org/fhir/R4/group.html#Group.characteristic
"""
from __future__ import annotations

from .coder import code_criterion
from .concepts import Coding, Mention, Qualifiers, Window, concepts_for_display, find_mentions, mesh_ui, qualifiers, \
    subsumes, synonyms
from .definitions import definitions
from .fhir import characteristic
from .model import CodedCriterion, Part
from .split import Criterion, parse_criteria
from .vocabulary import VocabularyError

__all__ = ["CodedCriterion", "Coding", "Criterion", "Mention", "Part", "Qualifiers", "VocabularyError", "Window",
           "characteristic", "code_criterion", "concepts_for_display", "definitions", "find_mentions", "mesh_ui",
           "parse_criteria", "qualifiers", "subsumes", "synonyms"]
