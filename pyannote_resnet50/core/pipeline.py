"""Pipeline configs: the one loader of pipeline config.yaml files, ours or stock.

pyannote.audio 3.4's ``Pipeline.from_pretrained`` trusts its config.yaml: it imports and
calls whatever class ``pipeline.name`` and ``preprocessors`` name (``builtins.open``
runs), downloads a config given as a huggingface.co id, and hands checkpoint entries to
``Model.from_pretrained``, which downloads URLs and huggingface.co ids and unpickles a
remote checkpoint without torch's safe loader. :func:`from_pretrained` reads the same
format the same way (``version``, ``pipeline: {name, params}``, ``freeze``, ``params``,
``preprocessors``, ``device``) but only runs what it allows:

- the config is a local file, never a URL nor a huggingface.co id (nothing is
  downloaded, ever), read with ``yaml.SafeLoader``;
- ``pipeline.name`` is a pipeline class of pyannote.audio
  (``pyannote.audio.pipelines.__all__``) or of pyannote_resnet50
  (``pyannote_resnet50.pipelines.__all__``) (:data:`PIPELINE_PACKAGES`); a
  ``preprocessors`` entry is a database.yml or path template (plain data) or an
  ``Inference`` of pyannote.audio or pyannote_resnet50 (:func:`allowed_preprocessors`);
- the checkpoints it names (``segmentation``, ``embedding``, a preprocessor's ``model``)
  are local files (relative paths are resolved against the config's folder, then the
  working directory), loaded by :func:`pyannote_resnet50.pipelines.utils.load_model`
  (torch's safe loader with an allow-list, allow-listed model classes) and handed to the
  pipeline as ``Model`` instances; a stock pipeline whose config leaves a checkpoint out
  (its default is a huggingface.co id) is refused.

Every refusal is a ``ValueError`` (``FileNotFoundError`` for missing files) naming the
config file and the entry.
"""

from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Text, Union

__all__ = ["from_pretrained", "allowed_pipelines", "allowed_preprocessors", "MODEL_PARAMS", "FILE_PARAMS"]

#: packages whose pipelines (their ``__all__``) a config may name
PIPELINE_PACKAGES = ("pyannote.audio.pipelines", "pyannote_resnet50.pipelines")
#: constructor arguments that name a checkpoint (pyannote.audio's PipelineModel)
MODEL_PARAMS = ("segmentation", "embedding")
#: constructor arguments that name another local file (read as plain arrays)
FILE_PARAMS = ("plda",)
#: top-level keys of a config.yaml that :func:`from_pretrained` reads
CONFIG_KEYS = ("version", "pipeline", "freeze", "params", "preprocessors", "device")


def _names(Klass: type, *packages: str) -> Dict[str, type]:
    """The names a config may give `Klass`: its module's and its packages' (``pkg.Class``)"""
    return {f"{module}.{Klass.__name__}": Klass for module in (Klass.__module__, *packages)}


def allowed_pipelines() -> Dict[str, type]:
    """Pipeline classes a config may name: ``{name: class}``

    The ``__all__`` pipelines of :data:`PIPELINE_PACKAGES`, each under its package's name
    (``pyannote.audio.pipelines.SpeakerDiarization``) and its module's
    (``pyannote.audio.pipelines.speaker_diarization.SpeakerDiarization``).
    """
    from importlib import import_module

    from pyannote.pipeline import Pipeline

    allowed = {}
    for package in PIPELINE_PACKAGES:
        module = import_module(package)
        for name in module.__all__:
            Klass = getattr(module, name)
            if isinstance(Klass, type) and issubclass(Klass, Pipeline):
                allowed.update(_names(Klass, package))
    return allowed


def allowed_preprocessors() -> Dict[str, type]:
    """Preprocessor classes a config may name: ``{name: class}``

    pyannote.audio's ``Inference`` (also as ``Inference`` and ``pyannote.audio.Inference``,
    as pyannote.audio resolves names in the ``pyannote.audio`` package) and
    pyannote_resnet50's ``StreamingInference``.
    """
    from pyannote.audio import Inference

    from pyannote_resnet50.core.inference import StreamingInference

    return {"Inference": Inference, **_names(Inference, "pyannote.audio"), **_names(StreamingInference)}


