"""Speaker diarization pipeline with frame-level ResNet embeddings.

Same structure as :class:`pyannote.audio.pipelines.SpeakerDiarization` (local
segmentation on a sliding window, one embedding per (chunk, local speaker),
clustering, reconstruction) except for the embedding step: instead of
re-running the embedding network on every (overlapping) chunk, its convolutional
trunk (``forward_frames``) runs once over long blocks of audio and each
(chunk, local speaker) embedding is obtained by masked statistics pooling
(``forward_embedding``) of the frames that chunk covers. Clustering is agglomerative,
spectral or VBx (:mod:`pyannote_resnet50.pipelines.clustering`); local speakers can be
checked before clustering (:mod:`pyannote_resnet50.pipelines.local_speakers`); the output can be made
exclusive (at most one speaker at a time, as pyannote.audio 4's
``exclusive_speaker_diarization``).
"""

import functools
import math
import warnings
from pathlib import Path
from typing import Callable, Optional, Text, Union

import numpy as np
import torch
from pyannote.audio import Audio, Model, Pipeline
from pyannote.audio.core.io import AudioFile
from pyannote.audio.pipelines.speaker_diarization import (
    SpeakerDiarization as PyannoteSpeakerDiarization,
)
from pyannote.audio.pipelines.utils import SpeakerDiarizationMixin, oracle_segmentation
from pyannote.audio.utils.signal import binarize
from pyannote.core import Annotation, Segment, SlidingWindow, SlidingWindowFeature
from pyannote.metrics.diarization import GreedyDiarizationErrorRate
from pyannote.pipeline.parameter import ParamDict, Uniform

from pyannote_resnet50.core.inference import StreamingInference
from pyannote_resnet50.core.io import check_audio, validate_file
from pyannote_resnet50.core.silence import SILENCE_AMPLITUDE, silent_frames
from pyannote_resnet50.pipelines.clustering import CLUSTERING_METHODS, VBxClustering, check_num_speakers
from pyannote_resnet50.pipelines.local_speakers import (
    CHECK_PARAMETERS,
    LOCAL_SPEAKER_CHECKS,
    WINDOWED_CHECKS,
    halve_local_speakers,
    split_local_speakers,
)
from pyannote_resnet50.pipelines.resegmentation import reassign_windows
from pyannote_resnet50.pipelines.uniform_windows import window_local_speakers
from pyannote_resnet50.pipelines.plda import PLDA, load_plda, model_fingerprint
from pyannote_resnet50.pipelines.utils import (
    DEFAULT_EMBEDDING,
    DEFAULT_SEGMENTATION,
    PathOrModel,
    fuse_batch_norm,
    load_model,
)

__all__ = ["SpeakerDiarization", "ORACLE"]

#: value of `segmentation` selecting the oracle (reference) segmentation upper bound
ORACLE = "oracle"
#: chunk duration (s) of the oracle segmentation (a model's: the one it was trained on)
ORACLE_DURATION = 10.0
#: audio context (in seconds) added on both sides of each embedding block
BLOCK_CONTEXT = 1.0


def seconds(name: str, value) -> float:
    """`value` as a positive duration in seconds, or a ValueError naming the argument `name`"""
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{name} must be a positive duration in seconds, not {value!r}.")
    return float(value)


def fill_exclusive_gaps(discrete_diarization: SlidingWindowFeature, min_duration_off: float) -> SlidingWindowFeature:
    """Fill a speaker's short silent gaps in an exclusive (one speaker per frame) diarization

    Parameters
    ----------
    discrete_diarization : (num_frames, num_speakers) SlidingWindowFeature
        Binary, at most one active speaker per frame.
    min_duration_off : float
        Silent gaps shorter than that (in seconds) between two turns of the same
        speaker are given to that speaker; gaps where someone else speaks are kept.

    Returns
    -------
    discrete_diarization : (num_frames, num_speakers) SlidingWindowFeature
        Still exclusive.
    """
    data = discrete_diarization.data
    labels = np.where(data.any(axis=1), data.argmax(axis=1), -1)
    starts = np.flatnonzero(np.diff(labels, prepend=labels[0] - 1))
    ends = np.append(starts[1:], len(labels))
    step = discrete_diarization.sliding_window.step
    for i in range(1, len(starts) - 1):
        start, end = starts[i], ends[i]
        if labels[start] == -1 and labels[start - 1] == labels[end] and (end - start) * step < min_duration_off:
            labels[start:end] = labels[start - 1]
    filled = np.zeros_like(data)
    frames = np.flatnonzero(labels >= 0)
    filled[frames, labels[frames]] = 1
    return SlidingWindowFeature(filled, discrete_diarization.sliding_window)


