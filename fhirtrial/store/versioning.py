"""Server-maintained version metadata: meta.versionId, meta.lastUpdated and the no-op update test.

https://hl7.org/fhir/R4/resource.html#Meta and https://hl7.org/fhir/R4/http.html#versioning
"""
from __future__ import annotations

import hashlib
import re
from datetime import datetime, timezone
from typing import Any

import orjson

from ..errors import InvalidRequest
from ..resources import ID_PATTERN

SERVER_META = ("versionId", "lastUpdated")
_TYPE_PATTERN = re.compile(r"^[A-Z][A-Za-z]{0,63}$")


def now_ms(not_before: datetime | None = None) -> datetime:
    """The current UTC instant truncated to milliseconds, never earlier than ``not_before``."""
    now = datetime.now(timezone.utc)
    now = now.replace(microsecond=now.microsecond // 1000 * 1000)
    return max(now, not_before) if not_before is not None else now


def instant(ts: datetime) -> str:
    """FHIR instant with millisecond precision in UTC, e.g. ``2026-11-25T13:11:51.123Z`` (meta.lastUpdated,
    Bundle timestamps and entry lastModified: the one formatter)."""
    return ts.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def check_type(resource_type: str) -> None:
    if not _TYPE_PATTERN.match(resource_type):
        raise InvalidRequest(f"Invalid resource type {resource_type!r}", expression="resourceType")


def check_id(resource_id: str) -> None:
    if not isinstance(resource_id, str) or not ID_PATTERN.match(resource_id):
        raise InvalidRequest(f"Invalid resource id {resource_id!r}: ids are 1-64 characters of A-Z, a-z, 0-9, "
                             "'-' and '.'", expression="id")


def check_body(resource_type: str, resource_id: str | None, resource: Any) -> None:
    """The body is an object of the right type whose id, if any, is the one being written."""
    if not isinstance(resource, dict):
        raise InvalidRequest("A resource must be a JSON object")
    if resource.get("resourceType") != resource_type:
        raise InvalidRequest(f"resourceType {resource.get('resourceType')!r} does not match {resource_type!r}",
                             expression="resourceType")
    if resource_id is not None and "id" in resource and resource["id"] != resource_id:
        raise InvalidRequest(f"Resource id {resource['id']!r} does not match {resource_id!r}", expression="id")
    meta = resource.get("meta")
    if meta is not None and not isinstance(meta, dict):
        raise InvalidRequest("meta must be a JSON object", expression="meta")


def stamp(resource: dict[str, Any], resource_id: str, version_id: int,
          last_updated: datetime) -> tuple[dict[str, Any], bytes]:
    """The stored resource and its JSON: the client's resource with id and server meta set (client meta
    elements kept)."""
    meta = {k: v for k, v in (resource.get("meta") or {}).items() if k not in SERVER_META}
    out: dict[str, Any] = {"resourceType": resource["resourceType"], "id": resource_id,
                           "meta": {"versionId": str(version_id), "lastUpdated": instant(last_updated), **meta}}
    for key, value in resource.items():
        if key not in out:
            out[key] = value
    try:
        return out, orjson.dumps(out)
    except orjson.JSONEncodeError as exc:
        raise InvalidRequest(f"The resource cannot be stored as JSON: {exc}") from None


def comparable_content(resource: dict[str, Any]) -> dict[str, Any]:
    """The resource without id and server meta: what a no-op update leaves the same."""
    out = {k: v for k, v in resource.items() if k not in ("meta", "id")}
    meta = {k: v for k, v in (resource.get("meta") or {}).items() if k not in SERVER_META}
    if meta:
        out["meta"] = meta
    return out


def same_content(stored_body: bytes, resource: dict[str, Any]) -> bool:
    """Whether a write would change nothing but meta.versionId/lastUpdated (a no-op update, as HAPI does)."""
    # Compared as canonical JSON (sorted keys), so true vs 1 or 1 vs 1.0 still count as changes.
    canonical = orjson.OPT_SORT_KEYS
    return orjson.dumps(comparable_content(orjson.loads(stored_body)), option=canonical) == \
        orjson.dumps(comparable_content(resource), option=canonical)


def content_key(resource: dict[str, Any]) -> bytes:
    """Canonical JSON of ``comparable_content``: equal keys mean ``same_content`` holds."""
    return orjson.dumps(comparable_content(resource), option=orjson.OPT_SORT_KEYS)


def key_digest(key: bytes) -> bytes:
    """A short digest of a content key: what crosses process boundaries and is remembered, instead of the
    canonical JSON itself (as large as the body)."""
    return hashlib.blake2b(key, digest_size=16).digest()