class _Config:
    """A config.yaml being loaded: its path, folder, and errors naming its entries"""

    def __init__(self, path: Path):
        self.path, self.folder = path, path.resolve().parent

    def refuse(self, entry: str, message: str, kind: type = ValueError) -> Exception:
        return kind(f"pipeline config '{self.path}', {entry}: {message}")

    def local_file(self, value: Any, entry: str) -> Path:
        """`value` as an existing local file: absolute, or relative to the config's folder
        (else to the working directory); URLs and huggingface.co ids are refused"""
        from pyannote_resnet50.pipelines.utils import is_url

        if not isinstance(value, (str, Path)):
            raise self.refuse(entry, f"{value!r} is not a file path.")
        if is_url(value):
            raise self.refuse(entry, f"'{value}' is a URL: nothing is downloaded. Download the file yourself from "
                                     "a source you trust and give its local path.")
        path = Path(value).expanduser()
        if not path.is_absolute() and (self.folder / path).is_file():
            path = self.folder / path
        if not path.is_file():
            raise self.refuse(entry, f"'{value}' is not a local file (looked in {self.folder} and the working "
                                     "directory); files are never downloaded (huggingface.co ids are refused): "
                                     "give the path of a local file.", FileNotFoundError)
        return path.resolve()

    def model(self, value: Any, entry: str):
        """The checkpoint named by `value` (path, or ``Model.from_pretrained`` keyword
        arguments), loaded by the safe loader"""
        from pyannote_resnet50.pipelines.utils import load_model

        if isinstance(value, Mapping):
            kwargs = dict(value)
            kwargs["checkpoint"] = self.local_file(kwargs.get("checkpoint"), f"{entry}.checkpoint")
        else:
            kwargs = {"checkpoint": self.local_file(value, entry)}
        try:
            return load_model(kwargs, default=kwargs["checkpoint"])
        except ValueError as error:  # refused checkpoint: say which entry names it
            raise self.refuse(entry, str(error)) from None


def _pipeline_params(config: _Config, Klass: type, params: Mapping) -> Dict[str, Any]:
    """Constructor arguments of `Klass` with checkpoints loaded and local files resolved"""
    import inspect

    from pyannote_resnet50.pipelines import ORACLE

    ours = Klass.__module__.startswith("pyannote_resnet50.")
    params = dict(params)
    signature = inspect.signature(Klass.__init__).parameters
    for name in MODEL_PARAMS:
        entry = f"pipeline.params.{name}"
        if name not in params:
            default = signature[name].default if name in signature else None
            if isinstance(default, str):
                raise config.refuse(entry, f"not set, and {Klass.__name__}'s default '{default}' would be downloaded "
                                           "from huggingface.co: set it to the path of a local checkpoint.")
            continue
        value = params[name]
        if value is None or (ours and value == ORACLE):
            continue  # our defaults are shipped checkpoints; the oracle is no checkpoint
        params[name] = config.model(value, entry)
    for name in FILE_PARAMS:
        if params.get(name) is not None:
            params[name] = str(config.local_file(params[name], f"pipeline.params.{name}"))
    return params


def _preprocessors(config: _Config, preprocessors: Any) -> Dict[str, Any]:
    """``preprocessors`` of the config, with only allow-listed classes (pyannote.audio's format)"""
    from pyannote.database import FileFinder

    if not isinstance(preprocessors, Mapping):
        raise config.refuse("preprocessors", "expected a mapping {key: preprocessor}.")
    allowed = allowed_preprocessors()
    loaded = {}
    for key, preprocessor in preprocessors.items():
        entry = f"preprocessors.{key}"
        if isinstance(preprocessor, Mapping):
            name = preprocessor.get("name")
            if not isinstance(name, str) or name not in allowed:
                raise config.refuse(f"{entry}.name", f"'{name}' is not an allowed preprocessor (only plain data: "
                                                     "a database.yml or path template, or one of "
                                                     f"{', '.join(sorted(allowed))}): nothing is run from a config.")
            params = dict(preprocessor.get("params") or {})
            if "model" not in params:
                raise config.refuse(f"{entry}.params.model", "not set: give the path of a local checkpoint.")
            params["model"] = config.model(params["model"], f"{entry}.params.model")
            loaded[key] = allowed[name](**params)
        elif isinstance(preprocessor, str):
            # as pyannote.audio: a database.yml, else a path template such as /path/to/{uri}.wav
            try:
                loaded[key] = FileFinder(database_yml=preprocessor)
            except FileNotFoundError:
                loaded[key] = preprocessor
        else:
            raise config.refuse(entry, f"{preprocessor!r} is neither a database.yml or path template nor "
                                       "{name: ..., params: ...}.")
    return loaded


