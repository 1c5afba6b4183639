"""Turn-taking of a simulated conversation: who speaks when, pauses, overlap.

EEND-style (Fujita et al., Interspeech 2019): turns are placed one after the other,
separated by exponentially distributed pauses; overlapped speech comes from *negative*
pauses at speaker changes, within a budget of overlapped speech. A turn is a random
crop of its speaker's source trimmed to speech; its length is uniform or log-normal
(VoxConverse-like, :meth:`SimulationConfig.voxconverse`).
"""

from typing import List, Mapping, Optional, Sequence, Tuple

import numpy as np

from ...core.io import SAMPLE_RATE
from .config import VOXCONVERSE_NUM_SPEAKERS, SimulationConfig
from .sources import Source

#: speech cut by a crop boundary shorter than this (seconds) is left out of the crop
MIN_FRAGMENT = 0.2

#: one placed turn: (turn index, first sample in the recording, (first, last, regions)),
#: `first` / `last` the crop of the source, `regions` its speech relative to `first`
Turn = Tuple[int, int, Tuple[int, int, np.ndarray]]

__all__ = ["MIN_FRAGMENT", "Turn", "sample_num_speakers", "speaker_sequence", "crop", "place_turns", "noise_only_stretches"]


def sample_num_speakers(
    rng: np.random.Generator, size: Optional[int] = None, distribution: Mapping[int, float] = None
):
    """Draw numbers of speakers per recording (default: VoxConverse dev, capped at 6)."""
    distribution = distribution or VOXCONVERSE_NUM_SPEAKERS
    values = np.array(sorted(distribution))
    p = np.array([distribution[v] for v in values], dtype=float)
    return rng.choice(values, size=size, p=p / p.sum())


def speaker_sequence(rng: np.random.Generator, num_speakers: int, num_turns: int, config: SimulationConfig) -> np.ndarray:
    """Speaker index of each turn: all speakers first (random order), then weighted turn-taking."""
    sequence = list(rng.permutation(num_speakers)[:num_turns])
    if num_speakers == 1:
        return np.zeros(num_turns, dtype=np.int64)
    weights = rng.dirichlet(np.full(num_speakers, config.dominance))
    same = rng.random(num_turns) < config.same_speaker
    draws = rng.random(num_turns)
    for t in range(len(sequence), num_turns):
        previous = sequence[-1]
        if same[t]:
            sequence.append(previous)
            continue
        p = weights.copy()
        p[previous] = 0.0
        cdf = np.cumsum(p / p.sum())
        sequence.append(min(int(np.searchsorted(cdf, draws[t], side="right")), num_speakers - 1))
    return np.asarray(sequence, dtype=np.int64)


def _turn_length(rng: np.random.Generator, config: SimulationConfig) -> float:
    if config.turn_median is None:
        return rng.uniform(config.min_turn, config.max_turn)
    length = config.turn_median * np.exp(config.turn_sigma * rng.standard_normal())
    return float(np.clip(length, config.min_turn, config.max_turn))


def crop(rng: np.random.Generator, source: Source, config: SimulationConfig) -> Tuple[int, int, np.ndarray]:
    """Random crop of `source` trimmed to speech: (first sample, last sample, speech regions relative to first)."""
    lo, hi = int(source.speech[0, 0]), int(source.speech[-1, 1])
    for _ in range(10):
        length = min(int(_turn_length(rng, config) * SAMPLE_RATE), hi - lo)
        start = lo + int(rng.integers(0, hi - lo - length + 1))
        end = start + length
        regions = np.clip(source.speech, start, end)
        # drop empty regions and the bits of speech cut by the crop boundaries that are
        # shorter than MIN_FRAGMENT (the crop is then trimmed to the remaining speech)
        lengths = regions[:, 1] - regions[:, 0]
        regions = regions[lengths > 0]
        clipped = (lengths[lengths > 0] < MIN_FRAGMENT * SAMPLE_RATE) & (
            (regions[:, 0] == start) | (regions[:, 1] == end)
        )
        regions = regions[~clipped]
        if len(regions):
            return int(regions[0, 0]), int(regions[-1, 1]), regions - regions[0, 0]
    # a crop falling in a long pause 10 times in a row: take the whole utterance
    return lo, hi, source.speech - lo


