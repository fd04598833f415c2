"""reference (https://hl7.org/fhir/R4/search.html#reference): Type/id, id, absolute URL, :Type, canonicals."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ...search.request import ReferenceValue, UriValue
from .context import bound
from .uri import uri_condition


def reference_condition(cols: Any, v: ReferenceValue | UriValue, modifier: str | None) -> sa.ColumnElement[bool]:
    if isinstance(v, UriValue):  # canonical :below / :above
        return sa.and_(cols.url.is_not(None), uri_condition(cols.url, v, modifier))
    parts = []
    if modifier is not None and modifier[:1].isupper():
        parts.append(cols.target_type == bound(modifier))
    if v.target_id is not None:
        parts.append(cols.target_id == bound(v.target_id))
        if v.target_type is not None:
            parts.append(cols.target_type == bound(v.target_type))
    elif v.url is not None:
        parts.append(cols.url == bound(v.url, sa.Text))
    else:
        parts.append(cols.url.is_(None))
    return sa.and_(*parts)
