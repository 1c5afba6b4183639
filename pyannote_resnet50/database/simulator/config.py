"""Parameters of a simulated conversation (:class:`SimulationConfig`) and VoxConverse statistics."""

from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence, Tuple, Union

from ..convention import VOXCONVERSE_BRIDGE

#: share of VoxConverse dev files with 1, 2, ... 6 speakers (files with more than 6
#: speakers counted as 6): 22, 44, 35, 24, 31 and 60 of 216 files.
VOXCONVERSE_NUM_SPEAKERS = {1: 22, 2: 44, 3: 35, 4: 24, 5: 31, 6: 60}

#: VoxConverse dev RTTM segments (216 files, measured with ``pyannote-resnet50 eda``):
#: their durations follow a log-normal law of median 3.84 s (mean of the log 1.32,
#: standard deviation of the log 1.32; 10th / 90th percentiles 0.6 / 22.2 s), and 42 %
#: of segments are followed by a segment of the same speaker (after a pause).
VOXCONVERSE_TURN_MEDIAN = 3.84
VOXCONVERSE_TURN_SIGMA = 1.32
VOXCONVERSE_SAME_SPEAKER = 0.42

PathList = Optional[Sequence[Union[str, Path]]]


@dataclass(frozen=True)
class SimulationConfig:
    """Parameters of :func:`~pyannote_resnet50.database.simulator.simulate_recording`.

    Turn-taking (:mod:`~pyannote_resnet50.database.simulator.turns`)
    ----------------------------------------------------------------
    overlap : float
        Target share of overlapped speech (overlapped speech / total speech). Default 0.04.
    mean_pause : float
        Mean of the exponentially distributed pauses between turns, in seconds. Default 0.4.
    turn_median : float, optional
        When given, the crop length of a turn is log-normal with this median (seconds)
        and `turn_sigma` (standard deviation of its log), clipped to [min_turn, max_turn]:
        :data:`VOXCONVERSE_TURN_MEDIAN` and :data:`VOXCONVERSE_TURN_SIGMA` reproduce
        VoxConverse. Defaults to None: uniform in [min_turn, max_turn].
    turn_sigma : float
        Default 1.32.
    min_turn, max_turn : float
        Bounds of the crop length of a turn (never longer than the speech of the
        source). Defaults to 1 and 6.
    min_overlap, max_overlap : float
        Length of one overlap, uniform in this range (seconds), capped at half of each
        of the two turns. Defaults to 0.3 and 2.
    same_speaker : float
        Probability that a turn is followed by another turn of the same speaker (after
        a pause). Default 0.1 (VoxConverse: 0.42).
    dominance : float
        Concentration of the Dirichlet distribution of speaker shares: small values
        give a few dominant speakers. Default 1.5.
    bridge : float
        Pauses shorter than this (seconds) between two speech regions of one speaker,
        where no one else speaks, are labelled as speech, as the human annotators of
        VoxConverse do (:func:`~pyannote_resnet50.database.convention.bridge_pauses`).
        Defaults to :data:`~pyannote_resnet50.database.convention.VOXCONVERSE_BRIDGE`
        (0.9 s: VoxConverse dev's seconds of short pauses per speech minute). 0 labels
        every pause of the energy detector (0.2 s or more): a precise alignment.
    noise_only : float
        Probability that a pause is replaced by a stretch of background noise or music
        with no speaker, of duration uniform in `noise_only_duration`. Default 0.

    Mixing (:mod:`~pyannote_resnet50.database.simulator.mixing`)
    -----------------------------------------------------------
    speaker_gain_db, turn_gain_db : float
        Gains uniform in +-speaker_gain_db per speaker and +-turn_gain_db per turn.
        Defaults to 6 and 2 dB.
    snr : (float, float)
        Signal-to-noise ratio range of the background noise in dB, drawn per recording.
        Defaults to (10, 30).
    noise : list of paths, optional
        Real noise files (or folders). The background noise of a recording is one of
        them (looped); noise-only stretches are excerpts of them. Defaults to None:
        coloured Gaussian noise.
    colored_noise : float
        With `noise`, probability that the background noise of a recording, or a
        noise-only stretch, is coloured Gaussian noise (white to brown) instead of a
        noise file. Default 0.
    noise_only_colored : float, optional
        Probability that a noise-only stretch is coloured Gaussian noise (white to
        brown). Defaults to None: `colored_noise`, as the background noise.
    noise_only_music : float, optional
        Probability that a noise-only stretch drawn from `noise` is a music file (a file
        whose name contains "music"), the other files sharing the rest. Defaults to None:
        every file equally likely. Segmentation training raises it: music is what a
        segmentation most often takes for speech.
    noise_only_duration : (float, float)
        Defaults to (1, 8) seconds.
    noise_only_db : (float, float)
        Level of a noise-only stretch relative to the speech level, in dB. Defaults to
        (-15, 0).
    tail : float
        Minimum silence at the end of a recording, seconds. Default 0.5.

    Room acoustics (:mod:`~pyannote_resnet50.database.simulator.acoustics`)
    ----------------------------------------------------------------------
    reverberation : float
        Probability that a recording is reverberant; each of its speakers then has
        its own impulse response. Default 0.
    rir : list of paths, optional
        Measured impulse responses, drawn besides simulated rooms. Defaults to None
        (simulated rooms only).
    band_limit : float
        Probability that a recording goes through a narrow channel: the 8 kHz
        telephone band or an 8-bit mu-law codec (half each). Default 0.
    """

    overlap: float = 0.04
    mean_pause: float = 0.4
    turn_median: Optional[float] = None
    turn_sigma: float = VOXCONVERSE_TURN_SIGMA
    min_turn: float = 1.0
    max_turn: float = 6.0
    min_overlap: float = 0.3
    max_overlap: float = 2.0
    same_speaker: float = 0.1
    dominance: float = 1.5
    bridge: float = VOXCONVERSE_BRIDGE
    noise_only: float = 0.0
    speaker_gain_db: float = 6.0
    turn_gain_db: float = 2.0
    snr: Tuple[float, float] = (10.0, 30.0)
    noise: PathList = None
    colored_noise: float = 0.0
    noise_only_colored: Optional[float] = None
    noise_only_music: Optional[float] = None
    noise_only_duration: Tuple[float, float] = (1.0, 8.0)
    noise_only_db: Tuple[float, float] = (-15.0, 0.0)
    tail: float = 0.5
    reverberation: float = 0.0
    rir: PathList = None
    band_limit: float = 0.0

    @classmethod
    def voxconverse(cls, noise: PathList = None, rir: PathList = None, **kwargs) -> "SimulationConfig":
        """VoxConverse-like conversations: turns, same-speaker turns and overlap as
        VoxConverse dev, real noise, noise-only stretches, reverberation, band-limiting"""
        defaults = dict(
            turn_median=VOXCONVERSE_TURN_MEDIAN,
            turn_sigma=VOXCONVERSE_TURN_SIGMA,
            min_turn=0.5,
            max_turn=30.0,
            same_speaker=VOXCONVERSE_SAME_SPEAKER,
            mean_pause=0.1,
            overlap=0.04,
            noise_only=0.05,
            noise_only_duration=(2.0, 15.0),
            colored_noise=0.3,
            snr=(5.0, 30.0),
            reverberation=0.5,
            band_limit=0.15,
        )
        defaults.update(kwargs)
        return cls(noise=noise, rir=rir, **defaults)
