"""Type-ahead over indexed values: the condition texts of the stored studies, most frequent first, for the trial
finder's condition box (https://hl7.org/fhir/R4/search.html#token, the ``:text`` of the ``condition`` rows).

The distinct texts are read once from ``idx_token`` and kept in memory; they are read again only when a study has
been written since (the newest ``last_updated`` of ResearchStudy changed: one index seek per keystroke), so typing
stays fast at registry scale while the list follows every write.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from ..search.normalize import normalize
from .schema import idx_token, resource

@dataclass(frozen=True, slots=True)
class Suggestion:
    text: str  # the indexed (normalised) text, a valid ``condition:text`` value
    count: int  # studies that carry it


class Suggester:
    """Distinct texts of one token parameter, with how many resources carry each."""

    def __init__(self, resource_type: str = "ResearchStudy", param: str = "condition") -> None:
        self.resource_type, self.param = resource_type, param
        self._lock = threading.Lock()
        self._terms: list[Suggestion] = []
        self._stamp: Any = object()

    def _newest(self, conn: sa.Connection) -> Any:
        r = resource.c
        return conn.execute(sa.select(sa.func.max(r.last_updated)).where(r.resource_type == self.resource_type)) \
            .scalar()

    def _load(self, conn: sa.Connection) -> list[Suggestion]:
        t = idx_token.c
        rows = conn.execute(
            sa.select(t.text, sa.func.count(sa.distinct(t.resource_id)))
            .where(t.resource_type == self.resource_type, t.param == self.param, t.text.is_not(None), t.text != "")
            .group_by(t.text))
        terms = [Suggestion(text, count) for text, count in rows]
        terms.sort(key=lambda s: (-s.count, s.text))
        return terms

    def terms(self, engine: sa.Engine) -> list[Suggestion]:
        with self._lock, engine.connect() as conn:
            stamp = self._newest(conn)
            if stamp != self._stamp:
                self._terms, self._stamp = self._load(conn), stamp
            return self._terms

    def suggest(self, engine: sa.Engine, typed: str, limit: int = 10) -> list[Suggestion]:
        """Texts that start with what was typed, then texts with a word that does; most studies first."""
        query = " ".join(normalize(typed).split())
        if not query:
            return []
        starts, inner = [], []
        for term in self.terms(engine):
            if term.text.startswith(query):
                starts.append(term)
            elif f" {query}" in term.text or f"-{query}" in term.text or f"({query}" in term.text:
                inner.append(term)
            if len(starts) >= limit:
                break
        return (starts + inner)[:limit]


__all__ = ["Suggester", "Suggestion"]
