"""Pipeline configs, ours or stock, load through one path that runs no code from data.

`pyannote_resnet50.core.pipeline.from_pretrained` (what `diarize --pipeline` and `apply`
use) refuses URLs (nothing is downloaded), pipeline classes and preprocessors outside the
allow-list, and checkpoints the safe loader refuses, naming the config and the entry.
"""

import http.server
import shutil
import threading

import pytest
import torch
import yaml
from pyannote.audio import Inference, Model
from pyannote.audio.pipelines import SpeakerDiarization as StockSpeakerDiarization
from pyannote.audio.sample import SAMPLE_FILE

import pyannote_resnet50
from pyannote_resnet50.cli import main as cli
from pyannote_resnet50.core.pipeline import from_pretrained
from pyannote_resnet50.pipelines import SpeakerDiarization
from pyannote_resnet50.pipelines.utils import DEFAULT_EMBEDDING, DEFAULT_SEGMENTATION

torch.set_num_threads(1)

STOCK = {
    "version": "3.1.0",
    "pipeline": {
        "name": "pyannote.audio.pipelines.SpeakerDiarization",
        "params": {"segmentation": "segmentation.ckpt", "embedding": "embedding.ckpt",
                   "clustering": "AgglomerativeClustering"},
    },
    "params": {"segmentation": {"min_duration_off": 0.0},
               "clustering": {"method": "centroid", "min_cluster_size": 12, "threshold": 0.7}},
}


@pytest.fixture
def folder(tmp_path):
    """A folder holding copies of the shipped checkpoints, for configs naming them relatively"""
    folder = tmp_path / "pipeline"
    folder.mkdir()
    shutil.copy(DEFAULT_SEGMENTATION, folder / "segmentation.ckpt")
    shutil.copy(DEFAULT_EMBEDDING, folder / "embedding.ckpt")
    return folder


def write(folder, config, name="config.yaml"):
    path = folder / name
    path.write_text(yaml.safe_dump(config))
    return path


def edited(**params):
    """The stock config with other pipeline params (None removes one)"""
    config = yaml.safe_load(yaml.safe_dump(STOCK))
    for name, value in params.items():
        if value is None:
            del config["pipeline"]["params"][name]
        else:
            config["pipeline"]["params"][name] = value
    return config


def diarize(config, tmp_path) -> int:
    return cli(["diarize", str(SAMPLE_FILE["audio"]), "--output-dir", str(tmp_path / "out"),
                "--pipeline", str(config)])


def test_stock_config_with_local_checkpoints(folder, tmp_path, monkeypatch):
    """A stock pyannote.audio config loads, its relative checkpoints resolved against its folder
    (not the working directory) and read by the safe loader"""
    monkeypatch.chdir(tmp_path)
    pipeline = from_pretrained(write(folder, STOCK))
    assert type(pipeline) is StockSpeakerDiarization
    assert isinstance(pipeline.segmentation_model, Model) and pipeline.segmentation_model.specifications.powerset
    assert pipeline.parameters(instantiated=True)["clustering"]["min_cluster_size"] == 12


def test_our_config_as_pyannote_loads_it():
    ours = from_pretrained(pyannote_resnet50.DEFAULT_PIPELINE)
    assert type(ours) is SpeakerDiarization
    from pyannote.audio import Pipeline

    stock = Pipeline.from_pretrained(pyannote_resnet50.DEFAULT_PIPELINE)
    assert ours.parameters(instantiated=True) == stock.parameters(instantiated=True)


@pytest.mark.parametrize("name", ["builtins.open", "os.system", "SpeakerDiarization",
                                  "pyannote.audio.pipelines.utils.get_model", ["a"]])
def test_pipeline_class_outside_allow_list(folder, name, tmp_path):
    config = write(folder, {**STOCK, "pipeline": {**STOCK["pipeline"], "name": name}})
    with pytest.raises(ValueError, match=r"pipeline\.name: .* is not an allowed pipeline class"):
        from_pretrained(config)
    assert diarize(config, tmp_path) == 2 and not (tmp_path / "out").exists()


def test_preprocessor_outside_allow_list_runs_nothing(folder, tmp_path, capsys):
    marker = tmp_path / "opened"
    config = write(folder, {**STOCK, "preprocessors": {
        "audio": {"name": "builtins.open", "params": {"file": str(marker), "mode": "w"}}}})
    with pytest.raises(ValueError, match=r"preprocessors\.audio\.name: 'builtins\.open' is not an allowed"):
        from_pretrained(config)
    assert diarize(config, tmp_path) == 2
    assert f"pipeline config '{config}', preprocessors.audio.name" in capsys.readouterr().err
    assert not marker.exists() and not (tmp_path / "out").exists()


