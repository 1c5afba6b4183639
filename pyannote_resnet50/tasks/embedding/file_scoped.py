"""Speaker embedding training on speaker diarization protocols."""

from __future__ import annotations

import itertools
import math
import random
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Union

import numpy as np
import torch
import torch.nn.functional as F
from pyannote.audio.utils.random import create_rng_for_worker
from pyannote.audio.tasks.embedding.arcface import SupervisedRepresentationLearningWithArcFace
from pyannote.audio.core.task import Problem, Resolution, Specifications
from pyannote.core import Annotation, Segment, Timeline
from pyannote.database import Protocol
from torch_audiomentations import Compose
from torch_audiomentations.core.transforms_interface import BaseWaveformTransform
from torchmetrics import Metric
from tqdm import tqdm

from pyannote_resnet50.augmentation import real_world_augmentation, speed_perturb
from pyannote_resnet50.core.io import SAMPLE_RATE, load_audio
from pyannote_resnet50.database.labels import SEPARATOR, scoped_label
from pyannote_resnet50.database.registry import AudioFinder, audio_not_found_message, registered_protocol
from pyannote_resnet50.database.validate import validate_protocol_files
from pyannote_resnet50.tasks.embedding.metrics import TrialAUROC, TrialEqualErrorRate


def _audio(file: Mapping) -> str:
    """Path to the audio of `file`, with an error saying which database.yml line to set"""
    try:
        audio = file["audio"]
        if isinstance(audio, (str, Path)) and not Path(audio).is_file():
            raise FileNotFoundError(f"'{audio}' does not exist.")
    except FileNotFoundError as error:
        raise FileNotFoundError(audio_not_found_message(file, error)) from None
    return str(audio)


