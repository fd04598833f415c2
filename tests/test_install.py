"""``pip install .`` (not editable) gives a working server: the wheel carries the mapping tables, the seed study and
every definition, found without the source tree (https://packaging.python.org/en/latest/specifications/binary-distribution-format/).

Offline: the wheel is built with the test environment's setuptools (no build isolation) and installed with
``--no-deps`` into a fresh venv that sees the test environment's dependencies through a ``.pth`` line (appended
after its own site-packages, so the editable install of the checkout is not what runs).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from .support.server import free_port

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None,
         timeout: float = 300) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{args}: {done.stdout[-2000:]}{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh venv with the wheel installed; yields its bin directory."""
    work = tmp_path_factory.mktemp("install")
    source = work / "source"  # a copy: the build writes build/ and *.egg-info, never into the checkout
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(ROOT / "fhirtrial", source / "fhirtrial", ignore=shutil.ignore_patterns("__pycache__"))
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
         "-w", work / "dist", source, cwd=work)
    (wheel,) = (work / "dist").glob("fhirtrial-*.whl")
    venv = work / "venv"
    _run(sys.executable, "-m", "venv", venv, cwd=work)
    bin_dir = venv / ("Scripts" if os.name == "nt" else "bin")
    python = bin_dir / "python"
    _run(python, "-m", "pip", "install", "--no-deps", "--no-index", "-q", wheel, cwd=work)
    site = _run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=work).stdout.strip()
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    Path(site, "test-dependencies.pth").write_text("".join(f"{p}\n" for p in sorted(ours)))
    yield bin_dir


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    return {**env, "FHIRTRIAL_DATA_DIR": str(tmp_path / "data"), "FHIRTRIAL_API_TOKEN": "wheel-token"}


def test_the_installed_package_is_used_and_carries_its_data(installed: Path, tmp_path: Path) -> None:
    probe = ("import fhirtrial, fhirtrial.config as c, fhirtrial.loading as l; "
             "print(fhirtrial.__file__); print(c.get_settings().mappings_dir); print(l.SEED_STUDY)")
    lines = _run(installed / "python", "-c", probe, cwd=tmp_path, env=_env(tmp_path)).stdout.splitlines()
    venv = installed.parent
    assert all(Path(line).is_relative_to(venv) for line in lines), lines  # not the checkout
    assert (Path(lines[1]) / "ctgov-model.yaml").is_file() and Path(lines[2]).is_file()


def test_map_works_from_the_wheel(installed: Path, tmp_path: Path) -> None:
    record = tmp_path / "study.json"
    shutil.copy2(ROOT / "fhirtrial" / "examples" / "NCT01297972.json", record)
    done = _run(installed / "fhirtrial", "map", record, cwd=tmp_path, env=_env(tmp_path))
    assert done.stdout.encode() == (ROOT / "fhirtrial" / "examples" / "NCT01297972.expected.json").read_bytes()


def test_serve_load_examples_from_the_wheel(installed: Path, tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([str(installed / "fhirtrial"), "serve", "--port", str(port), "--load-examples"],
                                cwd=tmp_path, env=_env(tmp_path), stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    base = f"http://127.0.0.1:{port}/fhir"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base}/metadata", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text(errors="replace")[-3000:]
            time.sleep(0.2)
        seed = httpx.get(f"{base}/ResearchStudy/NCT01297972", timeout=10)
        assert seed.status_code == 200 and seed.json()["id"] == "NCT01297972"
        found = httpx.get(f"{base}/ResearchStudy", params={"_summary": "count"}, timeout=30).json()
        assert found["total"] == 301  # the seed study and 300 synthetic ones
        groups = httpx.get(f"{base}/Group", params={"_id": "NCT01297972-eligibility"}, timeout=10).json()
        assert [e["resource"]["id"] for e in groups["entry"]] == ["NCT01297972-eligibility"]
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()
    text = log.read_text(errors="replace")
    assert f"database sqlite:///{tmp_path / 'data' / 'fhirtrial.db'}" in text
    assert (tmp_path / "data" / "fhirtrial.db").is_file() and not list(tmp_path.glob("*.db"))
    assert orjson.loads(seed.content)["resourceType"] == "ResearchStudy"
