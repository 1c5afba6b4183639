"""``pyannote-resnet50`` command line: one entry point, one module per sub-command.

Each sub-command lives in ``pyannote_resnet50/cli/<name>.py`` and exposes
``main(argv: list[str] | None = None) -> int | None``.
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
#: pyannote.audio 3.4 (pinned to torchaudio < 2.9) reads, and pyannote.database's notice
#: when our database.yml is loaded on top of the package one that it requires.
KNOWN_WARNINGS = [
    (UserWarning, r"torchaudio\._backend\.(list_audio_backends|utils\.info|common\.AudioMetaData) "
                  r"has been deprecated"),
    (UserWarning, r"In 2\.9, this function's implementation will be changed to use "
                  r"torchaudio\.load_with_torchcodec"),
    (UserWarning, r"Replacing existing \S+ protocol by the one defined in"),
]


def filter_known_warnings() -> None:
    """Silence :data:`KNOWN_WARNINGS` (and only them) in this process."""
    for category, message in KNOWN_WARNINGS:
        warnings.filterwarnings("ignore", message=message, category=category)


def usage() -> str:
    width = max(map(len, COMMANDS))
    lines = ["usage: pyannote-resnet50 <command> [options]", "", "commands:"]
    lines += [f"  {name:<{width}}  {help}" for name, help in COMMANDS.items()]
    lines += ["", "Run `pyannote-resnet50 <command> --help` for the options of a command."]
    return "\n".join(lines)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in {"-h", "--help"}:
        print(usage())
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
