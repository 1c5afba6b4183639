"""The README's cheap commands run as written: Quick start diarization, help texts, test command.

Commands are read from README.md itself, so that the README cannot drift from the code.
"""

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pyannote.audio.sample import SAMPLE_FILE
from pyannote.database.util import load_rttm

from pyannote_resnet50.cli import COMMANDS, apply, diarize, main as cli

README = Path(__file__).resolve().parents[1] / "README.md"
TEXT = README.read_text()
BIN = Path(sys.executable).parent  # where pip installed the `pyannote-resnet50` script


def section(title: str) -> str:
    """Text of the README section `## title`, up to the next `## ` heading."""
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## )", TEXT, flags=re.S | re.M)
    assert match, f"README has no '## {title}' section"
    return match.group(1)


def code_lines(text: str) -> list:
    """Lines of the ```bash blocks of `text`, continuation lines joined."""
    blocks = re.findall(r"```bash\n(.*?)```", text, flags=re.S)
    return [line.strip() for block in blocks for line in block.replace("\\\n", " ").splitlines() if line.strip()]


def shell(command: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", OMP_NUM_THREADS="1")
    return subprocess.run(["bash", "-euo", "pipefail", "-c", command], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


def test_quick_start_diarizes_a_recording(tmp_path):
    """`pip install -e .` then the diarize command, verbatim, on pyannote's sample as my.wav."""
    lines = code_lines(section("Quick start"))
    assert "pip install -e ." in lines
    (command,) = [line for line in lines if line.startswith("pyannote-resnet50 diarize")]
    shutil.copy(SAMPLE_FILE["audio"], tmp_path / "my.wav")
    completed = shell(command, tmp_path)
    assert completed.returncode == 0, completed.stderr
    assert set(load_rttm(tmp_path / "out" / "my.rttm")) == {"my"}
    assert (tmp_path / "out" / "my.png").stat().st_size > 0
    # no warnings at start-up or while diarizing (progress bars and the summary only)
    assert "Warning" not in completed.stderr, completed.stderr


def test_help(capsys):
    completed = shell("pyannote-resnet50 --help", Path.cwd())  # the installed entry point
    assert completed.returncode == 0, completed.stderr
    for command in COMMANDS:
        assert command in completed.stdout
    with pytest.raises(SystemExit) as exit_info:
        diarize.parse_args(["--help"])
    assert exit_info.value.code == 0
    assert "--output-dir" in capsys.readouterr().out


def test_test_command_is_one_pytest_command_after_its_install():
    before, marked = TEXT.split("<!-- test-command -->")
    block = marked.split("<!-- /test-command -->")[0]
    lines = [line for line in block.splitlines() if line.strip() and not line.startswith("```")]
    assert len(lines) == 1 and lines[0].startswith("python -m pytest"), lines
    assert 'pip install -e ".[test]"' in before.split("## Quick start")[1]


def test_readme_commands_parse():
    """Every `pyannote-resnet50 <command>` of the README names a command; diarize and apply lines parse."""
    lines = [line for line in code_lines(TEXT) if line.startswith("pyannote-resnet50 ")]
    assert any(line.startswith("pyannote-resnet50 diarize") for line in lines)
    parsers = {"diarize": diarize.parse_args, "apply": apply.parse_args}
    for line in lines:
        # shell expansions ($VAR, ${VAR}, $((...))) stand for a number here (shard index)
        command, *args = shlex.split(re.sub(r"\$(\(\(.*?\)\)|\{\w+\}|\w+)", "1", line), comments=True)[1:]
        if command in ("--version", "--help"):  # options of pyannote-resnet50 itself
            assert not args and cli([command]) == 0, line
            continue
        assert command in COMMANDS, line
        if command in parsers:
            try:
                parsers[command](args)
            except SystemExit as error:  # argparse error
                pytest.fail(f"README line does not parse ({error}): {line}")


def test_database_option_has_one_spelling(capsys):
    """`--database` everywhere; eda's former `--database-yml` is kept as an alias."""
    for command in ("eda", "optimize", "apply"):
        with pytest.raises(SystemExit):
            cli([command, "--help"])
        out = capsys.readouterr().out
        assert re.search(r"--database DATABASE(_YML)?, --database-yml", out), (command, out)


def test_stock_pipeline_snippet_runs_as_written(tmp_path):
    """The README's snippet for our checkpoints in pyannote's stock pipeline, verbatim, in a fresh
    interpreter, from a folder laid out as the repository root (it lacked instantiate: RuntimeError)."""
    from pyannote_resnet50.pipelines.utils import CHECKPOINTS_DIR

    (snippet,) = re.findall(r"<!-- stock-pipeline -->\n```python\n(.*?)```", TEXT, flags=re.S)
    checkpoints = tmp_path / "pyannote_resnet50" / "data" / "checkpoints"
    checkpoints.mkdir(parents=True)
    for name in re.findall(r'"pyannote_resnet50/data/checkpoints/([\w.-]+)"', snippet):
        shutil.copy(CHECKPOINTS_DIR / name, checkpoints / name)
    shutil.copy(SAMPLE_FILE["audio"], tmp_path / "audio.wav")
    script = tmp_path / "code" / "snippet.py"  # not in the working directory: the installed package is used
    script.parent.mkdir()
    script.write_text(snippet + "\nprint(sorted(diarization.labels()))\n")
    completed = subprocess.run([sys.executable, "-W", "ignore", str(script)], cwd=tmp_path, capture_output=True,
                               text=True, timeout=600, env=dict(os.environ, OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1"))
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert completed.stdout.strip().startswith("['SPEAKER_00'"), completed.stdout


def test_tune_section_tunes_the_shipped_pipeline(tmp_path):
    """The `optimize` line of "Tune, apply, score", as written but for 1 trial on AMI Debug (2 x 30 s):
    the shipped checkpoints and settings, and the shipped hyper-parameters as its first trial, so that
    the tuned pipeline is never worse than the shipped one on the tuning subset (it tuned the Mini
    segmentation from pyannote's defaults)."""
    import yaml

    from pyannote_resnet50 import DEFAULT_PIPELINE

    tune = re.search(r"^### Tune, apply, score\n(.*?)(?=^##)", TEXT, flags=re.S | re.M).group(1)
    (line,) = [line for line in code_lines(tune) if line.startswith("pyannote-resnet50 optimize")]
    assert "--segmentation" not in line and "--embedding" not in line  # the defaults are the shipped ones
    line = line.replace("Mini.SpeakerDiarization.Simulated", "AMI.SpeakerDiarization.Debug")
    line = re.sub(r"--trials \d+", "--trials 1", line)
    completed = shell(line, tmp_path)
    assert completed.returncode == 0, completed.stderr[-3000:]

    output_dir = tmp_path / shlex.split(line)[3]
    tuned, shipped = (yaml.safe_load(path.read_text()) for path in (output_dir / "config.yaml", Path(DEFAULT_PIPELINE)))
    assert tuned["params"] == shipped["params"]
    for key, value in shipped["pipeline"]["params"].items():
        if key in ("segmentation", "embedding"):
            copied = (output_dir / tuned["pipeline"]["params"][key]).read_bytes()
            assert copied == (Path(DEFAULT_PIPELINE).parent / value).read_bytes(), key
        else:
            assert tuned["pipeline"]["params"][key] == value, key
