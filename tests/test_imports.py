"""Commands import only what they use: reading the store must not load spaCy, trafilatura or pydantic.

Each command runs in a fresh interpreter (imports are per process), and the test reads
`sys.modules` there after the command has run.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml

# pydantic comes in with spaCy (thinc and confection build on it); the config itself no longer needs it.
HEAVY = ("pydantic", "spacy", "trafilatura")

PROBE = """
import json, sys
from pipeline.cli import main
code = main(sys.argv[1:])
print(json.dumps({"code": code, "loaded": sorted(name for name in %r if name in sys.modules)}))
"""


def run_command(*argv: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE % (HEAVY,), *argv], capture_output=True, text=True, timeout=120, check=True
    )
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.fixture
def config(tmp_path) -> str:
    path = tmp_path / "wirewatch.yaml"
    path.write_text(yaml.safe_dump({"store": {"path": str(tmp_path / "w.db")}}), encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(
    "argv",
    [
        ("search", "summit (talks OR nuclear)"),
        ("statements", "--speaker", "Kim Yo Jong"),
        ("feeds",),
        ("alerts",),
    ],
)
def test_reading_commands_start_without_spacy_trafilatura_or_pydantic(argv, config) -> None:
    assert run_command(*argv, "--config", config, "--json") == {"code": 0, "loaded": []}


def test_the_probe_does_see_heavy_imports(config, tmp_path) -> None:
    """The same probe on `analyze`, which needs spaCy: proof the check above can fail."""
    text = tmp_path / "a.txt"
    text.write_text("Kim Yo Jong said no.", encoding="utf-8")
    assert run_command("analyze", str(text), "--json") == {"code": 0, "loaded": ["pydantic", "spacy"]}
