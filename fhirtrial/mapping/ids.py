"""Deterministic resource ids and Bundle fullUrls, https://hl7.org/fhir/R4/bundle.html#bundle-unique."""
from __future__ import annotations

import hashlib
import uuid
from functools import lru_cache

import orjson

from ..canonical import CANONICAL_BASE

# urn:uuid fullUrls are derived from "Type/id" so the same resource gets the same fullUrl in every Bundle.
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, CANONICAL_BASE)


def content_id(prefix: str, content: dict) -> str:
    """An id from the resource's own content, so identical sponsors/sites/people in many studies are one resource."""
    digest = hashlib.sha256(orjson.dumps(content, option=orjson.OPT_SORT_KEYS)).hexdigest()
    return f"{prefix}-{digest[:32]}"


@lru_cache(maxsize=1 << 16)  # shared sites/sponsors recur across studies; uuid5 is the Bundle's main cost
def full_url(rtype: str, rid: str) -> str:
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, f'{rtype}/{rid}')}"
