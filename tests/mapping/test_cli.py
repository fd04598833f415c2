"""``fhirtrial map FILE``: the Bundle on stdout, clear errors on stderr with exit code 1."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from .conftest import EXAMPLES, ROOT

CLI = [sys.executable, "-m", "fhirtrial.cli.main", "map"]


def run(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(CLI + list(args), input=stdin, capture_output=True, cwd=ROOT, timeout=60, check=False)


def test_map_file_prints_expected_bundle() -> None:
    proc = run(str(EXAMPLES / "NCT01297972.json"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == (EXAMPLES / "NCT01297972.expected.json").read_bytes()


def test_map_stdin() -> None:
    proc = run("-", stdin=(EXAMPLES / "NCT01297972.json").read_bytes())
    assert proc.returncode == 0 and proc.stdout == (EXAMPLES / "NCT01297972.expected.json").read_bytes()


def test_errors_are_messages_not_tracebacks(tmp_path: Path) -> None:
    cases = [(b"not json", "not JSON"), (b"[]", "(root)"),
             (b'{"protocolSection": {"identificationModule": {"nctId": "NCT00000001", "briefTitle": 1}}}',
              "study NCT00000001: field protocolSection.identificationModule.briefTitle")]
    for body, message in cases:
        proc = run("-", stdin=body)
        err = proc.stderr.decode()
        assert proc.returncode == 1 and message in err and "Traceback" not in err and proc.stdout == b""
    proc = run(str(tmp_path / "missing.json"))
    assert proc.returncode == 1 and "cannot read" in proc.stderr.decode()


def test_warnings_go_to_stderr() -> None:
    proc = run("-", stdin=b'{"protocolSection": {"identificationModule": {"nctId": "NCT00000001"}, '
                          b'"statusModule": {"overallStatus": "PAUSED"}}}')
    assert proc.returncode == 0 and b"warning: NCT00000001" in proc.stderr
