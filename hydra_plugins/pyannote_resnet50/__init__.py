"""Hydra plugin: make pyannote_resnet50's configs available to `pyannote-audio-train`.

Hydra discovers plugins in the `hydra_plugins` namespace package. This one adds
``pkg://pyannote_resnet50.train_config`` to the config search path of
pyannote.audio's training CLI, so that

    pyannote-audio-train +registry=$PWD/database.yml \\
        protocol=Mini.SpeakerDiarization.Simulated \\
        task=FileScopedSpeakerEmbedding model=ResNet50

finds ``task/FileScopedSpeakerEmbedding.yaml``, ``model/ResNet50.yaml`` and
``augmentation/NoiseGain.yaml``.
"""

from hydra.core.config_search_path import ConfigSearchPath
from hydra.plugins.search_path_plugin import SearchPathPlugin

#: configs shipped with pyannote_resnet50
CONFIG_PATH = "pkg://pyannote_resnet50.train_config"
#: primary config of pyannote.audio's `pyannote-audio-train`
PYANNOTE_TRAIN_CONFIG = "pyannote.audio.cli.train_config"


class PyannoteResNet50SearchPathPlugin(SearchPathPlugin):
    """Append pyannote_resnet50's configs to pyannote-audio-train's search path"""

    def manipulate_search_path(self, search_path: ConfigSearchPath) -> None:
        # only touch pyannote.audio's training app, not every Hydra application
        # (its primary config path reads "pkg://pyannote.audio.cli/train_config")
        paths = [element.path.replace("/", ".") for element in search_path.get_path()]
        if any(PYANNOTE_TRAIN_CONFIG in path for path in paths):
            search_path.append(provider="pyannote_resnet50", path=CONFIG_PATH)
