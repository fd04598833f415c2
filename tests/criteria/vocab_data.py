"""Shared helpers for the criteria tests: the real records of ../shared/data, read at test time, never copied."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import pytest

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
CORPORA = ("ctgov", "ctgov-extra", "ctgov-covid", "match/trials")


def shared_records() -> Iterator[tuple[str, dict[str, Any]]]:
    """(corpus, record) for every study record of ../shared/data."""
    for corpus in CORPORA:
        for path in sorted((SHARED / corpus).glob("NCT*.json")):
            yield corpus, json.loads(path.read_text(encoding="utf-8"))


def need_shared() -> None:
    if not (SHARED / "ctgov").is_dir():
        pytest.skip("../shared/data is absent (the real registry records are read from there at test time)")


def criterion_lines() -> list[tuple[str, str]]:
    """(NCT id, line) for every non-empty line of every record's eligibility criteria."""
    out = []
    for _, record in shared_records():
        protocol = record.get("protocolSection", {})
        nct = protocol.get("identificationModule", {}).get("nctId", "")
        text = protocol.get("eligibilityModule", {}).get("eligibilityCriteria", "") or ""
        out += [(nct, line.strip(" *-\t")) for line in text.splitlines() if line.strip(" *-\t")]
    return out


def real_sentence(nct: str, fragment: str) -> str:
    """The criterion line of study ``nct`` that contains ``fragment`` (fails when the record changed)."""
    need_shared()
    hits = [line for n, line in criterion_lines() if n == nct and fragment in line]
    assert hits, f"{nct} has no criterion containing {fragment!r}"
    return hits[0]
