"""npm `fhir`'s XML <-> JSON converter as an independent check of ours, https://hl7.org/fhir/R4/xml.html.

Batches many documents per Node call (start-up costs about a second).
"""
from __future__ import annotations

import subprocess
from typing import Any, Iterable

import orjson

from .validators import ROOT, node_available

SCRIPT = ROOT / "tests" / "node" / "xml.mjs"


def _run(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if not node_available():
        raise RuntimeError("Node.js packages are not installed: run `npm ci` in the project root")
    proc = subprocess.run(["node", str(SCRIPT)], input=orjson.dumps(items), capture_output=True, cwd=ROOT,
                          timeout=600, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"node xml converter failed: {proc.stderr.decode(errors='replace')[-2000:]}")
    out = orjson.loads(proc.stdout)
    for item in out:
        if "error" in item:
            raise RuntimeError(f"npm fhir could not convert a document: {item['error'][:2000]}")
    return out


def node_xml_to_json(documents: Iterable[bytes | str]) -> list[dict[str, Any]]:
    """npm fhir ``xmlToObj`` over each XML document."""
    items = [{"xml": d.decode() if isinstance(d, bytes) else d} for d in documents]
    return [r["json"] for r in _run(items)]


def node_json_to_xml(resources: Iterable[dict[str, Any]]) -> list[bytes]:
    """npm fhir ``objToXml`` over each JSON resource."""
    return [r["xml"].encode() for r in _run([{"json": r} for r in resources])]


def normalise_node_json(value: Any, reference: Any) -> Any:
    """npm fhir's xmlToObj quirks, undone against the JSON we expect: it gives decimals as JSON strings
    (``"1.25"``) where FHIR JSON has numbers, and drops the trailing nulls of a primitive list's ``_name``
    extension array. Nothing else is forgiven."""
    if isinstance(value, dict) and isinstance(reference, dict):
        return {k: normalise_node_json(v, reference.get(k)) for k, v in value.items()}
    if isinstance(value, list) and isinstance(reference, list):
        if len(value) < len(reference) and all(r is None for r in reference[len(value):]):
            value = value + [None] * (len(reference) - len(value))
        return [normalise_node_json(v, reference[i] if i < len(reference) else None) for i, v in enumerate(value)]
    if isinstance(value, str) and isinstance(reference, (int, float)) and not isinstance(reference, bool):
        try:
            number = float(value)
        except ValueError:
            return value
        return reference if number == reference else value
    return value
