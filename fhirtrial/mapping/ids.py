"""Deterministic resource ids and Bundle fullUrls, https://hl7.org/fhir/R4/bundle.html#bundle-unique."""
from __future__ import annotations

import hashlib
import uuid

import orjson

from ..canonical import CANONICAL_BASE

# urn:uuid fullUrls are derived from "Type/id" so the same resource gets the same fullUrl in every Bundle.
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, CANONICAL_BASE)
_NS_BYTES = _NAMESPACE.bytes


def content_id(prefix: str, content: dict) -> str:
    """An id from the resource's own content, so identical sponsors/sites/people in many studies are one resource."""
    digest = hashlib.sha256(orjson.dumps(content, option=orjson.OPT_SORT_KEYS)).hexdigest()
    return f"{prefix}-{digest[:32]}"


def full_url(rtype: str, rid: str) -> str:
    """RFC 4122 UUIDv5 of "Type/id" (same value as uuid.uuid5, computed without building UUID objects)."""
    digest = bytearray(hashlib.sha1(_NS_BYTES + f"{rtype}/{rid}".encode()).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50
    digest[8] = (digest[8] & 0x3F) | 0x80
    h = digest.hex()
    return f"urn:uuid:{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
