"""Conformance resources of the criteria coder (extensions and CodeSystems) as shipped definition files.

https://hl7.org/fhir/R4/structuredefinition.html ; served read-only by the conformance registry.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson

FOLDER = Path(__file__).resolve().parent / "definitions"


@lru_cache(maxsize=1)
def _load() -> tuple[bytes, ...]:
    return tuple(p.read_bytes() for p in sorted(FOLDER.glob("*.json")))


def definitions() -> list[dict[str, Any]]:
    """Every definition resource of the criteria coder (fresh copies: callers may change them)."""
    return [orjson.loads(raw) for raw in _load()]
