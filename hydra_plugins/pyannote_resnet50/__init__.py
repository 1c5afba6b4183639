"""Hydra plugin: make pyannote_resnet50's configs available to `pyannote-audio-train`.

Hydra discovers plugins in the `hydra_plugins` namespace package. This one adds
``pkg://pyannote_resnet50.train_config`` to the config search path of
pyannote.audio's training CLI, so that

    pyannote-audio-train +registry=$PWD/database.yml \\
        protocol=Mini.SpeakerDiarization.Simulated \\
        task=FileScopedSpeakerEmbedding model=ResNet50

finds ``task/FileScopedSpeakerEmbedding.yaml``, ``model/ResNet50.yaml`` and
``augmentation/NoiseGain.yaml``.

pyannote-audio-train writes Hydra's config files into its run folder (``output_subdir: ""``)
before Lightning's checkpoint callback looks at it (``dirpath="."``): Lightning then warns
that the checkpoint folder "exists and is not empty" on every fresh run. That warning is
silenced for runs whose folder holds no checkpoint yet (:func:`fresh_run`), and only for
pyannote-audio-train.
"""

import sys
import warnings
from pathlib import Path
from typing import Optional, Sequence

from hydra.core.config_search_path import ConfigSearchPath
from hydra.plugins.search_path_plugin import SearchPathPlugin

#: configs shipped with pyannote_resnet50
CONFIG_PATH = "pkg://pyannote_resnet50.train_config"
#: primary config of pyannote.audio's `pyannote-audio-train`
PYANNOTE_TRAIN_CONFIG = "pyannote.audio.cli.train_config"


def fresh_run(argv: Optional[Sequence[str]] = None) -> bool:
    """Whether the run of this command line starts in a folder without checkpoints

    Parameters
    ----------
    argv : sequence of str, optional
        Command-line overrides. Defaults to ``sys.argv[1:]``.

    Returns
    -------
    fresh : bool
        False when ``hydra.run.dir=DIR`` names a folder holding ``*.ckpt`` files (a run
        resumed or rerun there); True otherwise (pyannote.audio's default is a new
        ``<protocol>/<timestamp>`` folder).
    """
    for arg in sys.argv[1:] if argv is None else argv:
        if arg.startswith("hydra.run.dir="):
            return not any(Path(arg.split("=", 1)[1]).expanduser().glob("*.ckpt"))
    return True


class PyannoteResNet50SearchPathPlugin(SearchPathPlugin):
    """Append pyannote_resnet50's configs to pyannote-audio-train's search path"""

    def manipulate_search_path(self, search_path: ConfigSearchPath) -> None:
        # only touch pyannote.audio's training app, not every Hydra application
        # (its primary config path reads "pkg://pyannote.audio.cli/train_config")
        paths = [element.path.replace("/", ".") for element in search_path.get_path()]
        if any(PYANNOTE_TRAIN_CONFIG in path for path in paths):
            search_path.append(provider="pyannote_resnet50", path=CONFIG_PATH)
            if fresh_run():  # the folder only holds Hydra's files: nothing to warn about
                warnings.filterwarnings("ignore", message=r"Checkpoint directory .* exists and is not empty",
                                        category=UserWarning)
