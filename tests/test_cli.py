"""The command line starts at once and its stderr is warning-free (issue 23, items 5 and 6).

Start-up times are measured by ``recipes/benchmarks/startup.py``; here, that ``--help`` and
``--version`` import no torch (which is what took 8 s).
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pyannote_resnet50.cli import COMMANDS

BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "pyannote.audio", "pyannote.database", "lightning", "matplotlib")


def imports_of(argv) -> list:
    """Heavy modules imported by `pyannote-resnet50 ARGV`, run in a fresh interpreter"""
    code = ("import sys\nfrom pyannote_resnet50.cli import main\ntry:\n    main(sys.argv[1:])\n"
            "except SystemExit:\n    pass\n"
            f"print(sorted(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)")
    completed = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
    return eval(completed.stderr.strip().splitlines()[-1])


@pytest.mark.parametrize("argv", [["--help"], ["--version"], *[[name, "--help"] for name in COMMANDS]])
def test_help_imports_no_torch(argv):
    assert imports_of(argv) == []


def test_import_is_light():
    code = f"import sys, pyannote_resnet50; print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert completed.stdout.strip() == "[]", completed.stderr


def test_version():
    from importlib.metadata import version

    import pyannote_resnet50

    completed = subprocess.run([str(BIN / "pyannote-resnet50"), "--version"], capture_output=True, text=True,
                               timeout=60)
    assert completed.returncode == 0
    assert completed.stdout.startswith(f"pyannote-resnet50 {pyannote_resnet50.__version__} (pyannote.audio 3.4.0, ")
    assert pyannote_resnet50.__version__ == version("pyannote_resnet50")


# ~~~~ warnings ~~~~


def shell(command, cwd: Path) -> subprocess.CompletedProcess:
    """`command` as a user runs it: installed entry points, run.sh's PYANNOTE_DATABASE_CONFIG, default warnings"""
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", OMP_NUM_THREADS="1",
               PYANNOTE_DATABASE_CONFIG=str(REPO / "database.yml"))
    env.pop("PYTHONWARNINGS", None)
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def warnings_in(stderr: str) -> list:
    return [line for line in stderr.replace("\r", "\n").splitlines() if re.search(r"warn", line, flags=re.I)]


def test_stderr_is_warning_free(tmp_path):
    """diarize (wav and mp3), optimize and apply, with PYANNOTE_DATABASE_CONFIG set: no warning at all.

    They printed 6 "Replacing existing ... protocol" warnings at start-up, torchaudio's MPEG_LAYER_III
    warning across the progress bar, and optuna's suggest_uniform deprecation in the trials bar."""
    import soundfile as sf
    from pyannote.audio.sample import SAMPLE_FILE

    shutil.copy(SAMPLE_FILE["audio"], tmp_path / "my.wav")
    waveform, sample_rate = sf.read(SAMPLE_FILE["audio"])
    sf.write(tmp_path / "talk.mp3", waveform, sample_rate, format="MP3")
    diarize = shell(["pyannote-resnet50", "diarize", "my.wav", "talk.mp3", "--output-dir", "out", "--plot"], tmp_path)
    assert diarize.returncode == 0, diarize.stderr
    assert warnings_in(diarize.stderr) == []

    optimize = shell(["pyannote-resnet50", "optimize", "AMI.SpeakerDiarization.Debug", "exp", "--trials", "2",
                      "--cache"], tmp_path)
    assert optimize.returncode == 0, optimize.stderr
    assert warnings_in(optimize.stderr) == []

    apply = shell(["pyannote-resnet50", "apply", "exp/config.yaml", "AMI.SpeakerDiarization.Debug", "--subset",
                   "development", "--output", "hyp.rttm"], tmp_path)
    assert apply.returncode == 0, apply.stderr
    assert warnings_in(apply.stderr) == []
