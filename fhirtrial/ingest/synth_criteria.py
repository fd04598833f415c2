"""Eligibility-criteria text in the shapes the registry holds: bulleted, numbered, nested, with headings
(https://clinicaltrials.gov/data-api/api, eligibilityModule.eligibilityCriteria, a markdown string)."""
from __future__ import annotations

import random

_HEADINGS = (
    (("Inclusion Criteria:", "Exclusion Criteria:"), 75),
    (("Key Inclusion Criteria:", "Key Exclusion Criteria:"), 8),
    (("INCLUSION CRITERIA:", "EXCLUSION CRITERIA:"), 6),
    (("## Inclusion Criteria", "## Exclusion Criteria"), 4),
    (("Inclusion criteria", "Exclusion criteria"), 4),
    (("Critères d'inclusion :", "Critères de non-inclusion :"), 3),
)
_HEAD_PAIRS = [h for h, _ in _HEADINGS]
_HEAD_WEIGHTS = [w for _, w in _HEADINGS]


class CriteriaWriter:
    """Counts follow the real records: a median of about 5 inclusion and 7 exclusion items, a long tail past 30."""

    def __init__(self, rng: random.Random, pool: dict[str, list[str]]) -> None:
        self.rng, self.pool = rng, pool

    def _items(self, sentences: list[str], count: int, numbered: bool) -> list[str]:
        rng = self.rng
        lines: list[str] = []
        for n, sentence in enumerate(rng.choices(sentences, k=count), 1):
            lines.append(f"{n}. {sentence}" if numbered else f"* {sentence}")
            if rng.random() < 0.06:
                # Nested items sit after a blank line, indented under their parent.
                subs = rng.choices(self.pool["nested"], k=rng.randint(2, 4))
                lines.append("")
                lines.extend(f"   {k}. {s}" if numbered else f"  * {s}" for k, s in enumerate(subs, 1))
        return lines

    def text(self) -> str:
        rng = self.rng
        if rng.random() < 0.01:
            return rng.choice(self.pool["inclusion"])  # free text with no structure at all
        inclusion, exclusion = rng.choices(_HEAD_PAIRS, _HEAD_WEIGHTS)[0]
        numbered = rng.random() < 0.25
        n_in = max(1, min(round(rng.lognormvariate(1.65, 0.6)), 40))
        n_ex = min(round(rng.lognormvariate(1.95, 0.7)), 60)
        parts = [inclusion, "", *self._items(self.pool["inclusion"], n_in, numbered)]
        if rng.random() < 0.05:
            parts += ["", rng.choice(self.pool["notes"])]
        if n_ex:
            parts += ["", exclusion, "", *self._items(self.pool["exclusion"], n_ex, numbered)]
        return "\n".join(parts)
