"""Conditional create's guard: a unique row per resource type and normalised criteria, written in the creating
transaction (HAPI's HFJ_RES_SEARCH_URL), https://hl7.org/fhir/R4/http.html#ccreate.

Find-then-create alone lets two racing creates both find nothing and both create (PostgreSQL at READ COMMITTED;
SQLite's write transactions are serialised already). So before creating, the writer claims the criteria: the
insert of the claim waits for a concurrent uncommitted claim of the same criteria and then finds it taken. The
loser searches again (a new statement sees the winner's commit) and answers with the winner's resource.

A claim outlives its need: once the creating transaction has committed, the resource itself is found by the
search. A later create of the same criteria whose search finds nothing (the resource was deleted or changed)
takes the claim over, only from the holder it saw, so two such creates still cannot both succeed.
"""
from __future__ import annotations

import hashlib
from urllib.parse import urlencode

import sqlalchemy as sa

from .schema import conditional_claim
from .versioning import now_ms

_c = conditional_claim.c


def normalise(criteria: dict[str, list[str]]) -> str:
    """The criteria as one canonical query string: parameters sorted by name, each one's values sorted."""
    return urlencode(sorted((name, value) for name, values in criteria.items() for value in values))


class Claims:
    """The claim statements, built once per repository."""

    def __init__(self, postgres: bool) -> None:
        from sqlalchemy.dialects import postgresql, sqlite

        insert = postgresql.insert if postgres else sqlite.insert
        self.insert = (insert(conditional_claim).values(
            resource_type=sa.bindparam("rt"), criteria_hash=sa.bindparam("h"), criteria=sa.bindparam("text"),
            resource_id=sa.bindparam("rid"), claimed_at=sa.bindparam("ts"))
            .on_conflict_do_nothing(index_elements=["resource_type", "criteria_hash"]).returning(_c.resource_id))
        self.holder = sa.select(_c.resource_id).where(_c.resource_type == sa.bindparam("rt"),
                                                      _c.criteria_hash == sa.bindparam("h"))
        self.take_over = conditional_claim.update().where(
            _c.resource_type == sa.bindparam("rt"), _c.criteria_hash == sa.bindparam("h"),
            _c.resource_id == sa.bindparam("old")).values(resource_id=sa.bindparam("rid"),
                                                          claimed_at=sa.bindparam("ts"))

    def claim(self, conn: sa.Connection, resource_type: str, criteria: dict[str, list[str]], resource_id: str,
              replacing: str | None) -> str | None:
        """Claim the criteria for ``resource_id``: None when claimed, else the id of the claim's holder.

        ``replacing``: the holder a previous attempt returned, whose resource the search no longer finds; the
        claim is taken over only if that one still holds it."""
        text = normalise(criteria)
        params = {"rt": resource_type, "h": hashlib.sha256(text.encode()).hexdigest(), "text": text,
                  "rid": resource_id, "ts": now_ms()}
        if replacing is not None and conn.execute(self.take_over, {**params, "old": replacing}).rowcount == 1:
            return None
        if conn.execute(self.insert, params).first() is not None:
            return None
        # "" only if the row vanished between the two statements: the next attempt inserts it again.
        return conn.execute(self.holder, params).scalar() or ""