def check_speaker_count(diarization: Annotation, hard_clusters: np.ndarray, requested: dict) -> None:
    """Warn, saying why, when the speakers of `diarization` break the requested count

    The clustering honours ``num_speakers`` / ``min_speakers`` / ``max_speakers`` (it
    returns that many clusters) unless that means splitting one voice below its
    threshold (``forced_split_floor`` of :class:`~pyannote_resnet50.pipelines.clustering.AgglomerativeClustering`),
    and a cluster can still lose all its frames when the speaker timeline is rebuilt: in each frame, the speakers with the largest aggregated
    activation win, and a cluster holding a few embeddings that other clusters also
    claim (in the overlapping chunks) wins nowhere.

    Parameters
    ----------
    diarization : Annotation
        Output of the pipeline, labelled by cluster index.
    hard_clusters : (num_chunks, local_num_speakers) np.ndarray
        Cluster of each (chunk, local speaker) embedding; negative for inactive ones.
    requested : dict
        The ``num_speakers``, ``min_speakers`` and ``max_speakers`` given by the caller.
    """
    found = len(diarization.labels())
    low = requested.get("num_speakers", requested.get("min_speakers", 1))
    high = requested.get("num_speakers", requested.get("max_speakers", math.inf))
    if low <= found <= high:
        return

    def counted(count: int, noun: str) -> str:
        return f"{count} {noun}{'s' * (count != 1)}"

    asked = ", ".join(f"{name}={value}" for name, value in requested.items())
    asked += " was" if len(requested) == 1 else " were"
    sizes = np.bincount(hard_clusters[hard_clusters >= 0].ravel().astype(int))
    clusters = np.flatnonzero(sizes)
    embeddings = counted(int(sizes.sum()), "speaker embedding")
    lost = [k for k in clusters if k not in diarization.labels()]
    if sizes.sum() == 0:
        why = "no speech was found."
    elif sizes.sum() < low:
        why = (f"there is too little speech to tell {low} voices apart (the clustering could only make "
               f"{counted(len(clusters), 'cluster')} of its {embeddings}).")
    elif len(clusters) < low:
        why = (f"the embeddings do not separate {low} voices: the clustering made "
               f"{counted(len(clusters), 'cluster')} of its {embeddings}, as more would split one voice below "
               "its threshold (pipeline.clustering.forced_split_floor = 0 splits as deep as it takes).")
    elif lost:
        held = " and ".join(str(sizes[k]) for k in lost)
        why = (f"the clustering made {len(clusters)} clusters of its {embeddings}, but "
               + (f"one of them ({counted(int(sizes[lost[0]]), 'embedding')}) lost all its" if len(lost) == 1
                  else f"{len(lost)} of them ({held} embeddings) lost all their")
               + " speech to other speakers when the speaker timeline was rebuilt: in this recording the "
               "embeddings do not separate as many voices as requested.")
    else:
        why = f"the clustering made {counted(len(clusters), 'cluster')}."
    speakers = counted(found, "speaker")
    warnings.warn(f"{diarization.uri}: {speakers} in the output, although {asked} requested: {why}")


