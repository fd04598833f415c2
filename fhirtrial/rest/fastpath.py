"""A pure-ASGI fast path for the hottest interaction, plain read by id, https://hl7.org/fhir/R4/http.html#read.

Reads are most of an EHR's traffic; going through the framework's routing and threadpool costs ten times the
store's own read. Anything but a plain ``GET [base]/Type/id`` (query, conditional headers, CORS, errors) falls
through to the full route, which gives the same answer more slowly. Answers are kept in a ReadCache until the
database's next commit: on this path the SELECT, not the framework, was the largest cost. Each request asks the
database's committed state first (store/freshness.py; on PostgreSQL one query shared by every request that
arrived while the previous one was in flight), so an answer is never older than the request.

SQLite reads run on the event loop (a WAL read never waits for a writer, and costs microseconds: less than a
thread hop); a PostgreSQL read is a network round trip that can wait on locks, so it runs in the thread pool and
the loop keeps serving other requests meanwhile.

Patient data (rest/auth.py) is served here only to a request whose credentials may read it; any other falls
through, and the full route answers 401.
"""
from __future__ import annotations

import re
from typing import Any

from starlette.concurrency import run_in_threadpool

from ..errors import FhirError
from ..resources import RESOURCE_TYPE_SET
from ..search.compartment import patient_compartment
from ..store.freshness import Freshness
from ..store.read_cache import ReadCache
from .answer_cache import open_read_cache
from .auth import access
from .negotiation import CONTENT_TYPE, accepts_json
from .responses import http_date

_FALL_THROUGH_HEADERS = frozenset({b"origin", b"if-none-match", b"if-modified-since"})
_CONTENT_TYPE = (b"content-type", CONTENT_TYPE.encode())
Answer = tuple[list[tuple[bytes, bytes]], bytes, bool]  # response headers, body, whether it is patient data


class ReadFastPath:
    def __init__(self, app: Any, owner: Any, prefix: str) -> None:
        self.app = app
        self.owner = owner
        self.pattern = re.compile(re.escape(prefix.rstrip("/")) + r"/([A-Za-z]+)/([A-Za-z0-9\-.]{1,64})")
        self._cache: ReadCache[Answer] = ReadCache(0)
        self._freshness: Freshness | None = None
        self._cache_repo: Any = None  # the repository the cache belongs to (a restart opens a new one)
        self._inline_repo: Any = None  # that repository when its reads may run on the loop (SQLite)

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and not scope["query_string"]:
            match = self.pattern.fullmatch(scope["path"])
            if match and match.group(1) in RESOURCE_TYPE_SET and await self._serve(scope, send, *match.groups()):
                return
        await self.app(scope, receive, send)

    async def _serve(self, scope: dict, send: Any, resource_type: str, resource_id: str) -> bool:
        authorization = None
        for name, value in scope["headers"]:
            if name in _FALL_THROUGH_HEADERS or (name == b"accept" and not accepts_json(value.decode("latin-1"))):
                return False
            if name == b"authorization":
                authorization = value.decode("latin-1")
        compartment = patient_compartment()
        granted = resource_type not in compartment.types or access(authorization,
                                                                   self.owner.state.settings).patient_data
        if not granted and resource_type in compartment.patient_types:
            return False
        repo = self.owner.state.repo
        if repo is None:
            return False
        cache = self._cache_for(repo)
        key = (resource_type, resource_id)
        version = await self._freshness.version() if self._freshness is not None else None
        answer = cache.get(key, version)
        if answer is None:
            try:
                if self._inline_repo is repo:
                    stored = repo.read(resource_type, resource_id)
                else:
                    stored = await run_in_threadpool(repo.read, resource_type, resource_id)
            except FhirError:
                return False
            answer = ([_CONTENT_TYPE, (b"etag", stored.etag.encode()),
                       (b"last-modified", http_date(stored.last_updated).encode()),
                       (b"content-length", str(len(stored.body)).encode())], stored.body,
                      compartment.holds_json(resource_type, stored.body))
            cache.put(key, answer, len(stored.body) + 200, version)
        if answer[2] and not granted:
            return False
        await send({"type": "http.response.start", "status": 200, "headers": answer[0]})
        await send({"type": "http.response.body", "body": answer[1]})
        return True

    def _cache_for(self, repo: Any) -> ReadCache[Answer]:
        if repo is not self._cache_repo:
            self._freshness, self._cache = open_read_cache(repo, getattr(self.owner.state, "settings", None))
            self._cache_repo = repo
            self._inline_repo = repo if getattr(repo, "dialect", None) == "sqlite" else None
        return self._cache
