"""Jinja2 templates shipped in the package, autoescaped (every piece of record text is escaped), and the page
response (https://jinja.palletsprojects.com/en/stable/api/#autoescaping)."""
from __future__ import annotations

from functools import lru_cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from .client import query_string


def _km(value: float | None, unit: str = "mi") -> str:
    if value is None:
        return ""
    miles = value / 1.609344
    return f"{miles:.1f} mi ({value:.1f} km)" if unit == "mi" else f"{value:.1f} km ({miles:.1f} mi)"


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(loader=PackageLoader("fhirtrial.web", "templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["distance"] = _km
    env.globals["query"] = query_string
    return env


def page(request: Request, name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    fhir_path = request.app.state.settings.base_path.rstrip("/")
    html = environment().get_template(name).render({"request_path": request.url.path, "fhir_path": fhir_path,
                                                    **context})
    # The pages load nothing from elsewhere: a strict policy makes that a rule the browser enforces, and
    # stops any script that record text might smuggle in (none can: everything is escaped).
    headers = {"Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' "
                                          "data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
               "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"}
    return HTMLResponse(html, status_code=status, headers=headers)


__all__ = ["environment", "page"]