class SpeakerDiarization(SpeakerDiarizationMixin, Pipeline):
    """Speaker diarization with frame-level ResNet embeddings

    Parameters
    ----------
    segmentation : Model, str, Path or dict, optional
        Segmentation model (powerset or multilabel): `Model` instance, local checkpoint
        path, or ``Model.from_pretrained`` keyword arguments. Relative paths are
        resolved against the config.yaml being loaded by ``Pipeline.from_pretrained``,
        else against the working directory. Defaults to the shipped pipeline's
        ``pyannote_resnet50/data/checkpoints/segmentation-voices.ckpt``.
        "oracle" uses the reference ``file["annotation"]`` as segmentation: an
        **upper bound** for benchmarks (exact speech, overlap and local speakers; only
        embedding and clustering errors remain), never a real-world setting.
    segmentation_step : float, optional
        Step of the segmentation sliding window, as a ratio of its duration.
        Defaults to 0.5 (each frame seen by two chunks).
    segmentation_duration : float, optional
        Chunk duration of the segmentation, in seconds. Defaults to the one the model
        was trained on (10 s for the oracle segmentation). Shorter chunks hold fewer
        speakers for the model to keep apart, and give shorter local speakers to embed:
        a model applied to other chunks than it was trained on gets pyannote.audio's
        warning, and is best fine-tuned on them (``DURATION`` of
        ``recipes/segmentation/train.sh``).
    embedding : Model, str, Path or dict, optional
        Embedding model with the ``forward_frames`` / ``forward_embedding`` contract of
        pyannote.audio's WeSpeaker ResNets (e.g. ``pyannote_resnet50.models.ResNet50``).
        Same formats as `segmentation`. Defaults to the committed
        ``pyannote_resnet50/data/checkpoints/embedding-voices.ckpt``.
    embedding_exclude_overlap : bool, optional
        Pool only the frames where the local speaker is the only active one, as
        pyannote.audio's ``embedding_exclude_overlap``; falls back to all their frames
        when fewer than `embedding_min_frames` clean frames remain. Defaults to True.
    embedding_block_duration : float, optional
        Duration of the audio blocks the embedding trunk runs on, in seconds.
        Defaults to 60. Consecutive blocks overlap by one chunk plus
        ``BLOCK_CONTEXT`` seconds of context on each side.
    embedding_min_frames : int, optional
        Minimum number of embedding frames to pool (fewer gives a NaN embedding,
        ignored by clustering). Defaults to 2 (unbiased standard deviation).
    clustering : {"AgglomerativeClustering", "SpectralClustering", "VBxClustering"}, optional
        Clustering method (:mod:`pyannote_resnet50.pipelines.clustering`): pyannote's
        agglomerative clustering (a tuned threshold decides the number of speakers),
        spectral clustering with an eigengap estimate of the number of speakers
        and auto-tuned affinity pruning (NME-SC; no hyper-parameter), or VBx
        (agglomerative initialisation + variational-Bayes HMM in PLDA space, Landini et
        al. 2022; needs `plda`). Defaults to "AgglomerativeClustering".
    segmentation_batch_size : int, optional
        Batch size of segmentation inference. Defaults to 32.
    embedding_batch_size : int, optional
        Number of chunks pooled at once. Defaults to 32.
    der_variant : dict, optional
        Variant of the diarization error rate optimised by ``get_metric``.
        Defaults to {"collar": 0.0, "skip_overlap": False}.
    plda : str, Path or PLDA, optional
        PLDA of VBx clustering (ignored by the other methods): npz file written by
        ``python -m pyannote_resnet50.pipelines.plda`` (relative paths resolved as
        `segmentation`), or a :class:`~pyannote_resnet50.pipelines.plda.PLDA`. It must
        have been trained on embeddings of `embedding` (a warning says when the
        weights fingerprint it stores differs). Defaults to
        ``pyannote_resnet50/data/checkpoints/plda-voices.npz`` (the shipped
        embedding's; ``bash recipes/plda/train.sh`` writes it).
    exclusive : bool, optional
        Default of `apply`'s `exclusive`: at most one speaker at a time. Defaults to False.
    silence_amplitude : float, optional
        Frames of the segmentation whose audio (their receptive field) never exceeds this
        absolute amplitude are digital silence, never speech (the segmentation model
        normalises its input and cannot tell; see :mod:`pyannote_resnet50.core.silence`).
        Defaults to ``SILENCE_AMPLITUDE`` (2⁻¹⁴: 2 least significant bits of 16-bit
        audio). None: the segmentation is used as it is.
    local_speaker_check : {"none", "split_halves", "uniform_windows", "reassign_windows"}, optional
        Check of the local speakers before clustering
        (:mod:`pyannote_resnet50.pipelines.local_speakers`). The segmentation model
        sometimes gives two voices of a chunk the same local speaker, whose single
        embedding then mixes them. "split_halves" also embeds the two halves of every
        (chunk, local speaker) activity (in the same pass of the embedding trunk, which
        still runs once per block: only pooling and the embedding head run on three times
        as many slots) and makes two local speakers of each one
        whose half embeddings are further apart (cosine distance) than
        ``local_speakers.threshold``, each half holding at least
        ``local_speakers.min_duration`` seconds of speech; clustering and reconstruction
        then work on twice as many local speaker slots (the extra ones empty unless
        split). "uniform_windows" (:mod:`~pyannote_resnet50.pipelines.uniform_windows`)
        cuts every local speaker's activity by windows of `uniform_window` seconds of
        the chunk, each part a local speaker of its own (own embedding, own cluster).
        "reassign_windows" (:mod:`~pyannote_resnet50.pipelines.resegmentation`) clusters
        the whole local speakers as "none" does, then sends each window part of a local
        speaker with at least ``resegmentation.min_duration`` seconds of speech to the
        speaker whose centroid is closest to its embedding, unless its own speaker's is
        within ``resegmentation.margin`` (similarity). Defaults to "none" (no check: the
        pipeline as before the option).
    uniform_window : float, optional
        With ``local_speaker_check="uniform_windows"`` or "reassign_windows": duration of the windows, in
        seconds (the chunk is cut into ``round(chunk duration / uniform_window)`` equal
        windows). Defaults to 2.5 (4 windows of a 10 s chunk).
    use_auth_token : str, optional
        Ignored (models are local); accepted because ``Pipeline.from_pretrained``
        passes it.

    Usage
    -----
    >>> pipeline = SpeakerDiarization()          # the shipped pipeline's checkpoints
    >>> pipeline.instantiate(pipeline.default_parameters())
    >>> diarization = pipeline("audio.wav")
    >>> diarization = pipeline("audio.wav", num_speakers=2)
    >>> diarization = pipeline("audio.wav", min_speakers=2, max_speakers=5)
    >>> diarization = pipeline("audio.wav", exclusive=True)  # no overlapped speech

    Hyper-parameters
    ----------------
    segmentation.threshold : float in [0.1, 0.9]
        Activation threshold (multilabel segmentation models only).
    segmentation.min_duration_off : float in [0, 1]
        Fill same-speaker gaps shorter than that many seconds.
    clustering.threshold : float in [0, 2]
        Agglomerative clustering distance threshold (cosine). This and the next three
        exist with ``clustering="AgglomerativeClustering"`` only.
    clustering.method : {"average", "centroid", "complete", "median", "single", "ward", "weighted"}
        Linkage method.
    clustering.min_cluster_size : int in [1, 20]
        Clusters with fewer embeddings are reassigned to the nearest large cluster.
    clustering.min_cluster_fraction : float in [0, 0.1]
        Same, relative to the number of embeddings (the larger of the two applies).
    clustering.threshold, clustering.Fa, clustering.Fb, clustering.loopP
        With ``clustering="VBxClustering"``: threshold of its agglomerative
        initialisation (in [0.2, 1.2]), VBx acoustic scaling (in [0.01, 1]), speaker
        regularisation (in [0.01, 20]) and loop probability (in [0, 0.99]); see
        :class:`~pyannote_resnet50.pipelines.clustering.VBxClustering`.
    local_speakers.threshold : float in [0, 2]
        With ``local_speaker_check="split_halves"`` only: a local speaker is split when
        the cosine distance between the embeddings of its halves exceeds it (default 0.5,
        not tuned: above the shipped clustering threshold, 0.80 in euclidean distance
        between unit-norm embeddings, i.e. a cosine distance of 0.32, as halves are
        shorter, hence noisier, than whole local speakers).
    local_speakers.min_duration : float in [0.5, 3]
        ... and each half has at least that many seconds of speech (default 1.0).
    resegmentation.margin : float in [0, 1]
        With ``local_speaker_check="reassign_windows"`` only: similarity bonus (``2 -
        cosine distance``) of a window part's own cluster (default 0.1).
    resegmentation.min_duration : float in [0, 2.5]
        ... parts with less speech (seconds) keep their local speaker's cluster (default 1.0).
    """

    def __init__(
        self,
        segmentation: PathOrModel = None,
        segmentation_step: float = 0.5,
        segmentation_duration: Optional[float] = None,
        embedding: PathOrModel = None,
        embedding_exclude_overlap: bool = True,
        embedding_block_duration: float = 60.0,
        embedding_min_frames: int = 2,
        clustering: str = "AgglomerativeClustering",
        segmentation_batch_size: int = 32,
        embedding_batch_size: int = 32,
        der_variant: Optional[dict] = None,
        plda: Union[Text, Path, PLDA, None] = None,
        exclusive: bool = False,
        silence_amplitude: Optional[float] = SILENCE_AMPLITUDE,
        local_speaker_check: str = "none",
        uniform_window: float = 2.5,
        use_auth_token: Union[Text, None] = None,
    ):
        super().__init__()

        if clustering not in CLUSTERING_METHODS:
            raise ValueError(
                f"clustering must be one of {', '.join(map(repr, CLUSTERING_METHODS))}, not {clustering!r}."
            )
        self.klustering = clustering
        if not isinstance(exclusive, bool):
            raise TypeError(f"exclusive must be True or False, not {exclusive!r}.")
        self.exclusive = exclusive
        if not isinstance(local_speaker_check, str) or local_speaker_check not in LOCAL_SPEAKER_CHECKS:
            raise ValueError(
                f"local_speaker_check must be one of {', '.join(map(repr, LOCAL_SPEAKER_CHECKS))}, "
                f"not {local_speaker_check!r}."
            )
        self.local_speaker_check = local_speaker_check
        self.uniform_window = seconds("uniform_window", uniform_window)

        self.segmentation_step = segmentation_step
        self.der_variant = der_variant or {"collar": 0.0, "skip_overlap": False}

        if segmentation_duration is not None:
            segmentation_duration = seconds("segmentation_duration", segmentation_duration)
        self.oracle = isinstance(segmentation, str) and segmentation == ORACLE
        if self.oracle:
            segmentation_duration = segmentation_duration or ORACLE_DURATION
            self.segmentation_model = ORACLE
            self._segmentation_window = SlidingWindow(
                start=0.0,
                duration=segmentation_duration,
                step=segmentation_step * segmentation_duration,
            )
            # reference annotation discretized at 10 ms
            self._segmentation_frames = SlidingWindow(start=0.0, duration=0.01, step=0.01)
            self._segmentation_batch_size = segmentation_batch_size
            self.powerset = True  # binary already: no threshold to tune
        else:
            model: Model = load_model(segmentation, DEFAULT_SEGMENTATION)
            self.segmentation_model = segmentation
            duration = segmentation_duration or model.specifications.duration
            # reads the audio block by block (pyannote's Inference loads it whole)
            self._segmentation = StreamingInference(
                model,
                duration=duration,
                step=segmentation_step * duration,
                skip_aggregation=True,
                batch_size=segmentation_batch_size,
            )
            self._segmentation_window = SlidingWindow(
                start=0.0, duration=duration, step=segmentation_step * duration
            )
            self._segmentation_frames = model.receptive_field
            self.powerset = bool(model.specifications.powerset)

        if self.powerset:
            self.segmentation = ParamDict(min_duration_off=Uniform(0.0, 1.0))
        else:
            self.segmentation = ParamDict(
                threshold=Uniform(0.1, 0.9), min_duration_off=Uniform(0.0, 1.0)
            )

        self.embedding = embedding
        # batch normalisation folded into convolutions (inference only, checked)
        embedding_model = load_model(embedding, DEFAULT_EMBEDDING)
        self._embedding: Model = fuse_batch_norm(embedding_model)
        self._audio = Audio(sample_rate=self._embedding.hparams.sample_rate, mono="downmix")
        self.embedding_exclude_overlap = embedding_exclude_overlap
        self.embedding_block_duration = embedding_block_duration
        self.embedding_min_frames = embedding_min_frames
        self.embedding_batch_size = embedding_batch_size
        if silence_amplitude is not None and not 0.0 <= silence_amplitude < 1.0:
            raise ValueError(f"silence_amplitude must be in [0, 1) (full scale is 1), or None, "
                             f"not {silence_amplitude!r}.")
        self.silence_amplitude = silence_amplitude

        if clustering == "VBxClustering":
            self.plda = plda
            self.clustering = VBxClustering(plda=self._load_plda(plda, embedding_model), metric="cosine")
        else:
            self.clustering = CLUSTERING_METHODS[clustering](metric="cosine")
        # the hyper-parameters of the check, in its group (CHECK_PARAMETERS)
        if local_speaker_check == "split_halves":
            self.local_speakers = ParamDict(threshold=Uniform(0.0, 2.0), min_duration=Uniform(0.5, 3.0))
        elif local_speaker_check == "reassign_windows":
            self.resegmentation = ParamDict(margin=Uniform(0.0, 1.0), min_duration=Uniform(0.0, 2.5))

    def _load_plda(self, plda, embedding_model: Model) -> PLDA:
        """Load the PLDA of VBx; check that it fits the embedding model"""
        # a PLDA object comes from a pipeline that checked it (e.g. `oracle_twin`)
        already_checked = isinstance(plda, PLDA)
        plda = load_plda(plda)
        if plda.dimension != self._embedding.dimension:
            raise ValueError(
                f"the PLDA was trained on {plda.dimension}-dimensional embeddings but the embedding model "
                f"gives {self._embedding.dimension}-dimensional ones: train a PLDA on this model's embeddings "
                f"(python -m pyannote_resnet50.pipelines.plda PROTOCOL OUTPUT.npz --embedding CHECKPOINT)."
            )
        trained_with = plda.info.get("embedding_fingerprint")
        if trained_with and not already_checked and trained_with != model_fingerprint(embedding_model):
            warnings.warn(
                f"the PLDA was trained on embeddings of another model ({plda.info.get('embedding', 'unknown')}) "
                "than the pipeline's: VBx expects a PLDA of the same embedding model "
                "(python -m pyannote_resnet50.pipelines.plda PROTOCOL OUTPUT.npz --embedding CHECKPOINT)."
            )
        return plda

    def oracle_twin(
        self,
        segmentation: bool = True,
        clustering: bool = False,
        local_speaker_check: Optional[str] = None,
    ) -> "SpeakerDiarization":
        """This pipeline with oracle (reference) parts: upper bounds for benchmarks

        Same embedding model, exclusive option and instantiated hyper-parameters; the
        parts made oracle use ``file["annotation"]``, which is then needed at call time.

        Parameters
        ----------
        segmentation : bool, optional
            Replace the segmentation by the reference's (default), isolating the
            embedding and the clustering. False keeps the segmentation model.
        clustering : bool, optional
            Replace the clustering by :class:`~pyannote_resnet50.pipelines.clustering.OracleClustering`
            (each local speaker goes to the reference speaker it matches), isolating the
            segmentation. Defaults to False: same clustering method (and PLDA, and
            ``forced_split_floor``).
        local_speaker_check : str, optional
            The twin's local-speaker check (e.g. "none": the local speakers as the
            segmentation made them). Defaults to this pipeline's.

        Returns
        -------
        twin : SpeakerDiarization
            Instantiated.
        """
        if not (segmentation or clustering):
            raise ValueError("oracle_twin: nothing made oracle (segmentation=False, clustering=False); "
                             "use the pipeline itself.")
        if self.oracle and not segmentation:
            raise ValueError("oracle_twin(segmentation=False): this pipeline has no segmentation model.")
        klustering = "OracleClustering" if clustering else self.klustering
        check = self.local_speaker_check if local_speaker_check is None else local_speaker_check
        twin = SpeakerDiarization(
            segmentation=ORACLE if segmentation else self._segmentation.model,
            segmentation_step=self.segmentation_step,
            segmentation_duration=self._segmentation_window.duration,
            embedding=self._embedding,
            embedding_exclude_overlap=self.embedding_exclude_overlap,
            embedding_block_duration=self.embedding_block_duration,
            embedding_min_frames=self.embedding_min_frames,
            clustering=klustering,
            plda=self.clustering.plda if klustering == "VBxClustering" else None,
            exclusive=self.exclusive,
            der_variant=self.der_variant,
            silence_amplitude=self.silence_amplitude,
            local_speaker_check=check,
            uniform_window=self.uniform_window,
        )
        if hasattr(self.clustering, "forced_split_floor") and hasattr(twin.clustering, "forced_split_floor"):
            twin.clustering.forced_split_floor = self.clustering.forced_split_floor  # a constructor option
        params = self.parameters(instantiated=True)
        if segmentation:
            params["segmentation"] = {"min_duration_off": params["segmentation"]["min_duration_off"]}
        if clustering:
            params.pop("clustering", None)
        if check != self.local_speaker_check:  # the check's hyper-parameters: the twin's check's defaults
            for group in CHECK_PARAMETERS.values():
                params.pop(group, None)
            params.update({group: value for group, value in twin.default_parameters().items()
                           if group in CHECK_PARAMETERS.values()})
        return twin.instantiate(params)

    # ~~~~ configuration ~~~~

    @property
    def segmentation_batch_size(self) -> int:
        if self.oracle:
            return self._segmentation_batch_size
        return self._segmentation.batch_size

    @segmentation_batch_size.setter
    def segmentation_batch_size(self, batch_size: int):
        if self.oracle:
            self._segmentation_batch_size = batch_size
        else:
            self._segmentation.batch_size = batch_size

    @property
    def num_windows(self) -> int:
        """Uniform windows of a chunk (``local_speaker_check`` "uniform_windows" or "reassign_windows"; 1 otherwise)"""
        if self.local_speaker_check not in WINDOWED_CHECKS:
            return 1
        return max(1, round(self._segmentation_window.duration / self.uniform_window))

    @property
    def embedding_frames(self) -> SlidingWindow:
        """Frames of the embedding trunk (``forward_frames``), relative to its input start."""
        return self._embedding.receptive_field

    def default_parameters(self) -> dict:
        """Hyper-parameters used when the pipeline is applied before being instantiated."""
        segmentation = {"min_duration_off": 0.0}
        if not self.powerset:
            segmentation["threshold"] = 0.5
        params = {"segmentation": segmentation}
        if self.klustering == "VBxClustering":
            # pyannote.audio 4's (community-1) values; loopP 0: embeddings independent
            params["clustering"] = {"threshold": 0.6, "Fa": 0.07, "Fb": 0.8, "loopP": 0.0}
        elif self.klustering == "AgglomerativeClustering":
            params["clustering"] = {"method": "centroid", "min_cluster_size": 3, "min_cluster_fraction": 0.0,
                                    "threshold": 0.7}
        # (SpectralClustering has no hyper-parameter: auto-tuned pruning and count)
        if self.local_speaker_check == "split_halves":
            params["local_speakers"] = {"threshold": 0.5, "min_duration": 1.0}
        elif self.local_speaker_check == "reassign_windows":
            params["resegmentation"] = {"margin": 0.1, "min_duration": 1.0}
        return params

    @staticmethod
    def set_num_speakers(
        num_speakers: Optional[int] = None,
        min_speakers: Optional[int] = None,
        max_speakers: Optional[int] = None,
    ):
        """Validate the number of speakers (see :func:`check_num_speakers`), as pyannote.audio

        Returns
        -------
        num_speakers : int or None
        min_speakers : int
        max_speakers : int or np.inf
        """
        check_num_speakers(num_speakers, min_speakers, max_speakers)
        return SpeakerDiarizationMixin.set_num_speakers(
            num_speakers=num_speakers, min_speakers=min_speakers, max_speakers=max_speakers
        )

    def get_metric(self) -> GreedyDiarizationErrorRate:
        return GreedyDiarizationErrorRate(**self.der_variant)

    # ~~~~ segmentation ~~~~

    @property
    def CACHED_SEGMENTATION(self) -> str:
        return "training_cache/segmentation"

    @property
    def CACHED_EMBEDDINGS(self) -> str:
        return "training_cache/embeddings"

    def get_segmentations(self, file: AudioFile, hook: Optional[Callable] = None) -> SlidingWindowFeature:
        """Apply the segmentation model (or the oracle) on a sliding window

        Parameters
        ----------
        file : AudioFile
        hook : callable, optional

        Returns
        -------
        segmentations : (num_chunks, num_frames, local_num_speakers) SlidingWindowFeature
            Speaker activations (powerset models and oracle: binary), 0 in the frames of
            digital silence (`silence_amplitude`).
        """
        if self.training and self.CACHED_SEGMENTATION in file:
            return file[self.CACHED_SEGMENTATION]
        # NaN / Inf samples would silently blank a window of output: refuse them
        check_audio(file)

        if self.oracle:
            if "annotation" not in file:
                raise ValueError("oracle segmentation (upper bound) needs file['annotation'].")
            # chunks as pyannote.audio's Inference slides them: the last one is
            # zero-padded past the end of the file
            window = self._segmentation_window
            duration = self._audio.get_duration(file)
            num_steps = max(0, math.ceil((duration - window.duration) / window.step))
            padded = {
                "annotation": file["annotation"],
                "duration": window.duration + num_steps * window.step,
            }
            segmentations = oracle_segmentation(padded, window, frames=self._segmentation_frames)
            if segmentations.data.shape[2] == 0:  # empty reference
                segmentations = SlidingWindowFeature(
                    np.zeros(segmentations.data.shape[:2] + (1,), dtype=np.float32),
                    segmentations.sliding_window,
                )
        else:
            if hook is not None:
                hook = functools.partial(hook, "segmentation", None)
            segmentations = self._segmentation(file, hook=hook)
            if self.silence_amplitude is not None:
                num_chunks, num_frames, _ = segmentations.data.shape
                silent = silent_frames(
                    file, segmentations.sliding_window, num_chunks, self._segmentation_frames, num_frames,
                    self._segmentation.model.audio, amplitude=self.silence_amplitude,
                )
                segmentations.data[silent] = 0.0

        if self.training:
            file[self.CACHED_SEGMENTATION] = segmentations
        return segmentations

    def binarize(self, segmentations: SlidingWindowFeature) -> SlidingWindowFeature:
        """Binarize segmentation with ``segmentation.threshold`` (multilabel models only)

        Parameters
        ----------
        segmentations : (num_chunks, num_frames, local_num_speakers) SlidingWindowFeature

        Returns
        -------
        binarized_segmentations : (num_chunks, num_frames, local_num_speakers) SlidingWindowFeature
        """
        if self.powerset:
            return segmentations
        return binarize(segmentations, onset=self.segmentation.threshold, initial_state=False)

    # ~~~~ embeddings ~~~~

    def _blocks(self, num_chunks: int):
        """Split chunk indices into blocks of `embedding_block_duration` seconds."""
        chunks_per_block = max(1, round(self.embedding_block_duration / self._segmentation_window.step))
        for first in range(0, num_chunks, chunks_per_block):
            yield np.arange(first, min(num_chunks, first + chunks_per_block))

    def get_embeddings(
        self,
        file: AudioFile,
        binary_segmentations: SlidingWindowFeature,
        exclude_overlap: bool = True,
        hook: Optional[Callable] = None,
    ) -> np.ndarray:
        """Extract one embedding per (chunk, local speaker)

        The embedding trunk (``forward_frames``) runs once per block of audio; each
        (chunk, speaker) embedding pools (``forward_embedding``) the block frames
        covered by the chunk, weighted by the speaker activity resampled to the
        embedding frame rate.

        Parameters
        ----------
        file : AudioFile
        binary_segmentations : (num_chunks, num_frames, local_num_speakers) SlidingWindowFeature
            Binarized segmentation.
        exclude_overlap : bool, optional
            Exclude frames where several local speakers are active (unless fewer than
            `embedding_min_frames` frames remain).
        hook : callable, optional
            Called after every block to report progress.

        Returns
        -------
        embeddings : (num_chunks, local_num_speakers, dimension) np.ndarray
            NaN for inactive (or almost inactive) speakers. With
            ``local_speaker_check="uniform_windows"``: (num_chunks, num_windows *
            local_num_speakers, dimension), one per window part of each local speaker
            (:func:`~pyannote_resnet50.pipelines.uniform_windows.window_local_speakers`).
            With ``local_speaker_check="split_halves"``: (num_chunks, 3 * local_num_speakers,
            dimension), the embeddings of the local speakers followed by those of their
            halves (:func:`~pyannote_resnet50.pipelines.local_speakers.halve_local_speakers`),
            pooled from the same trunk frames; overlap is that of the local speakers (the
            two halves of one speaker never overlap each other's). With
            ``local_speaker_check="reassign_windows"``: (num_chunks, (1 + num_windows) *
            local_num_speakers, dimension), the embeddings of the local speakers followed by
            those of their window parts.
        """
        threshold = None if self.powerset else self.segmentation.threshold
        num_slots = binary_segmentations.data.shape[2] * (
            3 if self.local_speaker_check == "split_halves"
            else 1 + self.num_windows if self.local_speaker_check == "reassign_windows"
            else self.num_windows)
        if self.training:
            cache = file.get(self.CACHED_EMBEDDINGS, dict())
            if ("embeddings" in cache and cache["segmentation.threshold"] == threshold
                    and cache["embeddings"].shape[1] == num_slots):
                return cache["embeddings"]

        chunks: SlidingWindow = binary_segmentations.sliding_window
        masks = np.nan_to_num(binary_segmentations.data, nan=0.0).astype(np.float32)
        num_chunks, num_frames, local_num_speakers = masks.shape
        single = np.sum(masks, axis=2, keepdims=True) < 2  # frames without overlapped speech
        # halves or windows pooled as more slots: the trunk still runs once per block
        if self.local_speaker_check == "split_halves":
            masks = np.concatenate([masks, halve_local_speakers(SlidingWindowFeature(masks, chunks)).data], axis=2)
        elif self.local_speaker_check == "reassign_windows":
            masks = np.concatenate(
                [masks, window_local_speakers(SlidingWindowFeature(masks, chunks), self.num_windows).data], axis=2)
        elif num_slots > local_num_speakers:
            masks = window_local_speakers(SlidingWindowFeature(masks, chunks), self.num_windows).data
        if exclude_overlap:
            clean = masks * single
        else:
            clean = masks
        num_speakers = masks.shape[2]

        model = self._embedding
        frames: SlidingWindow = self.embedding_frames
        sample_rate = self._audio.sample_rate
        # frames of the segmentation, relative to chunk start
        seg_frames: SlidingWindow = self._segmentation_frames
        seg_center = seg_frames.start + 0.5 * seg_frames.duration
        emb_center = frames.start + 0.5 * frames.duration
        num_emb_frames = max(1, round(chunks.duration / frames.step))
        # context on both sides of a block so that border frames of its chunks see
        # real audio (``receptive_field.duration`` of pyannote.audio models only
        # accounts for the frontend window, hence the fixed minimum)
        margin = max(0.5 * frames.duration, BLOCK_CONTEXT)

        embeddings = np.full((num_chunks, num_speakers, model.dimension), np.nan, dtype=np.float32)
        active = np.sum(masks, axis=1) > 0  # (num_chunks, num_speakers)

        blocks = list(self._blocks(num_chunks))
        if hook is not None:
            hook("embeddings", None, total=len(blocks), completed=0)

        for b, block in enumerate(blocks, 1):
            block = block[np.any(active[block], axis=1)]
            if len(block) > 0:
                start = max(0.0, chunks[block[0]].start - margin)
                end = chunks[block[-1]].end + margin
                waveform, _ = self._audio.crop(file, Segment(start, end), mode="pad")
                with torch.inference_mode():
                    block_frames = model.forward_frames(waveform[None].to(model.device))
                # block_frames: (1, ..., num_block_frames)
                num_block_frames = block_frames.shape[-1]

                # first embedding frame of each chunk, and frame times relative to chunk
                chunk_starts = np.array([chunks[c].start for c in block])
                first = np.ceil((chunk_starts - start - emb_center) / frames.step).astype(int)
                index = first[:, None] + np.arange(num_emb_frames)[None]
                times = start + emb_center + index * frames.step - chunk_starts[:, None]
                # nearest segmentation frame of each embedding frame
                seg_index = np.clip(np.rint((times - seg_center) / seg_frames.step).astype(int), 0, num_frames - 1)
                outside = (index < 0) | (index >= num_block_frames)
                index = np.clip(index, 0, num_block_frames - 1)

                for i in range(0, len(block), self.embedding_batch_size):
                    batch = slice(i, i + self.embedding_batch_size)
                    chunk_index = block[batch]
                    weights = self._weights(
                        masks[chunk_index], clean[chunk_index], seg_index[batch], outside[batch]
                    )
                    valid = weights.sum(axis=2) >= self.embedding_min_frames
                    if not np.any(valid):
                        continue
                    batch_frames = block_frames[0][..., torch.from_numpy(index[batch])]
                    # (..., batch, num_emb_frames) -> (batch, ..., num_emb_frames)
                    batch_frames = torch.movedim(batch_frames, -2, 0)
                    with torch.inference_mode():
                        batch_embeddings = model.forward_embedding(
                            batch_frames, weights=torch.from_numpy(weights).to(model.device)
                        )
                    batch_embeddings = batch_embeddings.float().cpu().numpy()
                    batch_embeddings[~valid] = np.nan
                    embeddings[chunk_index] = batch_embeddings

            if hook is not None:
                hook("embeddings", None, total=len(blocks), completed=b)

        if self.training:
            file[self.CACHED_EMBEDDINGS] = {"segmentation.threshold": threshold, "embeddings": embeddings}
        return embeddings

    def _weights(
        self, masks: np.ndarray, clean: np.ndarray, seg_index: np.ndarray, outside: np.ndarray
    ) -> np.ndarray:
        """Pooling weights of a batch of chunks at the embedding frame rate

        Parameters
        ----------
        masks, clean : (batch, num_frames, num_speakers) np.ndarray
            Speaker activity (all, overlap-free) at segmentation frame rate.
        seg_index : (batch, num_emb_frames) np.ndarray
            Segmentation frame of each embedding frame.
        outside : (batch, num_emb_frames) np.ndarray
            Embedding frames outside the computed block (zero weight).

        Returns
        -------
        weights : (batch, num_speakers, num_emb_frames) np.ndarray
        """
        rows = np.arange(len(masks))[:, None]
        full = masks[rows, seg_index].transpose(0, 2, 1) * ~outside[:, None]
        clean = clean[rows, seg_index].transpose(0, 2, 1) * ~outside[:, None]
        use_clean = clean.sum(axis=2, keepdims=True) >= self.embedding_min_frames
        return np.where(use_clean, clean, full).astype(np.float32)

    def __call__(self, file: AudioFile, **kwargs):
        """Apply the pipeline (pyannote.audio's ``Pipeline.__call__``) to `file`

        In-memory waveforms are validated by
        :func:`pyannote_resnet50.core.io.validate_file`: any float dtype, integer PCM,
        numpy arrays and ``(time,)`` waveforms are converted, anything else (and a sample
        rate that is not a positive integer) is refused with a clear message.
        """
        return super().__call__(validate_file(file), **kwargs)

    # ~~~~ reconstruction (same as pyannote.audio) ~~~~

    reconstruct = PyannoteSpeakerDiarization.reconstruct

    def apply(
        self,
        file: AudioFile,
        num_speakers: Optional[int] = None,
        min_speakers: Optional[int] = None,
        max_speakers: Optional[int] = None,
        return_embeddings: bool = False,
        hook: Optional[Callable] = None,
        exclusive: Optional[bool] = None,
    ) -> Annotation:
        """Apply speaker diarization

        Parameters
        ----------
        file : AudioFile
            Processed file.
        num_speakers : int, optional
            Number of speakers, when known (a positive int). The clustering makes that
            many clusters; when the output still has another number of speakers (a
            cluster can lose all its speech when the speaker timeline is rebuilt, or
            there is too little speech), a warning names the file and says why
            (:func:`check_speaker_count`). Same for `min_speakers` and `max_speakers`.
        min_speakers : int, optional
            Minimum number of speakers (a positive int). When `num_speakers` is
            provided, it must lie within `min_speakers` and `max_speakers`.
        max_speakers : int, optional
            Maximum number of speakers (a positive int, at least `min_speakers`).
        return_embeddings : bool, optional
            Return representative speaker embeddings.
        hook : callable, optional
            Called after each step as ``hook(step_name, step_artefact, file=file)``
            (plus ``total`` and ``completed`` for long steps), e.g.
            :class:`pyannote.audio.pipelines.utils.hook.ProgressHook`.
        exclusive : bool, optional
            Exclusive speaker diarization: at most one speaker at a time, the most
            active one (in the aggregated segmentation) where several overlap, as
            pyannote.audio 4's ``exclusive_speaker_diarization``; same-speaker gaps
            shorter than ``segmentation.min_duration_off`` are only filled where no one
            else speaks. Defaults to the pipeline's `exclusive` (False).

        Returns
        -------
        diarization : Annotation
            Speaker diarization (overlapped speech included unless `exclusive`).
        embeddings : np.ndarray, optional
            (num_speakers, dimension) centroids, in the order of ``diarization.labels()``.
            Only returned when `return_embeddings` is True.
        """
        exclusive = self.exclusive if exclusive is None else exclusive
        if not isinstance(exclusive, (bool, np.bool_)):
            raise TypeError(f"exclusive must be True or False, not {exclusive!r}.")
        hook = self.setup_hook(file, hook=hook)

        requested = {name: value for name, value in (
            ("num_speakers", num_speakers), ("min_speakers", min_speakers), ("max_speakers", max_speakers)
        ) if value is not None}
        num_speakers, min_speakers, max_speakers = self.set_num_speakers(
            num_speakers=num_speakers, min_speakers=min_speakers, max_speakers=max_speakers
        )

        segmentations = self.get_segmentations(file, hook=hook)
        hook("segmentation", segmentations)
        num_chunks, num_frames, local_num_speakers = segmentations.data.shape

        binarized_segmentations = self.binarize(segmentations)

        count = self.speaker_count(
            binarized_segmentations, self._segmentation_frames, warm_up=(0.0, 0.0)
        )
        hook("speaker_counting", count)

        # exit early when no speaker is ever active
        if np.nanmax(count.data) == 0.0:
            diarization = Annotation(uri=file["uri"])
            if requested:
                check_speaker_count(diarization, np.full((num_chunks, local_num_speakers), -2), requested)
            if return_embeddings:
                return diarization, np.zeros((0, self._embedding.dimension))
            return diarization

        if not return_embeddings and max_speakers < 2:
            hard_clusters = np.zeros((num_chunks, local_num_speakers), dtype=np.int8)
            centroids = None
        else:
            embeddings = self.get_embeddings(
                file,
                binarized_segmentations,
                exclude_overlap=self.embedding_exclude_overlap,
                hook=hook,
            )
            hook("embeddings", embeddings)
            if self.local_speaker_check == "split_halves":
                # 2 x local_num_speakers slots from now on: a split local speaker's second half
                # in slot local_num_speakers + k (count unchanged: halves never overlap)
                segmentations, binarized_segmentations, embeddings, split = split_local_speakers(
                    segmentations,
                    binarized_segmentations,
                    embeddings[:, :local_num_speakers],
                    embeddings[:, local_num_speakers:],
                    threshold=self.local_speakers.threshold,
                    min_duration=self.local_speakers.min_duration,
                    frame_duration=self._segmentation_frames.step,
                )
                local_num_speakers *= 2
                hook("local_speakers", split)
            elif self.local_speaker_check == "uniform_windows":
                # each window part of a local speaker is a local speaker of its own (count unchanged:
                # the parts of one speaker never overlap)
                segmentations = window_local_speakers(segmentations, self.num_windows)
                binarized_segmentations = window_local_speakers(binarized_segmentations, self.num_windows)
                local_num_speakers *= self.num_windows
            elif self.local_speaker_check == "reassign_windows":
                # clustered as without a check; the window parts are re-assigned afterwards
                embeddings, window_embeddings = embeddings[:, :local_num_speakers], embeddings[:, local_num_speakers:]
            if np.all(np.isnan(embeddings)) and self.klustering != "OracleClustering":
                # speech too short to embed anywhere: a single speaker
                hard_clusters = np.zeros((num_chunks, local_num_speakers), dtype=np.int8)
                centroids = np.zeros((1, self._embedding.dimension))
            else:
                hard_clusters, _, centroids = self.clustering(
                    embeddings=embeddings,
                    segmentations=binarized_segmentations,
                    num_clusters=num_speakers,
                    min_clusters=min_speakers,
                    max_clusters=max_speakers,
                    file=file,  # for OracleClustering, as pyannote.audio
                    frames=self._segmentation_frames,
                )
            if self.local_speaker_check == "reassign_windows":
                # each window part of a local speaker is a local speaker of its own (count unchanged:
                # the parts of one speaker never overlap), re-assigned when another speaker is closer
                segmentations = window_local_speakers(segmentations, self.num_windows)
                binarized_segmentations = window_local_speakers(binarized_segmentations, self.num_windows)
                durations = np.sum(np.nan_to_num(binarized_segmentations.data, nan=0.0) > 0, axis=1) * (
                    self._segmentation_frames.step)
                hard_clusters = reassign_windows(
                    hard_clusters, centroids, window_embeddings, durations,
                    margin=self.resegmentation.margin, min_duration=self.resegmentation.min_duration,
                    metric=self.clustering.metric,
                )
                local_num_speakers *= self.num_windows
                hook("resegmentation", hard_clusters)

        inactive_speakers = np.sum(binarized_segmentations.data, axis=1) == 0
        hard_clusters[inactive_speakers] = -2

        # cap the instantaneous number of speakers by `max_speakers` (by 1 if exclusive) and
        # by the number of speakers found: pyannote.audio fills a count above it with
        # speakers of its own (a 0.5 s clip of one voice that the segmentation counted as
        # two overlapping speakers came out as two speakers)
        num_found = len(np.unique(hard_clusters[hard_clusters >= 0]))
        count.data = np.minimum(count.data, 1 if exclusive else min(max_speakers, num_found)).astype(np.int8)
        discrete_diarization = self.reconstruct(segmentations, hard_clusters, count)
        hook("discrete_diarization", discrete_diarization)

        min_duration_off = self.segmentation.min_duration_off
        if exclusive:
            discrete_diarization = fill_exclusive_gaps(discrete_diarization, min_duration_off)
            min_duration_off = 0.0  # done: filling gaps per speaker could overlap others
        diarization = self.to_annotation(
            discrete_diarization, min_duration_on=0.0, min_duration_off=min_duration_off
        )
        # the last (zero-padded) chunk may extend past the end of the file
        diarization = diarization.crop(Segment(0.0, self._audio.get_duration(file)), mode="intersection")
        diarization.uri = file["uri"]
        if requested:
            check_speaker_count(diarization, hard_clusters, requested)

        if "annotation" in file and file["annotation"]:
            # map hypothesized speakers to reference ones (eases error analysis,
            # does not change the diarization)
            _, mapping = self.optimal_mapping(file["annotation"], diarization, return_mapping=True)
            mapping = {key: mapping.get(key, key) for key in diarization.labels()}
        else:
            mapping = {label: expected for label, expected in zip(diarization.labels(), self.classes())}
        diarization = diarization.rename_labels(mapping=mapping)

        if not return_embeddings:
            return diarization

        if centroids is None:
            return diarization, None
        if len(diarization.labels()) > centroids.shape[0]:
            centroids = np.pad(centroids, ((0, len(diarization.labels()) - centroids.shape[0]), (0, 0)))
        inverse_mapping = {label: index for index, label in mapping.items()}
        centroids = centroids[[inverse_mapping[label] for label in diarization.labels()]]
        return diarization, centroids
