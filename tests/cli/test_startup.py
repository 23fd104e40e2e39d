"""The command line starts at once: help, `models` and usage errors import no heavy library.

Each case runs in a fresh interpreter (the test process has imported everything already) and
reports which heavy modules were loaded. How long start-up takes is measured by
``benchmarks/startup.py``, not here: times on a shared machine make flaky asserts.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

#: Libraries that cost from a tenth of a second to seconds to import; none is needed before a command runs.
HEAVY = ("torch", "sklearn", "scipy", "pandas", "captum", "pysam", "matplotlib")

_PROBE = """
import json, sys
from attentivechrome.cli.main import main
code = 0
try:
    main(json.loads(sys.argv[1]))
except SystemExit as stop:
    code = stop.code
sys.stdout.flush()
heavy = sorted(name for name in json.loads(sys.argv[2]) if name in sys.modules)
with open(sys.argv[3], "w") as report:
    json.dump({"code": code, "heavy": heavy}, report)
"""


def start(tmp_path, *argv: str) -> tuple[subprocess.CompletedProcess, dict]:
    """Run ``main(argv)`` in a new interpreter; return the process and {code, heavy modules}."""
    report = tmp_path / "report.json"
    process = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(list(argv)), json.dumps(HEAVY), str(report)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert report.exists(), f"the probe did not finish (exit {process.returncode}):\n{process.stderr}"
    return process, json.loads(report.read_text())


@pytest.mark.parametrize(
    "argv, code",
    [(["--help"], 0), (["train", "--help"], 0), ([], 2)],  # no arguments: the help, and exit 2 as click does
    ids=["help", "train-help", "no-arguments"],
)
def test_help_imports_no_heavy_library(tmp_path, argv, code):
    process, report = start(tmp_path, *argv)
    assert (report["code"] or 0) == code, process.stderr
    assert "train" in process.stdout, process.stdout
    assert report["heavy"] == [], f"`attentivechrome {' '.join(argv)}` imported {report['heavy']}"


@pytest.mark.parametrize(
    "argv",
    [["train"], ["no-such-command"], ["train", "data", "--out", "run", "--no-such-option"]],
    ids=["missing-argument", "unknown-command", "unknown-option"],
)
def test_usage_error_is_one_line_and_imports_no_heavy_library(tmp_path, argv):
    process, report = start(tmp_path, *argv)
    assert report["code"] == 2
    lines = process.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("attentivechrome: error: "), process.stderr
    assert process.stdout == ""
    assert report["heavy"] == [], f"`attentivechrome {' '.join(argv)}` imported {report['heavy']}"


def test_models_lists_names_without_torch(tmp_path):
    process, report = start(tmp_path, "models")
    assert report["code"] in (0, None), process.stderr
    names = [line.split()[0] for line in process.stdout.splitlines() if line.strip()]
    assert {"attentivechrome", "deepchrome", "gbt"} <= set(names), process.stdout
    assert report["heavy"] == [], f"`attentivechrome models` imported {report['heavy']}"


def test_importing_the_package_is_light(tmp_path):
    """`import attentivechrome` loads its public names on first use only."""
    code = (
        "import json, sys, attentivechrome as ac; "
        "names = sorted(n for n in json.loads(sys.argv[1]) if n in sys.modules); "
        "print(json.dumps({'heavy': names, 'all': sorted(ac.__all__) == sorted(dir(ac))}))"
    )
    process = subprocess.run([sys.executable, "-c", code, json.dumps(HEAVY)], capture_output=True, text=True, timeout=120)
    assert process.returncode == 0, process.stderr
    result = json.loads(process.stdout)
    assert result == {"heavy": [], "all": True}


def test_public_names_resolve():
    import attentivechrome

    missing = [name for name in attentivechrome.__all__ if not hasattr(attentivechrome, name)]
    assert not missing, f"attentivechrome.__all__ names that cannot be imported: {missing}"
    assert "TrainResult" not in attentivechrome.__all__ and not hasattr(attentivechrome, "TrainResult")  # 0.1's name for TrainedModel, removed
    with pytest.raises(AttributeError):
        attentivechrome.no_such_name  # noqa: B018
