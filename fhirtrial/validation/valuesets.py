"""ValueSet expansions shipped with the package, https://hl7.org/fhir/R4/valueset.html#expansion.

Every value set of the R4 definitions that can be expanded without a terminology server (expansion.py), derived
into definitions/valuesets-r4.json by ``python -m fhirtrial.validation.generate`` (a test checks it equals a
fresh derivation); the others are listed with the reason. Searches with ``:in`` / ``:not-in`` read it at run
time, so the server needs nothing from npm.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any

from .expansion import Unexpandable, expand
from .sources import Definitions
from .tables import read_table

VALUESETS_FILE = "valuesets-r4.json"


def valueset_table(defs: Definitions) -> dict[str, Any]:
    """``expansions``: value set URL -> system -> sorted codes; ``unexpandable``: URL -> why not."""
    expansions: dict[str, dict[str, list[str]]] = {}
    unexpandable: dict[str, str] = {}
    for url in sorted(defs.value_sets):
        try:
            expansions[url] = expand(defs, url)
        except Unexpandable as exc:
            unexpandable[url] = str(exc)
    return {"expansions": expansions, "unexpandable": unexpandable}


@lru_cache(maxsize=1)
def _shipped() -> dict[str, Any]:
    return read_table(VALUESETS_FILE)  # type: ignore[no-any-return]


def expansion(url: str) -> dict[str, list[str]]:
    """system -> codes of the value set at ``url`` (``|version`` ignored); raises Unexpandable with the reason."""
    canonical = url.split("|", 1)[0]
    table = _shipped()
    found = table["expansions"].get(canonical)
    if found is not None:
        return found  # type: ignore[no-any-return]
    reason = table["unexpandable"].get(canonical)
    raise Unexpandable(reason or f"value set {canonical} is not in the FHIR R4 definitions")