def test_allowed_preprocessors(folder):
    """pyannote.audio's Inference (its model through the safe loader) and plain-data templates"""
    config = write(folder, {**STOCK, "preprocessors": {
        "scores": {"name": "pyannote.audio.Inference", "params": {"model": "segmentation.ckpt", "step": 5.0}},
        "audio": "/data/{uri}.wav"}})
    preprocessors = from_pretrained(config).preprocessors
    assert isinstance(preprocessors["scores"], Inference) and preprocessors["audio"] == "/data/{uri}.wav"

    config = write(folder, {**STOCK, "preprocessors": {
        "scores": {"name": "Inference", "params": {"model": "https://example.com/model.ckpt"}}}})
    with pytest.raises(ValueError, match=r"preprocessors\.scores\.params\.model: .* is a URL"):
        from_pretrained(config)


class _Server(http.server.BaseHTTPRequestHandler):
    requests = []

    def do_GET(self):  # noqa: N802 (http.server's name)
        _Server.requests.append(self.path)
        self.send_response(404)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_urls_are_never_downloaded(folder, tmp_path, capsys):
    """A checkpoint given as a URL (stock pyannote.audio would download and unpickle it) or a
    config given as a URL: refused, and no request is ever made"""
    server = http.server.HTTPServer(("127.0.0.1", 0), _Server)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}"
    try:
        for params in ({"segmentation": f"{url}/evil.ckpt"}, {"embedding": {"checkpoint": f"{url}/evil.ckpt"}}):
            config = write(folder, edited(**params))
            entry = "pipeline.params." + next(iter(params)) + (".checkpoint" if "embedding" in params else "")
            with pytest.raises(ValueError, match=rf"{entry}: '{url}/evil.ckpt' is a URL: nothing is downloaded"):
                from_pretrained(config)
            assert diarize(config, tmp_path) == 2
        with pytest.raises(ValueError, match="is a URL: pipelines are never downloaded"):
            from_pretrained(f"{url}/config.yaml")
        assert cli(["diarize", str(SAMPLE_FILE["audio"]), "--output-dir", str(tmp_path / "out"),
                    "--pipeline", f"{url}/config.yaml"]) == 2
        assert "is a URL" in capsys.readouterr().err
    finally:
        server.shutdown()
    assert _Server.requests == [] and not (tmp_path / "out").exists()


def test_huggingface_ids_and_missing_checkpoints(folder):
    config = write(folder, edited(segmentation="pyannote/segmentation-3.0"))
    with pytest.raises(FileNotFoundError, match=r"pipeline\.params\.segmentation: 'pyannote/segmentation-3\.0' "
                                                r"is not a local file"):
        from_pretrained(config)
    # left out: stock pyannote.audio's default is a huggingface.co id
    config = write(folder, edited(embedding=None))
    with pytest.raises(ValueError, match=r"pipeline\.params\.embedding: not set, .* would be downloaded"):
        from_pretrained(config)
    with pytest.raises(FileNotFoundError, match="is not a local file"):
        from_pretrained("pyannote/speaker-diarization-3.1")


def test_crafted_checkpoint_named_by_a_config(folder, tmp_path):
    """A stock config's checkpoints go through the same safe loader as ours"""
    from test_train_cli import _Payload

    marker = tmp_path / "payload-ran"
    checkpoint = torch.load(folder / "embedding.ckpt", weights_only=True)
    torch.save({**checkpoint, "evil": _Payload(marker)}, folder / "crafted.ckpt")
    for name in ("pyannote.audio.pipelines.SpeakerDiarization", "pyannote_resnet50.pipelines.SpeakerDiarization"):
        config = write(folder, {**edited(embedding="crafted.ckpt"),
                                "pipeline": {**edited(embedding="crafted.ckpt")["pipeline"], "name": name}})
        with pytest.raises(ValueError, match=rf"pipeline\.params\.embedding: checkpoint '{folder / 'crafted.ckpt'}' "
                                             "is refused"):
            from_pretrained(config)
    assert not marker.exists()


def test_malformed_configs(folder):
    (folder / "bad.yaml").write_text("pipeline: [unclosed")
    with pytest.raises(ValueError, match="is not valid YAML"):
        from_pretrained(folder / "bad.yaml")
    (folder / "python.yaml").write_text("pipeline: !!python/object/apply:os.system ['true']")
    with pytest.raises(ValueError, match="is not valid YAML"):  # yaml.SafeLoader: no Python tags
        from_pretrained(folder / "python.yaml")
    with pytest.raises(ValueError, match="pipeline: missing"):
        from_pretrained(write(folder, {"params": {}}))
    with pytest.raises(ValueError, match=r"pipeline\.params: SpeakerDiarization refuses them"):
        from_pretrained(write(folder, edited(no_such_argument=1)))
