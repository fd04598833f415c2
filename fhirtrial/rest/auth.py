"""Bearer-token protection of writes, https://hl7.org/fhir/R4/security.html#http."""
from __future__ import annotations

import hmac

from starlette.requests import Request

from ..config import Settings
from ..errors import Forbidden, Unauthorized


def require_writer(request: Request, settings: Settings) -> None:
    """Writes need ``Authorization: Bearer <FHIRTRIAL_API_TOKEN>``; no token configured means read-only."""
    token = settings.api_token
    if not token:
        if settings.allow_anonymous_writes:
            return
        raise Forbidden("This server is read-only: no API token is configured (FHIRTRIAL_API_TOKEN)")
    header = request.headers.get("authorization", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer" or not given:
        raise Unauthorized("Writes need 'Authorization: Bearer <token>'")
    if not hmac.compare_digest(given.strip().encode(), token.encode()):
        raise Unauthorized("The bearer token is not valid")
