"""Speaker embedding training on speaker diarization protocols."""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Union

import numpy as np
import torch
from pyannote.audio.tasks.embedding.arcface import SupervisedRepresentationLearningWithArcFace
from pyannote.audio.core.task import Problem, Resolution, Specifications
from pyannote.core import Annotation, Segment, Timeline
from pyannote.database import Protocol
from torch_audiomentations import AddColoredNoise, Compose, Gain
from torch_audiomentations.core.transforms_interface import BaseWaveformTransform
from torchmetrics import Metric
from tqdm import tqdm

from pyannote_resnet50.database.labels import scoped_label
from pyannote_resnet50.database.registry import audio_not_found_message
from pyannote_resnet50.tasks.embedding.metrics import TrialAUROC, TrialEqualErrorRate


def noise_and_gain(
    min_gain_in_db: float = -12.0,
    max_gain_in_db: float = 6.0,
    min_snr_in_db: float = 5.0,
    max_snr_in_db: float = 30.0,
    p: float = 0.5,
) -> BaseWaveformTransform:
    """Random gain then coloured noise (torch-audiomentations)

    Parameters
    ----------
    min_gain_in_db, max_gain_in_db : float, optional
        Gain range. Defaults to [-12, 6] dB.
    min_snr_in_db, max_snr_in_db : float, optional
        Signal-to-noise ratio range of the added noise. Defaults to [5, 30] dB.
    p : float, optional
        Probability of applying each transform. Defaults to 0.5.

    Returns
    -------
    augmentation : BaseWaveformTransform
        To be passed as `augmentation` to `FileScopedSpeakerEmbedding`.
    """
    return Compose(
        [
            Gain(min_gain_in_db=min_gain_in_db, max_gain_in_db=max_gain_in_db, p=p, output_type="dict"),
            AddColoredNoise(min_snr_in_db=min_snr_in_db, max_snr_in_db=max_snr_in_db, p=p, output_type="dict"),
        ],
        output_type="dict",
    )


def _audio(file: Mapping) -> str:
    """Path to the audio of `file`, with an error saying which database.yml line to set"""
    try:
        audio = file["audio"]
        if isinstance(audio, (str, Path)) and not Path(audio).is_file():
            raise FileNotFoundError(f"'{audio}' does not exist.")
    except FileNotFoundError as error:
        raise FileNotFoundError(audio_not_found_message(file, error)) from None
    return str(audio)


def _speech_turns(file: Mapping, exclude_overlap: bool) -> Dict[str, Timeline]:
    """Speech of each (scoped) identity of `file`, within its annotated regions"""
    annotation: Annotation = file["annotation"]
    if "annotated" in file:
        annotation = annotation.crop(file["annotated"], mode="intersection")
    overlap = annotation.get_overlap() if exclude_overlap else Timeline()
    turns = dict()
    for label in annotation.labels():
        timeline = annotation.label_timeline(label).support()
        if exclude_overlap:
            timeline = timeline.extrude(overlap)
        turns[scoped_label(file, label)] = timeline
    return turns


