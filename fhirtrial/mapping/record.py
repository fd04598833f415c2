"""Typed, checked access to one ClinicalTrials.gov API v2 study record, https://clinicaltrials.gov/data-api/api."""
from __future__ import annotations

import re
import unicodedata
from typing import Any

from .errors import MappingError
from .tables import Tables

# FHIR strings may not hold C0 controls other than tab/CR/LF, and JSON may carry lone surrogates
# that no UTF-8 encoder accepts: https://hl7.org/fhir/R4/datatypes.html#string
_BAD_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_NCT = re.compile(r"^NCT\d{8}$")


class Record:
    """One study: the raw dict, its NCT id, the tables and the warnings collected while mapping it."""

    __slots__ = ("raw", "nct_id", "tables", "warnings")

    def __init__(self, raw: Any, tables: Tables) -> None:
        self.tables = tables
        self.warnings: list[str] = []
        self.nct_id: str | None = None
        if not isinstance(raw, dict):
            raise MappingError(None, "(root)", f"a study record is a JSON object, got {type(raw).__name__}")
        self.raw = raw
        ps = raw.get("protocolSection")
        if ps is None:
            raise MappingError(None, "protocolSection", "missing: not a ClinicalTrials.gov API v2 study")
        if not isinstance(ps, dict):
            raise MappingError(None, "protocolSection", "must be an object")
        ident = ps.get("identificationModule")
        if not isinstance(ident, dict):
            raise MappingError(None, "protocolSection.identificationModule", "missing or not an object")
        nct = ident.get("nctId")
        if not isinstance(nct, str) or not nct.strip():
            raise MappingError(None, "protocolSection.identificationModule.nctId", "missing NCT id")
        nct = nct.strip()
        if not _NCT.match(nct):
            raise MappingError(nct[:40], "protocolSection.identificationModule.nctId", "not an NCT id (NCT + 8 digits)")
        self.nct_id = nct

    def warn(self, path: str, message: str) -> None:
        self.warnings.append(f"{self.nct_id}: {path}: {message}")

    def fail(self, path: str, message: str) -> MappingError:
        return MappingError(self.nct_id, path, message)

    # -- navigation ---------------------------------------------------------------------------------------------
    def node(self, path: str) -> Any:
        """The value at a dotted path of objects (no lists), or None; a non-object on the way is an error."""
        keys = self.tables.keys.get(path) or tuple(path.split("."))
        cur: Any = self.raw
        for depth, key in enumerate(keys):
            if cur is None:
                return None
            if not isinstance(cur, dict):
                raise self.fail(".".join(keys[:depth]), "must be an object")
            cur = cur.get(key)
        return cur

    def obj(self, value: Any, path: str) -> dict[str, Any] | None:
        if value is None:
            return None
        if not isinstance(value, dict):
            raise self.fail(path, "must be an object")
        return value

    def objs(self, value: Any, path: str) -> list[dict[str, Any]]:
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self.fail(path, "must be a list of objects")
        return value

    # -- typed scalars ------------------------------------------------------------------------------------------
    def text(self, value: Any, path: str) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str):
            raise self.fail(path, f"must be a string, got {type(value).__name__}")
        if value.isascii() and value.isprintable():
            return value.strip() or None  # the common case: nothing to clean
        if _BAD_CHARS.search(value):
            value = _BAD_CHARS.sub(lambda m: "\ufffd" if m.group() >= "\ud800" else " ", value)
            self.warn(path, "control characters or unpaired surrogates replaced")
        if not value.isascii():
            value = unicodedata.normalize("NFC", value)
        value = value.strip()
        return value or None

    def texts(self, value: Any, path: str) -> list[str]:
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.fail(path, "must be a list of strings")
        out = []
        for item in value:
            t = self.text(item, path)
            if t is not None:
                out.append(t)
        return out

    def boolean(self, value: Any, path: str) -> bool | None:
        if value is None or isinstance(value, bool):
            return value
        raise self.fail(path, f"must be true or false, got {type(value).__name__}")

    def integer(self, value: Any, path: str) -> int | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(path, f"must be an integer, got {type(value).__name__}")
        if value < 0:
            raise self.fail(path, "must not be negative")
        return value

    def number(self, value: Any, path: str) -> float | int | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(path, f"must be a number, got {type(value).__name__}")
        return value

    def typed(self, value: Any, path: str, kind: str) -> Any:
        """Check a value against its ctgov-model.yaml type."""
        if kind in ("string", "markup", "date") or kind.startswith("enum:"):
            return self.text(value, path)
        if kind == "strings" or kind.startswith("enums:"):
            return self.texts(value, path)
        if kind == "boolean":
            return self.boolean(value, path)
        if kind == "integer":
            return self.integer(value, path)
        if kind == "number":
            return self.number(value, path)
        if kind == "object":
            return self.obj(value, path)
        return self.objs(value, path)

    def check_unknown(self) -> None:
        """Warn about protocolSection fields the model does not know (they are ignored, not mapped)."""
        known = self.tables.known_paths
        stack: list[tuple[str, Any]] = [("protocolSection", self.raw["protocolSection"])]
        while stack:
            prefix, value = stack.pop()
            if isinstance(value, dict):
                for key, sub in value.items():
                    path = f"{prefix}.{key}"
                    if path not in known:
                        self.warn(path, "unknown field ignored")
                    elif isinstance(sub, (dict, list)):
                        stack.append((path, sub))
            elif isinstance(value, list) and value and isinstance(value[0], dict):
                seen: dict[str, Any] = {}
                for item in value:
                    if isinstance(item, dict):
                        for key, sub in item.items():
                            seen.setdefault(key, sub)
                stack.append((prefix, seen))