def place_turns(
    rng: np.random.Generator,
    sources: Sequence[Source],
    num_samples: int,
    config: SimulationConfig,
    noise_only_rng: Optional[np.random.Generator] = None,
) -> Tuple[np.ndarray, List[Turn]]:
    """Turn-taking of one recording.

    Parameters
    ----------
    rng : np.random.Generator
    sources : sequence of Source
        One per speaker.
    num_samples : int
        Length of the recording. Turns are placed until its end; the last one is cut
        ``config.tail`` seconds before it.
    config : SimulationConfig
    noise_only_rng : np.random.Generator, optional
        Draws the pauses lengthened into noise-only stretches (``config.noise_only``).

    Returns
    -------
    speaker : (num_turns, ) np.ndarray
        Speaker index of every drawn turn (placed or not).
    turns : list of Turn
        The placed turns, by start time.
    """
    sr = SAMPLE_RATE
    num_speakers = len(sources)
    duration = num_samples / sr
    # enough turns to fill the recording (shortest possible turn ~ min_turn / 2 + no pause)
    mean_turn = max(0.5 * (config.min_turn + config.max_turn), 0.5)
    if config.turn_median is not None:
        mean_turn = max(min(config.turn_median, mean_turn), 0.5)
    num_turns = int(np.ceil(duration / (0.5 * mean_turn))) + num_speakers
    speaker = speaker_sequence(rng, num_speakers, num_turns, config)
    crops = [crop(rng, sources[s], config) for s in speaker]
    lengths = np.array([end - start for start, end, _ in crops], dtype=np.int64)

    # pauses (EEND): exponential silences, negative for overlapping speaker changes
    pauses = rng.exponential(config.mean_pause * sr, size=num_turns).astype(np.int64)
    if config.noise_only > 0 and noise_only_rng is not None:
        # some pauses become stretches of noise / music with no speaker
        lengthened = noise_only_rng.random(num_turns) < config.noise_only
        lengthened[0] = False
        stretch = noise_only_rng.uniform(*config.noise_only_duration, size=num_turns) * sr
        pauses = np.where(lengthened, stretch.astype(np.int64), pauses)
    change = np.flatnonzero(speaker[1:] != speaker[:-1]) + 1
    # only speaker changes expected inside the recording share the overlap budget
    change = change[(np.cumsum(lengths + pauses) <= num_samples)[change]]
    order = rng.permutation(change) if config.overlap > 0 else change[:0]
    amount = rng.uniform(config.min_overlap, config.max_overlap, size=len(order)) * sr
    amount = np.minimum(amount, 0.5 * np.minimum(lengths[order], lengths[order - 1])).astype(np.int64)
    limit = num_samples - int(config.tail * sr)

    def place(budget: float) -> List[Turn]:
        """Turns fitting in the recording when `budget` samples overlap."""
        used = np.cumsum(amount)
        overlap = np.where(used <= budget, amount, np.maximum(0, budget - used + amount)).astype(np.int64)
        shifted = pauses.copy()
        shifted[order] = -overlap
        starts = np.cumsum(shifted) + np.concatenate([[0], np.cumsum(lengths[:-1])])
        turns = []
        for t in range(num_turns):  # starts increase: stop at the first turn that does not fit
            first, last, regions = crops[t]
            if starts[t] + last - first <= limit:
                turns.append((t, int(starts[t]), (first, last, regions)))
                continue
            # the last turn is cut at the end of the recording
            available = max(limit - int(starts[t]), 0)
            regions = np.clip(regions, 0, available)
            regions = regions[regions[:, 1] > regions[:, 0]]
            if len(regions) and regions[-1, 1] == available and regions[-1, 1] - regions[-1, 0] < MIN_FRAGMENT * sr:
                regions = regions[:-1]
            if len(regions):
                turns.append((t, int(starts[t]), (first, first + int(regions[-1, 1]), regions)))
            break
        return turns

    def overlap_share(turns: List[Turn]) -> float:
        """Overlapped speech / speech of `turns`, on 10 ms frames."""
        count = np.zeros(num_samples // 160 + 2, dtype=np.int16)
        for _, start, (_, _, regions) in turns:
            for a, b in (regions + start) // 160:
                count[a:b] += 1
        return float(np.sum(count > 1) / max(np.sum(count > 0), 1))

    # overlap budget, then corrected (a few placements) for overlaps falling in pauses
    expected = int(np.sum(np.cumsum(lengths + pauses) <= num_samples))
    speech = sum(int((r[:, 1] - r[:, 0]).sum()) for _, _, r in crops[:expected])
    budget = config.overlap * speech / (1.0 + config.overlap)
    turns = place(budget)
    for _ in range(4 if len(order) else 0):
        share = overlap_share(turns)
        if abs(share - config.overlap) <= 0.05 * config.overlap or share == 0 or budget >= amount.sum():
            break
        budget = min(budget * config.overlap / share, float(amount.sum()))
        turns = place(budget)
    return speaker, turns


def noise_only_stretches(speech: np.ndarray, first: int, min_duration: float) -> np.ndarray:
    """Silences of a recording after its first turn, at least `min_duration` long.

    Parameters
    ----------
    speech : (num_samples, ) np.ndarray
        Boolean mask of the labelled speech of the recording.
    first : int
        First sample of the first turn: no stretch starts before it.
    min_duration : float
        Seconds.

    Returns
    -------
    stretches : (num_stretches, 2) np.ndarray
        First and last sample (excluded) of each silence.
    """
    mask = speech.copy()
    mask[:first] = True
    edges = np.diff(np.concatenate([[1], mask.astype(np.int8), [1]]))
    stretches = np.stack([np.flatnonzero(edges == -1), np.flatnonzero(edges == 1)], axis=1)
    return stretches[(stretches[:, 1] - stretches[:, 0]) >= int(min_duration * SAMPLE_RATE)]
