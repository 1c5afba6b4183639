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


def test_database_scope_one_class_per_person(tmp_path):
    # scope: database -> spk00 of fileA and of fileB are one person
    task = _setup(_protocol(tmp_path, scope="database"))
    assert task.specifications.classes == ["Tiny@spk00", "Tiny@spk01"]
    assert {f["uri"] for f in task._train["Tiny@spk00"]} == {"fileA", "fileB"}


def test_speed_perturbed_copies_are_classes(tmp_path):
    task = _setup(_protocol(tmp_path, scope="database"), speed_perturbation=[0.9, 1.1])
    assert task.specifications.classes == [
        "Tiny@spk00", "Tiny@spk00@speed0.9", "Tiny@spk00@speed1.1",
        "Tiny@spk01", "Tiny@spk01@speed0.9", "Tiny@spk01@speed1.1",
    ]
    assert task.model.loss_func.W.shape == (16, 6)
    samples = task.train__iter__()
    seen = set()
    for _ in range(24):
        sample = next(samples)
        # every chunk has the batch duration whatever its speed
        assert sample["X"].shape == (1, SAMPLE_RATE)
        seen.add(sample["y"])
    assert seen == set(range(6))
    # an epoch sees every speed copy
    unperturbed = _setup(_protocol(tmp_path, scope="database"))
    assert task.train__len__() == 3 * unperturbed.train__len__()


def test_batch_durations_from_a_fixed_grid(tmp_path):
    """Every batch has one chunk duration, drawn from min_duration + k x duration_step"""
    task = _setup(_protocol(tmp_path), duration=2.0, min_duration=1.0, duration_step=0.5)
    assert task.batch_durations() == [1.0, 1.5, 2.0]
    samples = task.train__iter__()
    lengths = []
    for _ in range(30 * task.batch_size):
        lengths.append(next(samples)["X"].shape[1])
    batches = [set(lengths[k : k + task.batch_size]) for k in range(0, len(lengths), task.batch_size)]
    assert all(len(batch) == 1 for batch in batches)
    assert {batch.pop() for batch in batches} == {SAMPLE_RATE, 3 * SAMPLE_RATE // 2, 2 * SAMPLE_RATE}
    # a step that does not divide the range stops below `duration`
    assert _setup(_protocol(tmp_path), duration=2.0, min_duration=1.0, duration_step=0.4).batch_durations() == [1.0, 1.4, 1.8]
    # 0: pyannote.audio's uniform durations (many distinct lengths)
    uniform = _setup(_protocol(tmp_path), duration=2.0, min_duration=1.0, duration_step=0.0)
    assert uniform.batch_durations() == []
    samples = uniform.train__iter__()
    assert len({next(samples)["X"].shape[1] for _ in range(20 * uniform.batch_size)}) > 10
    with pytest.raises(ValueError, match="duration_step"):
        _setup(_protocol(tmp_path), duration_step=-1.0)


def test_speed_perturbation_factors_are_checked(tmp_path):
    with pytest.raises(ValueError, match="speed_perturbation"):
        FileScopedSpeakerEmbedding(_protocol(tmp_path), speed_perturbation=[0.0], num_workers=0)


def test_readspeech_protocol_identities():
    """The shipped ReadSpeech protocol: corpus-wide identities, speakers disjoint across subsets"""
    from pyannote_resnet50.database import get_protocol
    from pyannote_resnet50.database.readspeech import PROTOCOL, READSPEECH_DIR

    protocol = get_protocol(PROTOCOL)
    speakers = {}
    for subset in ["train", "development", "test"]:
        labels = {}
        for file in getattr(protocol, subset)():
            assert file["scope"] == "database"
            for label in file["annotation"].labels():
                labels.setdefault(label, set()).add(file["uri"])
        speakers[subset] = set(labels)
        assert speakers[subset] == set((READSPEECH_DIR / f"speakers.{subset}.txt").read_text().split())
        # a speechocean762 speaker reads 7 utterances: one identity across 7 files
        assert max(len(uris) for label, uris in labels.items() if label.startswith("SO")) == 7
    assert not speakers["train"] & speakers["development"]
    assert not speakers["train"] & speakers["test"]
    assert not speakers["development"] & speakers["test"]
    # LibriSpeech readers are split as in Mini: Mini's test readers are never trained on
    mini_test = set((READSPEECH_DIR.parent / "mini" / "speakers.test.txt").read_text().split())
    assert {f"LS{s}" for s in mini_test} <= speakers["test"]


def test_mini_readers_protocol_one_class_per_reader(mini_corpus):
    """Mini.SpeakerDiarization.Readers: a reader heard in several recordings is one class"""
    from pyannote_resnet50.database import get_protocol

    task = _setup(get_protocol("Mini.SpeakerDiarization.Readers"), duration=1.5, min_duration=1.0, min_speech_duration=3.0)
    readers = set((Path(__file__).resolve().parents[1] / "pyannote_resnet50/data/mini/speakers.train.txt").read_text().split())
    assert {c.split("@")[1] for c in task.specifications.classes} <= {f"LS{r}" for r in readers}
    assert all(c.startswith("Mini@LS") for c in task.specifications.classes)
    assert max(len(files) for files in task._train.values()) > 1


def test_extra_protocols_add_identities(mini_corpus):
    """File-scoped Mini identities plus reader identities of another protocol, side by side"""
    from pyannote_resnet50.database import get_protocol

    options = dict(duration=1.5, min_duration=1.0, min_speech_duration=3.0)
    alone = _setup(get_protocol("Mini.SpeakerDiarization.Simulated"), **options)
    both = _setup(get_protocol("Mini.SpeakerDiarization.Simulated"), extra_protocols=["Mini.SpeakerDiarization.Readers"], **options)
    readers = [c for c in both.specifications.classes if c.startswith("Mini@LS")]
    assert readers and set(both.specifications.classes) == set(alone.specifications.classes) | set(readers)
