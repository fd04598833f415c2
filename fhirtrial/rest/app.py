"""The ASGI application: FastAPI app factory, https://hl7.org/fhir/R4/http.html."""
from __future__ import annotations

import importlib
import logging
import pkgutil
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator

from fastapi import APIRouter, FastAPI
from fastapi_offline import FastAPIOffline
from starlette.middleware.cors import CORSMiddleware

from .. import __version__
from ..config import Settings, get_settings
from ..export.jobs import start_export_runner, stop_export_runner
from ..store.repository import Repository
from . import edge, openapi
from .capability import operation_hooks
from .fastpath import ReadFastPath
from .head import HeadAsGet
from .request_log import RequestLog
from .routes import definitions, history, instance, search, system, type_level, unknown_operation

log = logging.getLogger(__name__)


def _open_default_repository(settings: Settings) -> Repository:
    from ..store.sql import open_repository

    return open_repository(settings.database_url)


def operation_routers() -> list[APIRouter]:
    """Every module in rest/operations/ that defines ``router`` (one operation per file)."""
    from . import operations

    found = []
    for info in sorted(pkgutil.iter_modules(operations.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{operations.__name__}.{info.name}")
        if isinstance(getattr(module, "router", None), APIRouter):
            found.append(module.router)
    return found


def create_app(settings: Settings | None = None, repo: Repository | None = None) -> FastAPI:
    """Build the app; the repository is opened at start-up unless one is given (tests, embedding)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = app.state.repo is None
        if owned:
            app.state.repo = _open_default_repository(settings)
        _warn_if_indexes_set_aside(app.state.repo)
        # Bulk export jobs interrupted by a restart are picked up again at boot, not at the first poll.
        start_export_runner(app)
        try:
            yield
        finally:
            stop_export_runner(app)
            if owned:
                app.state.repo.close()
                app.state.repo = None

    # Swagger UI from the package's own files (fastapi-offline), never a CDN: /docs works without a network.
    app = FastAPIOffline(title="fhirtrial", version=__version__, lifespan=lifespan, docs_url="/docs",
                         redoc_url=None, static_url="/docs-assets")
    app.state.settings = settings
    app.state.repo = repo
    app.state.capability_hooks: dict[str, Any] = {**search.capability_hooks()}
    edge.install(app)
    app.add_middleware(HeadAsGet)
    app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["*"], allow_headers=["*"],
                       expose_headers=["ETag", "Location", "Content-Location", "Last-Modified"])
    prefix = settings.base_path.rstrip("/")
    # Operations ($validate, $everything, $export, ...) first: their paths would otherwise match /{type}/{id}.
    for router in operation_routers():
        app.include_router(router, prefix=prefix)
    # Any other $operation: a 404 naming it (or 405 for a known one), before /{type}/{id} takes it for an id.
    app.include_router(unknown_operation.router, prefix=prefix)
    # Definitional types (read and search only) before the generic routes; search before type_level: POST
    # /_search must not be taken for a create of type "_search".
    for module in (definitions, system, history, search, type_level, instance):
        app.include_router(module.router, prefix=prefix)
    if prefix:  # the pages live at the root; a FHIR API mounted there leaves them out
        from ..web import install as install_pages  # the pages are a client of this app, mounted beside it

        install_pages(app)
    openapi.install(app)
    app.state.capability_hooks.update(operation_hooks((path for path, _ in openapi.routes_of(app)), prefix))
    return app


def _warn_if_indexes_set_aside(repo: Any) -> None:
    """A bulk import still running, or killed, has search indexes set aside (store/deferred.py): say so."""
    engine = getattr(repo, "engine", None)
    if engine is None:
        return
    from ..store import deferred

    with engine.connect() as conn:
        names = deferred.pending(conn)
    if names:
        log.warning("%d search indexes are set aside by a bulk import (%s): searches are slower until it ends, "
                    "or, if it was killed, until `fhirtrial import` runs again or `fhirtrial reindex` builds them",
                    len(names), ", ".join(names))


def asgi() -> Any:
    """What ``fhirtrial serve`` runs: the app behind the read fast path, outermost so plain reads skip the
    framework entirely (the in-process ``create_app`` app gives the same answers, only more slowly), inside the
    request log when it is on."""
    app = create_app()
    fast = ReadFastPath(app, owner=app, prefix=app.state.settings.base_path)
    return RequestLog(fast) if app.state.settings.request_log else fast