def speech_turns(file: Mapping, exclude_overlap: bool) -> Dict[str, Timeline]:
    """Speech of each identity of `file` (labels scoped by `scoped_label`), within its
    annotated regions, overlapped speech removed if `exclude_overlap`"""
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
    drawn for each batch among `min_duration`, `min_duration` + `duration_step`,
    ..., `duration` (uniformly in [`min_duration`, `duration`] as in pyannote.audio
    when `duration_step` is 0), and the loss is pyannote.audio's additive angular
    margin (ArcFace) loss.

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
    duration_step : float, optional
        Batch chunk durations are drawn from the grid `min_duration` + k x
        `duration_step` (k = 0, 1, ...) up to `duration`, in seconds. A few
        distinct tensor shapes keep the training process's memory flat: a new
        duration for every batch fragments the allocator's heap (one Mini epoch
        of the shipped architecture: 1.9 GB peak against 1.4 GB; README "Memory
        on long recordings"). 0 draws durations uniformly, as pyannote.audio
        does. Defaults to 0.5.
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
    speed_perturbation : list of float, optional
        Speed factors (e.g. [0.9, 1.1]) whose perturbed copies of every training
        identity are new classes (``{identity}@speed0.9``), as in Kaldi and WeSpeaker
        recipes: speed changes pitch and formants, hence the voice. Defaults to none.
    noise : str or list, optional
        Real noise files or folders (e.g. ``../shared/data/noise/noise``): adds the
        reverberation, real noise, band-limiting and gain of
        :func:`pyannote_resnet50.augmentation.real_world_augmentation` before
        `augmentation`.
    rir : str or list, optional
        Measured room impulse responses (e.g. ``../shared/data/noise/rir``), used
        besides simulated rooms when `noise` or `rir` is given.
    margin_warmup_epochs : float, optional
        The ArcFace margin grows linearly from 0 to `margin` over this many epochs
        (large margins from the start slow down or prevent convergence).
        Defaults to 0 (no warm-up).
    extra_protocols : list of str, optional
        More protocols (names in pyannote.database's registry) whose training
        identities are added, each scoped by its own protocol: e.g. VoxConverse
        (file-scoped) plus ``ReadSpeech.SpeakerDiarization.Speakers`` (corpus-wide).
        Validation stays on `protocol`'s development subset.
    codec : float, optional
        Probability of a lossy codec round trip (Opus, MP3, GSM, mu-law:
        :class:`pyannote_resnet50.augmentation.Codec`) of each training chunk, after
        the other augmentations. Defaults to 0.
    cache_audio : bool, optional
        Decode every training file once, at setup, and keep it in memory (float32, about
        230 MB per hour of audio; the data-loader workers share it). Compressed audio
        (Ogg Opus, MP3) costs several milliseconds per chunk to seek and decode: 7 ms
        per 2 s chunk of Opus against 1 ms of FLAC. Defaults to False.
    """

    def __init__(
        self,
        protocol: Protocol,
        duration: float = 3.0,
        min_duration: Optional[float] = None,
        duration_step: float = 0.5,
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
        speed_perturbation: Optional[Sequence[float]] = None,
        noise: Union[str, Path, Sequence[Union[str, Path]], None] = None,
        rir: Union[str, Path, Sequence[Union[str, Path]], None] = None,
        margin_warmup_epochs: float = 0.0,
        extra_protocols: Optional[Sequence[str]] = None,
        codec: float = 0.0,
        cache_audio: bool = False,
    ):
        if augmentation is not None and hasattr(augmentation, "output_type"):
            augmentation.output_type = "dict"
        if not 0.0 <= codec <= 1.0:
            raise ValueError(f"codec is a probability in [0, 1], got {codec}.")
        if noise or rir or codec > 0:
            real_world = real_world_augmentation(
                noise=noise,
                rir=rir,
                p_codec=codec,
                **({} if noise or rir else {"p_reverb": 0.0, "p_band_limit": 0.0, "p_gain": 0.0, "p_colored_noise": 0.0}),
            )
            augmentation = real_world if augmentation is None else Compose(
                [real_world, augmentation], shuffle=False, output_type="dict"
            )
        self.speed_factors = sorted({1.0, *[float(f) for f in (speed_perturbation or [])]})
        if any(not 0.5 <= f <= 2.0 for f in self.speed_factors):
            raise ValueError(f"speed_perturbation factors must lie in [0.5, 2.0], got {list(speed_perturbation)}.")

        # the annotation files of every protocol, checked before pyannote.audio reads any
        # (errors name the file, the line and the fix)
        validate_protocol_files(protocol)
        for name in extra_protocols or []:
            validate_protocol_files(registered_protocol(name))
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
        if duration_step < 0:
            raise ValueError(f"duration_step must be >= 0 (0: uniform durations), got {duration_step}.")
        self.duration_step = duration_step
        self.min_speech_duration = min_speech_duration
        self.min_turn_duration = (
            self.min_duration if min_turn_duration is None else min_turn_duration
        )
        self.exclude_overlap = exclude_overlap
        self.validation_duration = (
            self.min_duration if validation_duration is None else validation_duration
        )
        self.num_validation_chunks = num_validation_chunks
        self.margin_warmup_epochs = margin_warmup_epochs
        self.extra_protocols = list(extra_protocols or [])
        self.cache_audio = cache_audio
        # Task.metric replaces `_metric` by default_metric() on first access
        self._uses_default_metric = metric is None

    # ------------------------------------------------------------------ data

    def _extra_train_files(self):
        """Training files of `extra_protocols` (from pyannote.database's global registry)"""
        from pyannote.database import registry

        for name in self.extra_protocols:
            protocol = registry.get_protocol(name, preprocessors={"audio": AudioFinder(registry=registry)})
            yield from protocol.train()

    def prepare_data(self):
        """Check that the audio of training (and development) files is there"""
        subsets = [self.protocol.train(), self._extra_train_files()]
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
            for identity, timeline in speech_turns(file, self.exclude_overlap).items():
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

        names = ", ".join([self.protocol.name, *self.extra_protocols])
        self._train = self._identities(
            tqdm(
                itertools.chain(self.protocol.train(), self._extra_train_files()),
                desc=f"Loading {names} training labels",
                unit="file",
                leave=False,
            )
        )
        if not self._train:
            raise ValueError(
                f"No training identity of {self.protocol.name} has at least "
                f"{self.min_speech_duration}s of speech in turns of at least "
                f"{self.min_turn_duration}s: lower `min_speech_duration` or `min_turn_duration`."
            )

        if self.cache_audio:
            self._cache_training_audio()

        self.specifications = Specifications(
            problem=Problem.REPRESENTATION,
            resolution=Resolution.CHUNK,
            duration=self.duration,
            min_duration=self.min_duration,
            classes=sorted(
                self._speed_class(identity, factor)
                for identity in self._train
                for factor in self.speed_factors
            ),
        )

        self._validation = list()
        if self.has_validation:
            self._validation = self._validation_chunks()

        self._setup_protocol = self.protocol.name

    def _cache_training_audio(self):
        """Decode every training file once (``file["waveform"]``, read by pyannote's ``Audio.crop``)"""
        waveforms: Dict[str, torch.Tensor] = dict()
        files = [file for data in self._train.values() for file in data]
        for file in tqdm(files, desc="Decoding training audio", unit="file", leave=False):
            if file["audio"] not in waveforms:
                waveforms[file["audio"]] = torch.from_numpy(load_audio(file["audio"], SAMPLE_RATE))[None]
            file["waveform"] = waveforms[file["audio"]]
            file["sample_rate"] = SAMPLE_RATE

    @staticmethod
    def _speed_class(identity: str, factor: float) -> str:
        """Class of `identity` played `factor` times faster"""
        return identity if factor == 1.0 else f"{identity}{SEPARATOR}speed{factor:g}"

    def batch_durations(self) -> List[float]:
        """Chunk durations a training batch may have (empty: any in [min_duration, duration])"""
        if self.min_duration >= self.duration:
            return [self.duration]
        if self.duration_step <= 0:
            return []
        count = math.floor((self.duration - self.min_duration) / self.duration_step + 1e-6)
        return [round(self.min_duration + k * self.duration_step, 6) for k in range(count + 1)]

    def _draw_batch_duration(self, rng, durations: List[float]) -> float:
        return rng.choice(durations) if durations else rng.uniform(self.min_duration, self.duration)

    def train__iter__(self):
        """Iterate over training samples (pyannote.audio's sampling, plus speed perturbation)

        Yields
        ------
        X : (channel, time) torch.Tensor
        y : int
            Class index.
        """
        rng = create_rng_for_worker(self.model)
        # the global RNGs (augmentation draws from them) restart at every epoch from the
        # same (seed, worker, rank, epoch) as `rng`, so that a resumed run draws exactly
        # what an uninterrupted one does (Lightning checkpoints do not hold RNG states)
        seed = create_rng_for_worker(self.model).getrandbits(32)
        random.seed(seed)
        np.random.seed(seed)
        torch.manual_seed(seed)
        sample_rate = self.model.audio.sample_rate
        pairs = [(identity, factor) for identity in sorted(self._train) for factor in self.speed_factors]
        index = {klass: k for k, klass in enumerate(self.specifications.classes)}

        durations = self.batch_durations()
        batch_duration = self._draw_batch_duration(rng, durations)
        num_samples = 0
        while True:
            rng.shuffle(pairs)
            for identity, factor in pairs:
                y = index[self._speed_class(identity, factor)]
                for _ in range(self.num_chunks_per_class):
                    files = self._train[identity]
                    file, *_ = rng.choices(files, weights=[f["duration"] for f in files], k=1)
                    turn, *_ = rng.choices(
                        file["speech_turns"], weights=[s.duration for s in file["speech_turns"]], k=1
                    )
                    # `factor` times as much audio, played `factor` times faster
                    source_duration = batch_duration * factor
                    target = math.floor(batch_duration * sample_rate)
                    if turn.duration < source_duration:
                        X, _ = self.model.audio.crop(file, turn)
                        X = speed_perturb(X, factor)[:, :target]
                        missing = target - X.shape[1]
                        left = rng.randint(0, missing)
                        X = F.pad(X, (left, missing - left))
                    else:
                        start = rng.uniform(turn.start, turn.end - source_duration)
                        X, _ = self.model.audio.crop(
                            file, Segment(start, start + source_duration), duration=source_duration
                        )
                        X = speed_perturb(X, factor, num_samples=target)
                    yield {"X": X, "y": y}

                    num_samples += 1
                    if num_samples == self.batch_size:
                        batch_duration = self._draw_batch_duration(rng, durations)
                        num_samples = 0

    def train__len__(self):
        # speed-perturbed copies are more data: an epoch sees each copy as often
        return len(self.speed_factors) * super().train__len__()

    def training_step(self, batch, batch_idx: int):
        if self.margin_warmup_epochs > 0:
            trainer = self.model.trainer
            batches = max(trainer.num_training_batches, 1) if math.isfinite(trainer.num_training_batches) else 1
            progress = (trainer.current_epoch + batch_idx / batches) / self.margin_warmup_epochs
            self.model.loss_func.margin = math.radians(self.margin * min(1.0, progress))
            self.model.log("margin", math.degrees(self.model.loss_func.margin), on_step=False, on_epoch=True)
        return super().training_step(batch, batch_idx)

    def _validation_chunks(self) -> List[Dict]:
        """Fixed validation chunks: up to `num_validation_chunks` per identity"""
        per_identity: List[List[Dict]] = list()
        files, identities = dict(), dict()
        duration = self.validation_duration
        for file in self.protocol.development():
            for identity, timeline in speech_turns(file, self.exclude_overlap).items():
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
        metrics = {"EqualErrorRate": TrialEqualErrorRate(), "AUROC": TrialAUROC()}
        # within-file trials exist only when a development file has two identities
        # (not with single-speaker utterances such as ReadSpeech)
        identities_per_file = dict()
        for chunk in getattr(self, "_validation", None) or [{"file": 0, "y": 0}, {"file": 0, "y": 1}]:
            identities_per_file.setdefault(chunk["file"], set()).add(chunk["y"])
        if any(len(identities) > 1 for identities in identities_per_file.values()):
            metrics["WithinFileEqualErrorRate"] = TrialEqualErrorRate(within_file=True)
        return metrics

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