class FileScopedSpeakerEmbedding(SupervisedRepresentationLearningWithArcFace):
    """Speaker embedding (ArcFace) on speaker diarization protocols

    Training classes are speaker identities scoped by the protocol's label scope
    (``file["scope"]``): with ``scope: file``, ``spk00`` of two files are two
    identities (``{uri}@spk00``). Chunk sampling is pyannote.audio's
    (`SupervisedRepresentationLearningTaskMixin`): batches of
    `num_classes_per_batch` x `num_chunks_per_class` chunks whose duration is
    drawn uniformly in [`min_duration`, `duration`] for each batch, and the loss
    is pyannote.audio's additive angular margin (ArcFace) loss.

    Validation uses the development subset: `num_validation_chunks` chunks of
    `validation_duration` seconds per identity, and every pair of chunks is a
    trial (same or different identity, including different speakers of the same
    file). "EqualErrorRate" (monitored: checkpoint selection and early stopping),
    "AUROC" and "WithinFileEqualErrorRate" (non-target trials restricted to
    pairs of speakers of the same file) are logged every epoch.

    Parameters
    ----------
    protocol : Protocol
        pyannote.database speaker diarization protocol.
    duration : float, optional
        Maximum duration of training chunks, in seconds. Defaults to 3.
    min_duration : float, optional
        Minimum duration of training chunks. Defaults to `duration`.
    num_classes_per_batch : int, optional
        Number of identities per batch. Defaults to 32.
    num_chunks_per_class : int, optional
        Number of chunks per identity in a batch. Defaults to 1.
    margin : float, optional
        ArcFace angular margin, in degrees. Defaults to 11.5 (0.2 rad, WeSpeaker).
    scale : float, optional
        ArcFace scale. Defaults to 32 (WeSpeaker).
    min_speech_duration : float, optional
        Identities with less (non-overlapped) speech than this, in seconds, are
        neither training classes nor validation identities. Defaults to 5.
    min_turn_duration : float, optional
        Speech turns shorter than this are not sampled (those shorter than the
        batch chunk duration are zero-padded). Defaults to `min_duration`.
    exclude_overlap : bool, optional
        Remove overlapped speech from speech turns. Defaults to True.
    validation_duration : float, optional
        Duration of validation chunks. Defaults to `min_duration`.
    num_validation_chunks : int, optional
        Maximum number of validation chunks per identity. Defaults to 4.
    num_workers : int, optional
        Number of workers of the training data loader.
        Defaults to multiprocessing.cpu_count() // 2.
    pin_memory : bool, optional
        Defaults to False.
    augmentation : BaseWaveformTransform, optional
        torch_audiomentations waveform transform applied to training batches,
        e.g. `noise_and_gain()`.
    metric : optional
        Validation metric(s), updated with (embeddings, identities, files,
        indices) (see `TrialMetric`). Defaults to `TrialEqualErrorRate` and
        `TrialAUROC`, all pairs and within-file pairs.
    """

    def __init__(
        self,
        protocol: Protocol,
        duration: float = 3.0,
        min_duration: Optional[float] = None,
        num_classes_per_batch: int = 32,
        num_chunks_per_class: int = 1,
        margin: float = 11.5,
        scale: float = 32.0,
        min_speech_duration: float = 5.0,
        min_turn_duration: Optional[float] = None,
        exclude_overlap: bool = True,
        validation_duration: Optional[float] = None,
        num_validation_chunks: int = 4,
        num_workers: Optional[int] = None,
        pin_memory: bool = False,
        augmentation: Optional[BaseWaveformTransform] = None,
        metric: Union[Metric, Sequence[Metric], Dict[str, Metric]] = None,
    ):
        if augmentation is not None and hasattr(augmentation, "output_type"):
            augmentation.output_type = "dict"

        try:
            super().__init__(
                protocol,
                min_duration=min_duration,
                duration=duration,
                num_classes_per_batch=num_classes_per_batch,
                num_chunks_per_class=num_chunks_per_class,
                margin=margin,
                scale=scale,
                num_workers=num_workers,
                pin_memory=pin_memory,
                augmentation=augmentation,
                metric=metric,
            )
        except FileNotFoundError as error:
            # pyannote.audio's protocol check reads the audio of the first training file
            file = next(protocol.train())
            raise FileNotFoundError(audio_not_found_message(file, error)) from None
        self.min_speech_duration = min_speech_duration
        self.min_turn_duration = (
            self.min_duration if min_turn_duration is None else min_turn_duration
        )
        self.exclude_overlap = exclude_overlap
        self.validation_duration = (
            self.min_duration if validation_duration is None else validation_duration
        )
        self.num_validation_chunks = num_validation_chunks
        # Task.metric replaces `_metric` by default_metric() on first access
        self._uses_default_metric = metric is None

    # ------------------------------------------------------------------ data

    def prepare_data(self):
        """Check that the audio of training (and development) files is there"""
        subsets = [self.protocol.train()]
        if self.has_validation:
            subsets.append(self.protocol.development())
        for files in subsets:
            for file in files:
                _audio(file)

    def _identities(self, files) -> Dict[str, List[Dict]]:
        """Long enough speech turns of each identity, grouped by file"""
        identities: Dict[str, List[Dict]] = dict()
        for file in files:
            audio = None
            for identity, timeline in _speech_turns(file, self.exclude_overlap).items():
                turns = [s for s in timeline if s.duration >= self.min_turn_duration]
                if not turns:
                    continue
                audio = audio or _audio(file)
                identities.setdefault(identity, list()).append(
                    {
                        "uri": file["uri"],
                        "audio": audio,
                        "duration": sum(s.duration for s in turns),
                        "speech_turns": turns,
                    }
                )
        return {
            identity: data
            for identity, data in identities.items()
            if sum(d["duration"] for d in data) >= self.min_speech_duration
        }

    def setup(self, stage=None):
        if getattr(self, "_setup_protocol", None) == self.protocol.name:
            return

        desc = f"Loading {self.protocol.name} training labels"
        self._train = self._identities(
            tqdm(self.protocol.train(), desc=desc, unit="file", leave=False)
        )
        if not self._train:
            raise ValueError(
                f"No training identity of {self.protocol.name} has at least "
                f"{self.min_speech_duration}s of speech in turns of at least "
                f"{self.min_turn_duration}s: lower `min_speech_duration` or `min_turn_duration`."
            )

        self.specifications = Specifications(
            problem=Problem.REPRESENTATION,
            resolution=Resolution.CHUNK,
            duration=self.duration,
            min_duration=self.min_duration,
            classes=sorted(self._train),
        )

        self._validation = list()
        if self.has_validation:
            self._validation = self._validation_chunks()

        self._setup_protocol = self.protocol.name

    def _validation_chunks(self) -> List[Dict]:
        """Fixed validation chunks: up to `num_validation_chunks` per identity"""
        per_identity: List[List[Dict]] = list()
        files, identities = dict(), dict()
        duration = self.validation_duration
        for file in self.protocol.development():
            for identity, timeline in _speech_turns(file, self.exclude_overlap).items():
                if timeline.duration() < self.min_speech_duration:
                    continue
                # non-overlapping candidate chunks, inside speech turns
                candidates = [
                    turn.start + k * duration
                    for turn in timeline
                    for k in range(int(turn.duration // duration))
                ]
                if not candidates:
                    continue
                num_chunks = min(self.num_validation_chunks, len(candidates))
                selected = np.linspace(0, len(candidates) - 1, num_chunks).round().astype(int)
                audio = _audio(file)
                file_idx = files.setdefault(file["uri"], len(files))
                identity_idx = identities.setdefault(identity, len(identities))
                per_identity.append(
                    [
                        {
                            "audio": audio,
                            "uri": file["uri"],
                            "start": candidates[c],
                            "file": file_idx,
                            "y": identity_idx,
                        }
                        for c in sorted(set(selected.tolist()))
                    ]
                )
        # two chunks of each identity at a time, so that any prefix of the
        # validation set (e.g. with limit_val_batches) has both kinds of trials
        chunks = [
            chunk
            for r in range(0, self.num_validation_chunks, 2)
            for identity_chunks in per_identity
            for chunk in identity_chunks[r : r + 2]
        ]
        if len(identities) < 2:
            raise ValueError(
                f"Validation on {self.protocol.name} development subset needs at least two "
                f"identities with {self.min_speech_duration}s of speech in turns of at least "
                f"{duration}s (validation_duration): found {len(identities)}."
            )
        return chunks

    def val__getitem__(self, idx):
        chunk = self._validation[idx]
        segment = Segment(chunk["start"], chunk["start"] + self.validation_duration)
        X, _ = self.model.audio.crop(
            {"audio": chunk["audio"], "uri": chunk["uri"]},
            segment,
            duration=self.validation_duration,
            mode="pad",
        )
        return {"X": X, "y": chunk["y"], "file": chunk["file"], "index": idx}

    def val__len__(self):
        return len(self._validation)

    # ------------------------------------------------------------- validation

    def default_metric(self) -> Dict[str, Metric]:
        return {
            "EqualErrorRate": TrialEqualErrorRate(),
            "AUROC": TrialAUROC(),
            "WithinFileEqualErrorRate": TrialEqualErrorRate(within_file=True),
        }

    @property
    def val_monitor(self):
        """Quantity (and direction) to monitor: "EqualErrorRate" (min) by default"""
        if not self.has_validation:
            return None, "min"
        if self._uses_default_metric:
            return "EqualErrorRate", "min"
        return super().val_monitor

    def validation_step(self, batch, batch_idx: int):
        with torch.no_grad():
            embeddings = self.model(batch["X"])
        self.model.validation_metric.update(
            embeddings, batch["y"], batch["file"], batch["index"]
        )
        self.model.log_dict(
            self.model.validation_metric,
            on_step=False,
            on_epoch=True,
            prog_bar=True,
            logger=True,
        )
