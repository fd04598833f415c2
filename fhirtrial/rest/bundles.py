"""Bundles the server answers with: history, searchset, batch/transaction-response.

https://hl7.org/fhir/R4/bundle.html
"""
from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any

import orjson

from ..store.repository import StoredResource


def instant(moment: datetime) -> str:
    """FHIR instant with millisecond precision in UTC."""
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def now_instant() -> str:
    return instant(datetime.now(timezone.utc))


def resource_fragment(stored: StoredResource) -> orjson.Fragment:
    """The stored JSON embedded as is, so bundles need not parse and re-encode every resource."""
    assert stored.body is not None
    return orjson.Fragment(stored.body)


def bundle(kind: str, entries: list[dict[str, Any]], *, links: list[tuple[str, str]] = (),
           total: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"resourceType": "Bundle", "id": str(uuid.uuid4()),
                           "meta": {"lastUpdated": now_instant()}, "type": kind}
    if total is not None:
        out["total"] = total
    if links:
        out["link"] = [{"relation": rel, "url": url} for rel, url in links]
    out["entry"] = entries
    if not entries:
        del out["entry"]
    return out


def history_entry(stored: StoredResource, base: str) -> dict[str, Any]:
    path = f"{stored.resource_type}/{stored.id}"
    entry: dict[str, Any] = {"fullUrl": f"{base}/{path}"}
    if not stored.deleted and stored.body is not None:
        entry["resource"] = resource_fragment(stored)
    method = "DELETE" if stored.deleted else stored.method
    entry["request"] = {"method": method, "url": stored.resource_type if method == "POST" else path}
    status = "204 No Content" if stored.deleted else ("201 Created" if stored.version_id == 1 else "200 OK")
    entry["response"] = {"status": status, "etag": stored.etag, "lastModified": instant(stored.last_updated)}
    return entry


def search_entry(stored: StoredResource, base: str, mode: str = "match") -> dict[str, Any]:
    return {"fullUrl": f"{base}/{stored.resource_type}/{stored.id}", "resource": resource_fragment(stored),
            "search": {"mode": mode}}
