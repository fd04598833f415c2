"""Run the independent Node validators (@medplum/core and npm `fhir`) over FHIR R4 resources.

https://hl7.org/fhir/R4/validation.html
"""
from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import orjson

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tests" / "node" / "validate.mjs"


@dataclass(frozen=True)
class NodeVerdict:
    """Errors found by each independent validator for one resource."""

    medplum: list[str]
    fhir: list[str]

    @property
    def ok(self) -> bool:
        return not self.medplum and not self.fhir


def node_available() -> bool:
    return shutil.which("node") is not None and (ROOT / "node_modules" / "@medplum" / "core").is_dir()


def validate_with_node(resources: Iterable[dict[str, Any]]) -> list[NodeVerdict]:
    """Validate many resources in one Node process (start-up costs ~1 s, so batch)."""
    batch = list(resources)
    if not node_available():
        raise RuntimeError("Node.js validators are not installed: run `npm ci` in the project root")
    proc = subprocess.run(
        ["node", str(SCRIPT)], input=orjson.dumps(batch), capture_output=True, cwd=ROOT, timeout=600, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(f"node validator failed: {proc.stderr.decode(errors='replace')[-2000:]}")
    return [NodeVerdict(medplum=v["medplum"], fhir=v["fhir"]) for v in orjson.loads(proc.stdout)]
