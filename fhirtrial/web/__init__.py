"""The trial finder for people, served beside the FHIR API by the same process: server-rendered pages built on
the server's own search and operations (https://hl7.org/fhir/R4/http.html). Nothing is loaded from elsewhere.
"""
from __future__ import annotations

import threading
from importlib.resources import files

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from .. import places
from .pages import router

ASSETS = "/assets"


def install(app: FastAPI) -> None:
    """Mount the pages at ``/`` and their CSS and JavaScript at ``/assets``."""
    app.include_router(router)
    app.mount(ASSETS, StaticFiles(directory=str(files("fhirtrial.web") / "static")), name="assets")
    # The ZIP table takes about a second to load: do it now, not in the first search by place.
    threading.Thread(target=places.warm, name="zip-table", daemon=True).start()


__all__ = ["ASSETS", "install"]
