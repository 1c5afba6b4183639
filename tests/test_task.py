"""FileScopedSpeakerEmbedding: scoped identities, validation trials, missing audio."""

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from pyannote.database.registry import Registry

from pyannote.database import FileFinder

from pyannote_resnet50.database.registry import AudioFinder
from pyannote_resnet50.models import ResNet50
from pyannote_resnet50.tasks import FileScopedSpeakerEmbedding
from pyannote_resnet50.tasks.embedding.metrics import TrialAUROC, TrialEqualErrorRate

SAMPLE_RATE = 16000

#: two speakers per file, both files label their first speaker "spk00"
RTTM = {
    "fileA": [(0.0, 6.0, "spk00"), (6.0, 6.0, "spk01")],
    "fileB": [(0.0, 6.0, "spk00"), (6.0, 4.0, "spk01")],
    "fileC": [(0.0, 6.0, "spk00"), (5.0, 7.0, "spk01")],
}


def _protocol(root: Path, scope: str = "file", audio: bool = True, finder=AudioFinder):
    """Tiny diarization protocol: train = fileA, fileB; development = fileC"""
    rng = np.random.default_rng(0)
    for uri, turns in RTTM.items():
        if audio:
            sf.write(root / f"{uri}.wav", 0.1 * rng.standard_normal(12 * SAMPLE_RATE), SAMPLE_RATE)
        with open(root / f"{uri}.rttm", "w") as rttm:
            for start, duration, label in turns:
                rttm.write(f"SPEAKER {uri} 1 {start} {duration} <NA> <NA> {label} <NA> <NA>\n")
        (root / f"{uri}.uem").write_text(f"{uri} 1 0.0 12.0\n")
    (root / "train.lst").write_text("fileA\nfileB\n")
    (root / "development.lst").write_text("fileC\n")
    (root / "database.yml").write_text(
        f"""Databases:
  Tiny: {root}/{{uri}}.wav
Protocols:
  Tiny:
    SpeakerDiarization:
      Debug:
        scope: {scope}
        train:
          uri: train.lst
          annotation: "{{uri}}.rttm"
          annotated: "{{uri}}.uem"
        development:
          uri: development.lst
          annotation: "{{uri}}.rttm"
          annotated: "{{uri}}.uem"
"""
    )
    registry = Registry()
    registry.load_database(root / "database.yml")
    return registry.get_protocol(
        "Tiny.SpeakerDiarization.Debug", preprocessors={"audio": finder(registry=registry)}
    )


def _setup(protocol, **kwargs) -> FileScopedSpeakerEmbedding:
    options = dict(duration=1.0, min_speech_duration=2.0, num_classes_per_batch=2, num_workers=0)
    task = FileScopedSpeakerEmbedding(protocol, **{**options, **kwargs})
    model = ResNet50(base_width=4, dimension=16, task=task)
    model.prepare_data()
    model.setup()
    return task


def test_file_scoped_identities(tmp_path):
    task = _setup(_protocol(tmp_path, scope="file"))
    # spk00 of fileA and spk00 of fileB are two identities
    assert task.specifications.classes == [
        "fileA@spk00",
        "fileA@spk01",
        "fileB@spk00",
        "fileB@spk01",
    ]
    # ArcFace class centers: one per identity
    assert task.model.loss_func.W.shape == (16, 4)


def test_global_scope_identities(tmp_path):
    task = _setup(_protocol(tmp_path, scope="global"))
    assert task.specifications.classes == ["spk00", "spk01"]


def test_min_speech_duration(tmp_path):
    # fileB@spk01 only speaks 4s
    task = _setup(_protocol(tmp_path), min_speech_duration=5.0)
    assert task.specifications.classes == ["fileA@spk00", "fileA@spk01", "fileB@spk00"]


def test_validation_chunks(tmp_path):
    task = _setup(_protocol(tmp_path))
    chunks = task._validation
    # 4 chunks of 1s for each of the two speakers of fileC, overlap [5, 6] excluded
    assert len(chunks) == 8
    assert sorted(c["y"] for c in chunks) == [0, 0, 0, 0, 1, 1, 1, 1]
    assert {c["file"] for c in chunks} == {0}
    for c in chunks:
        assert c["start"] + 1.0 <= 5.0 or c["start"] >= 6.0
    # any prefix of two identities x two chunks has both kinds of trials
    assert [c["y"] for c in chunks[:4]] == [0, 0, 1, 1]
    item = task.val__getitem__(0)
    assert item["X"].shape == (1, SAMPLE_RATE)
    assert task.val_monitor == ("EqualErrorRate", "min")


def test_trial_metrics():
    # identities 0 and 1 in file 0, identity 2 in file 1; perfectly separated
    identities = torch.tensor([0, 0, 1, 1, 2, 2])
    files = torch.tensor([0, 0, 0, 0, 1, 1])
    embeddings = torch.eye(3)[identities] + 0.01 * torch.randn(6, 3)
    indices = torch.arange(6)

    eer = TrialEqualErrorRate()
    eer.update(embeddings[:4], identities[:4], files[:4], indices[:4])
    # duplicates (as added by distributed samplers) are ignored
    eer.update(embeddings[2:], identities[2:], files[2:], indices[2:])
    scores, targets = eer.trials()
    assert len(scores) == 15 and int(targets.sum()) == 3
    assert float(eer.compute()) == 0.0

    within = TrialEqualErrorRate(within_file=True)
    within.update(embeddings, identities, files, indices)
    scores, targets = within.trials()
    # 3 target trials + 4 different-speaker trials of file 0
    assert len(scores) == 7 and int(targets.sum()) == 3

    auroc = TrialAUROC()
    auroc.update(embeddings, identities, files, indices)
    assert float(auroc.compute()) == pytest.approx(1.0)

    # random embeddings are at chance level, not perfect
    shuffled = TrialEqualErrorRate()
    shuffled.update(embeddings, torch.tensor([0, 1, 2, 0, 1, 2]), files, indices)
    assert float(shuffled.compute()) > 0.0


@pytest.mark.parametrize("finder", [AudioFinder, FileFinder])
def test_missing_audio(tmp_path, finder):
    protocol = _protocol(tmp_path, audio=False, finder=finder)
    with pytest.raises(FileNotFoundError, match="'Databases: Tiny:' line of"):
        task = FileScopedSpeakerEmbedding(protocol, num_workers=0)
        task.prepare_data()


def test_fit_logs_validation_metrics(tmp_path):
    from pytorch_lightning import Trainer

    protocol = _protocol(tmp_path)
    task = FileScopedSpeakerEmbedding(
        protocol, duration=1.0, min_speech_duration=2.0, num_classes_per_batch=4, num_workers=0
    )
    model = ResNet50(base_width=4, dimension=16, task=task)
    trainer = Trainer(
        max_epochs=1,
        limit_train_batches=1,
        num_sanity_val_steps=0,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=tmp_path,
    )
    trainer.fit(model)
    metrics = trainer.callback_metrics
    assert {"EqualErrorRate", "AUROC", "WithinFileEqualErrorRate", "loss/train"} <= set(metrics)
    assert 0.0 <= float(metrics["EqualErrorRate"]) <= 1.0
