"""``pyannote-resnet50`` command line: one entry point, one module per sub-command.

Each sub-command lives in ``pyannote_resnet50/cli/<name>.py`` and exposes
``main(argv: list[str] | None = None) -> int | None``. Command modules import torch,
pyannote.audio and pyannote.database only once their arguments are parsed, so that
``--help`` and ``--version`` answer at once (``recipes/benchmarks/startup.py`` measures it),
and after :func:`filter_known_warnings` has run (pyannote.database warns at import).
"""

import importlib
import sys
import warnings

COMMANDS = {
    "mini": "build the embedded Mini corpus (simulated conversations of real LibriSpeech speakers)",
    "simulate": "simulate VoxConverse-like recordings from single-speaker utterances",
    "eda": "exploratory data analysis of a protocol (from its RTTMs alone)",
    "optimize": "tune the diarization pipeline hyperparameters on a development subset",
    "apply": "apply a diarization pipeline to a protocol subset and write RTTM",
    "diarize": "diarize your own audio files or folders: one RTTM (and PNG) per file",
}

#: (category, message regex) of dependency warnings that tell a user of the command line
#: nothing actionable: torchaudio 2.8's deprecation notices, raised on every file that
#: pyannote.audio 3.4 (pinned to torchaudio < 2.9) reads, and its notice on mp3 files
#: (whose bits_per_sample nothing here reads); pyannote.database's notice when our
#: database.yml is loaded on top of the package one that it requires; optuna's notices on
#: the calls pyannote.pipeline 3.0 makes.
KNOWN_WARNINGS = [
    (UserWarning, r"torchaudio\._backend\.(list_audio_backends|utils\.info|common\.AudioMetaData) "
                  r"has been deprecated"),
    (UserWarning, r"In 2\.9, this function's implementation will be changed to use "
                  r"torchaudio\.load_with_torchcodec"),
    (UserWarning, r"The MPEG_LAYER_III subtype is unknown to TorchAudio"),
    (UserWarning, r"Replacing existing \S+ protocol by the one defined in"),
    (FutureWarning, r"suggest_\w+ has been deprecated in v3\.0\.0"),
]


def filter_known_warnings() -> None:
    """Silence :data:`KNOWN_WARNINGS` (and only them) in this process, and print the others
    as one ``warning: ...`` line that does not break progress bars (:func:`show_warning`)."""
    for category, message in KNOWN_WARNINGS:
        warnings.filterwarnings("ignore", message=message, category=category)
    warnings.showwarning = show_warning


def show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """``warnings.showwarning`` of the command line: ``warning: <message>`` on stderr

    Written with ``tqdm.write`` (above the progress bars, which are redrawn below it)
    when tqdm is loaded; the source line is left out (it is the library's, not the user's).
    """
    text = f"warning: {message}"
    if category is not UserWarning:
        text += f" ({category.__name__})"
    stream = file if file is not None else sys.stderr
    tqdm = sys.modules.get("tqdm")
    if tqdm is not None:
        tqdm.tqdm.write(text, file=stream)
    else:
        print(text, file=stream)


def version() -> str:
    """``pyannote-resnet50 X.Y.Z`` and the versions of the stack it runs on (read from the
    installed distributions' metadata: nothing is imported)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    from pyannote_resnet50 import __version__

    stack = []
    for name in ("pyannote.audio", "torch", "torchaudio"):
        try:
            stack.append(f"{name} {installed(name)}")
        except PackageNotFoundError:
            stack.append(f"{name} not installed")
    return f"pyannote-resnet50 {__version__} ({', '.join(stack)}, Python {sys.version.split()[0]})"


def usage() -> str:
    width = max(map(len, COMMANDS))
    lines = ["usage: pyannote-resnet50 [--version] <command> [options]", "", "commands:"]
    lines += [f"  {name:<{width}}  {help}" for name, help in COMMANDS.items()]
    lines += ["", "Run `pyannote-resnet50 <command> --help` for the options of a command."]
    return "\n".join(lines)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in {"-h", "--help"}:
        print(usage())
        return 0
    if argv[0] in {"-V", "--version"}:
        print(version())
        return 0
    command, *rest = argv
    if command not in COMMANDS:
        print(f"pyannote-resnet50: unknown command '{command}'\n\n{usage()}", file=sys.stderr)
        return 2
    filter_known_warnings()
    module = importlib.import_module(f"pyannote_resnet50.cli.{command}")
    return module.main(rest) or 0


if __name__ == "__main__":
    sys.exit(main())
