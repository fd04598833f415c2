"""What changed between two versions of a resource, in words: each added, removed or changed element with its
old and new value (https://hl7.org/fhir/R4/http.html#history; JSON Patch, RFC 6902, computed by ``jsonpatch``).
"""
from __future__ import annotations

from typing import Any

import jsonpatch
import orjson

MAX_VALUE = 400  # characters of a value shown; the full version is one link away
_IGNORED = ("/meta/versionId", "/meta/lastUpdated")


def path_words(pointer: str) -> str:
    """``/site/3/display`` -> ``site[3].display``."""
    out = ""
    for token in pointer.lstrip("/").split("/"):
        token = token.replace("~1", "/").replace("~0", "~")
        out += f"[{token}]" if token.isdigit() else (f".{token}" if out else token)
    return out or "(whole resource)"


def shown(value: Any) -> str:
    text = value if isinstance(value, str) else orjson.dumps(value).decode()
    return text if len(text) <= MAX_VALUE else text[:MAX_VALUE] + "…"


def _at(doc: Any, pointer: str) -> Any:
    try:
        return jsonpatch.JsonPointer(pointer).resolve(doc)
    except (jsonpatch.JsonPointerException, KeyError, IndexError, TypeError):
        return None


def changes(older: dict[str, Any], newer: dict[str, Any]) -> list[dict[str, str]]:
    """One line per change, in element order: ``kind`` (added, removed, changed, moved), ``path``, ``before``,
    ``after``."""
    out = []
    for op in jsonpatch.make_patch(older, newer).patch:
        path = op.get("path", "")
        if path.startswith(_IGNORED):
            continue
        kind = {"add": "added", "remove": "removed", "replace": "changed", "move": "moved", "copy": "copied"}.get(
            op["op"], op["op"])
        before = _at(older, op["from"] if op["op"] == "move" else path) if op["op"] != "add" else None
        after = op.get("value", before if op["op"] in ("move", "copy") else None)
        out.append({"kind": kind, "path": path_words(path),
                    "from": path_words(op["from"]) if "from" in op else "",
                    "before": shown(before) if before is not None else "",
                    "after": shown(after) if after is not None and op["op"] != "remove" else ""})
    return sorted(out, key=lambda c: c["path"])


def timeline(versions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """History entries (newest first, as the history Bundle gives them) with each one's changes from the one
    before; a delete has no resource."""
    rows = []
    for i, entry in enumerate(versions):
        resource = entry.get("resource")
        response = entry.get("response") or {}
        older = next((v.get("resource") for v in versions[i + 1:] if v.get("resource")), None)
        version = str((resource or {}).get("meta", {}).get("versionId") or
                      response.get("etag", "").removeprefix('W/"').rstrip('"'))
        if resource is None:
            rows.append({"version": version, "when": response.get("lastModified", ""), "deleted": True,
                         "changes": [], "first": False})
        else:
            rows.append({"version": version, "when": (resource.get("meta") or {}).get("lastUpdated", ""),
                         "deleted": False, "first": older is None and i == len(versions) - 1,
                         "changes": changes(older, resource) if older is not None else []})
    return rows


__all__ = ["changes", "path_words", "timeline"]
