"""Computable eligibility criteria: splitting, coding and judging, storage- and HTTP-free.

https://hl7.org/fhir/R4/group.html#Group.characteristic
"""
from __future__ import annotations

from .concepts import Coding, Mention, Qualifiers, Window, concepts_for_display, find_mentions, mesh_ui, qualifiers, \
    subsumes, synonyms
from .vocabulary import VocabularyError

__all__ = ["Coding", "Mention", "Qualifiers", "Window", "VocabularyError", "concepts_for_display", "find_mentions",
           "mesh_ui", "qualifiers", "subsumes", "synonyms"]