def from_pretrained(checkpoint_path: Union[Text, Path], hparams_file: Optional[Union[Text, Path]] = None):
    """Load a pipeline from a local config.yaml, running only allow-listed code

    ``pyannote.audio.Pipeline.from_pretrained``'s format and behaviour (see the module
    docstring for what is refused).

    Parameters
    ----------
    checkpoint_path : str or Path
        Path of a pipeline config.yaml (written by ``pyannote-resnet50 optimize``, or a
        stock pyannote.audio one whose checkpoints are local files).
    hparams_file : str or Path, optional
        Hyper-parameters file loaded after ``params``, as in pyannote.audio.

    Returns
    -------
    pipeline : pyannote.audio Pipeline
        Instantiated with the config's ``params`` (when it has them).

    Raises
    ------
    FileNotFoundError
        When the config, or a file it names, is not a local file.
    ValueError
        When the config is a URL, is malformed, or names a class, a preprocessor or a
        checkpoint that is refused (message naming the file and the entry).
    """
    import yaml

    from pyannote_resnet50.pipelines.utils import is_url

    if is_url(checkpoint_path):
        raise ValueError(f"pipeline config '{checkpoint_path}' is a URL: pipelines are never downloaded. Download "
                         "its config.yaml and checkpoints yourself from a source you trust and give the local "
                         "config.yaml.")
    path = Path(checkpoint_path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"pipeline config '{checkpoint_path}' is not a local file: pipelines are never "
                                "downloaded (huggingface.co ids are refused); give the path of a config.yaml.")
    config = _Config(path)
    try:
        content = yaml.load(path.read_text(), Loader=yaml.SafeLoader)
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise ValueError(f"pipeline config '{path}' is not valid YAML ({type(error).__name__}: {error}).") from None
    if not isinstance(content, Mapping) or not isinstance(content.get("pipeline"), Mapping):
        raise config.refuse("pipeline", "missing: a pipeline config.yaml has 'pipeline: {name: ..., params: ...}'.")

    if "version" in content:
        from pyannote.audio import __version__
        from pyannote.audio.utils.version import check_version

        check_version("pyannote.audio", str(content["version"]), __version__, what="Pipeline")

    name = content["pipeline"].get("name")
    allowed = allowed_pipelines()
    if not isinstance(name, str) or name not in allowed:
        names = sorted(name for name in allowed if name.rsplit(".", 1)[0] in PIPELINE_PACKAGES)
        raise config.refuse("pipeline.name", f"'{name}' is not an allowed pipeline class (one of "
                                             f"{', '.join(names)}): nothing is run from a config.")
    Klass = allowed[name]
    params = content["pipeline"].get("params") or {}
    if not isinstance(params, Mapping):
        raise config.refuse("pipeline.params", "expected a mapping of constructor arguments.")
    params = _pipeline_params(config, Klass, params)
    try:
        pipeline = Klass(**params)
    except TypeError as error:  # unknown or missing constructor arguments
        raise config.refuse("pipeline.params", f"{Klass.__name__} refuses them ({error}).") from None

    if "freeze" in content:
        pipeline.freeze(content["freeze"])
    if "params" in content:
        pipeline.instantiate(content["params"])
    if hparams_file is not None:
        pipeline.load_params(hparams_file)
    if "preprocessors" in content:
        pipeline.preprocessors = _preprocessors(config, content["preprocessors"])
    if "device" in content:  # as pyannote.audio: a device this machine lacks is reported, not fatal
        import warnings

        import torch

        try:
            pipeline.to(torch.device(content["device"]))
        except RuntimeError as error:
            warnings.warn(f"pipeline config '{path}', device: {error}")
    return pipeline
