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
