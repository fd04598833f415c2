"""How far the criteria of a corpus were understood: fully / partly / not coded, by category.

https://hl7.org/fhir/R4/group.html#Group.characteristic
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable

from .coder import code_criterion
from .model import CATEGORIES, FULL, PARTIAL, TEXT_ONLY
from .split import parse_criteria


@dataclass
class Tally:
    studies: int = 0
    groups_one_block: int = 0  # records whose criteria text had no heading the splitter knows
    levels: Counter[str] = field(default_factory=Counter)  # full / partial / text-only -> criteria
    categories: dict[str, Counter[str]] = field(default_factory=dict)  # category -> level -> criteria with it

    @property
    def criteria(self) -> int:
        return sum(self.levels.values())

    @property
    def coded(self) -> int:
        """Criteria with at least one code."""
        return self.levels[FULL] + self.levels[PARTIAL]

    def add_record(self, record: dict[str, Any]) -> None:
        module = (record.get("protocolSection") or {}).get("eligibilityModule") or {}
        text = module.get("eligibilityCriteria")
        self.studies += 1
        if not isinstance(text, str):
            return
        parsed = parse_criteria(text)
        if parsed and not parsed[0].parsed:
            self.groups_one_block += 1
        self.add_texts(c.text for c in parsed)

    def add_texts(self, texts: Iterable[str]) -> None:
        for text in texts:
            coded = code_criterion(text)
            self.levels[coded.level] += 1
            for category in dict.fromkeys(p.category for p in coded.parts):
                self.categories.setdefault(category, Counter())[coded.level] += 1

    def rows(self) -> list[tuple[str, int, int, int]]:
        """(category, criteria, fully coded, partly coded) in the model's category order, then the totals."""
        out = [(c, sum(n.values()), n[FULL], n[PARTIAL]) for c in CATEGORIES if (n := self.categories.get(c))]
        out.append(("all criteria", self.criteria, self.levels[FULL], self.levels[PARTIAL]))
        return out

    def summary(self) -> str:
        share = 100.0 * self.coded / self.criteria if self.criteria else 0.0
        return (f"{self.studies} studies, {self.criteria} criteria: {self.levels[FULL]} fully coded, "
                f"{self.levels[PARTIAL]} partly, {self.levels[TEXT_ONLY]} text only; {share:.1f} % with at least one "
                f"code; {self.groups_one_block} criteria texts without headings (kept as one block)")
