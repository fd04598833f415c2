"""One log line per HTTP request -- method, path, status, milliseconds -- around everything the server answers,
fast path included (https://hl7.org/fhir/R4/http.html). Turned off with FHIRTRIAL_REQUEST_LOG=false or
``fhirtrial serve --no-request-log``.

The query string is left out: search parameters may carry identifiers of patients.
"""
from __future__ import annotations

import logging
import time
from typing import Any

log = logging.getLogger("fhirtrial.requests")


class RequestLog:
    """Pure ASGI middleware: it sees the status in ``http.response.start`` and logs once the app has returned."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 0  # stays 0 when the app fails before answering (the server then sends a 500)

        async def sending(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            took = (time.perf_counter() - started) * 1000
            log.info("%s %s %s %.1f ms", scope["method"], scope.get("root_path", "") + scope["path"],
                     status or 500, took)


def logging_config(request_log: bool) -> dict[str, Any]:
    """uvicorn's ``log_config`` (applied in every worker process): fhirtrial's messages and, when on, the
    request lines on stderr; uvicorn's own only from warnings up."""
    return {
        "version": 1, "disable_existing_loggers": False,
        "formatters": {
            "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
            "request": {"format": "%(asctime)s %(message)s"},
        },
        "handlers": {
            "stderr": {"class": "logging.StreamHandler", "formatter": "plain", "stream": "ext://sys.stderr"},
            "requests": {"class": "logging.StreamHandler", "formatter": "request", "stream": "ext://sys.stderr"},
        },
        "loggers": {
            "fhirtrial": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
            "fhirtrial.requests": {"handlers": ["requests"], "level": "INFO" if request_log else "WARNING",
                                   "propagate": False},
            "uvicorn": {"handlers": ["stderr"], "level": "WARNING", "propagate": False},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        },
    }
