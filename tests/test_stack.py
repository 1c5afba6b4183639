"""The installed stack is the one pyproject.toml pins, and it fits pyannote.audio 3.4 (issue 23, item 8)."""

import os
import subprocess
import sys
import tomllib
from importlib.metadata import version
from pathlib import Path

from packaging.requirements import Requirement

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def test_installed_versions_satisfy_the_pins():
    requirements = map(Requirement, tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"])
    wrong = [f"{r.name} {version(r.name)} (pinned {r.specifier})" for r in requirements
             if r.specifier and version(r.name) not in r.specifier]
    assert not wrong, f"reinstall with `pip install -e .`: {wrong}"


def test_from_pretrained_reaches_the_hub_client():
    """Pipeline.from_pretrained("default") (a name of our command line only) asks huggingface.co for a
    model "default": with huggingface_hub 1.0 (unpinned) it failed before that, with a TypeError on the
    use_auth_token argument that pyannote.audio 3.4 passes."""
    code = ("from pyannote.audio import Pipeline\n"
            "try:\n    Pipeline.from_pretrained('default')\n"
            "except TypeError:\n    raise\n"
            "except Exception as error:\n    print(type(error).__name__)\n")
    completed = subprocess.run([sys.executable, "-W", "ignore", "-c", code], capture_output=True, text=True,
                               timeout=300, env=dict(os.environ, HF_HUB_OFFLINE="1"))
    assert completed.returncode == 0, completed.stderr[-2000:]
