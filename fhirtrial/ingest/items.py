"""What an input source yields: one study record or one failure, with where it came from (https://clinicaltrials.gov/data-api/api)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..errors import FhirError

NCT_ID = re.compile(r"NCT\d{8}")
# Finds the id in text that no longer parses (a truncated line, a corrupt member), so failures stay attributable.
_NCT_IN_JSON = re.compile(rb'"nctId"\s*:\s*"(NCT\d{8})"')
_NCT_IN_NAME = re.compile(r"(NCT\d{8})")


class SourceError(FhirError):
    """Nothing at all could be read from the input (missing path, corrupt archive, empty input): exit code 2."""

    status, code = 400, "not-found"
    exit_code = 2


@dataclass(frozen=True, slots=True)
class Origin:
    """Where an item came from: a file, plus a line (NDJSON), an archive member, or a position in ``studies``."""

    path: str
    line: int | None = None
    member: str | None = None
    index: int | None = None

    def __str__(self) -> str:
        text = self.path
        if self.member is not None:
            text += f"!{self.member}"
        if self.line is not None:
            text += f":{self.line}"
        if self.index is not None:
            text += f"#studies[{self.index}]"
        return text


@dataclass(frozen=True, slots=True)
class SourceItem:
    """Exactly one of ``record`` (a parsed API v2 study) or ``error`` (why this item could not be read)."""

    origin: Origin
    nct_id: str | None
    record: dict[str, Any] | None = None
    error: str | None = None
    # Set by dedupe_last_wins on an earlier copy of a study that a later one replaces.
    superseded_by: Origin | None = None

    def __post_init__(self) -> None:
        if (self.record is None) == (self.error is None):
            raise ValueError("a SourceItem holds either a record or an error")

    @property
    def ok(self) -> bool:
        return self.record is not None

    def report(self) -> dict[str, Any]:
        """One line of the error report (JSON lines)."""
        out: dict[str, Any] = {"nctId": self.nct_id, "origin": str(self.origin), "error": self.error}
        if self.superseded_by is not None:
            out["supersededBy"] = str(self.superseded_by)
        return out


def study_item(value: Any, origin: Origin) -> SourceItem:
    """Accept ``value`` as a study only if it carries a well-formed ``protocolSection.identificationModule.nctId``."""
    if not isinstance(value, dict):
        return SourceItem(origin, None, error=f"not a study: a JSON {type(value).__name__}, expected an object")
    ident = value.get("protocolSection")
    ident = ident.get("identificationModule") if isinstance(ident, dict) else None
    nct = ident.get("nctId") if isinstance(ident, dict) else None
    if nct is None:
        return SourceItem(origin, None, error="not a ClinicalTrials.gov API v2 study: "
                                              "no protocolSection.identificationModule.nctId")
    if not isinstance(nct, str) or not NCT_ID.fullmatch(nct):
        return SourceItem(origin, None, error=f"not a study: nctId {nct!r} is not an NCT number")
    return SourceItem(origin, nct, record=value)


def failed(origin: Origin, reason: str, raw: bytes | None = None, name: str | None = None) -> SourceItem:
    """An error item, with the NCT id guessed from the raw bytes or a file name when possible."""
    nct: str | None = None
    if raw:
        found = _NCT_IN_JSON.search(raw)
        nct = found.group(1).decode() if found else None
    if nct is None and name:
        found_name = _NCT_IN_NAME.search(name)
        nct = found_name.group(1) if found_name else None
    return SourceItem(origin, nct, error=reason)
