"""The Conversations corpus: simulated conversations of held-out Common Voice speakers.

``Conversations.SpeakerDiarization.CommonVoice`` is a second benchmark corpus besides
Mini: VoxConverse-like recordings simulated (:mod:`pyannote_resnet50.database.simulator`)
from the Common Voice volunteers of the Voices protocol's development and test lists
(identities ``CV...`` of ``data/voices/speakers.{development,test}.txt``). Volunteers
recorded themselves on their own devices, in their own rooms: many accents, microphones
and noise floors, unlike LibriSpeech's readers.

**Speakers held out of all training.** No model trains on them: Voices (the
speaker-embedding training protocol) keeps them out of its train subset, and ReadSpeech
and Mini (segmentation, pipeline tuning) hold no Common Voice speaker. The development
speakers do select the embedding checkpoint (best development EER of
``recipes/embedding/train.sh``); the test speakers serve evaluation only (they are the
Common Voice speakers of the embedding benchmark's test trials). A development recording
draws development speakers only, a test recording test speakers; the lists are disjoint.

**Preset.** :meth:`SimulationConfig.voxconverse
<pyannote_resnet50.database.simulator.SimulationConfig.voxconverse>`, as
``pyannote-resnet50 simulate --preset voxconverse --voices ../shared/data --corpora CV
--held-out-noise --rir ../shared/data/noise/rir`` draws it: log-normal turns as VoxConverse
dev, 42 % same-speaker turns, real background noise and noise-only stretches from the
held-out noise files only (:data:`~pyannote_resnet50.augmentation.HELD_OUT_NOISES`, never
used for training), reverberation (the shared measured impulse responses and simulated
rooms), band-limiting. Per subset, :data:`NUM_FILES` recordings of 60 to 180 s (uniform),
1 to 6 speakers (VoxConverse dev's distribution capped at 6, as the simulator draws it),
overlap share drawn per recording as in Mini (gamma of mean 4 %, shape 1.5, capped at 20 %).

**Labelling convention: VoxConverse's.** A speaker's pauses shorter than
:data:`~pyannote_resnet50.database.convention.VOXCONVERSE_BRIDGE` (0.9 s) that no one else
fills are speech (the simulator's default bridge). Labels are file-scoped (``spk00``...).

**Committed** under ``data/conversations/``: ``{subset}.{lst,rttm,uem}`` and
``sources.{subset}.txt`` (uri, local label, Voices identity; tab-separated). **Generated**
(git-ignored): ``wav/{uri}.wav`` with a stamp of the annotations it matches
(:func:`conversations_audio_missing`). The corpus derives from the seed and the shared
data: rebuilding gives identical files. Rebuild (audio and annotations; about a minute)::

    python -m pyannote_resnet50.database.conversations --shared ../shared/data

Benchmarks call :func:`ensure_conversations`, which builds missing audio.
"""

import argparse
import functools
import time
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Union

from .mini import OVERLAP_SHAPE
from .registry import DATA_DIR
from .simulator import SimulationConfig, readspeech_sources, simulate_recordings
from .simulator.corpus import audio_missing, write_corpus

CONVERSATIONS_DIR = DATA_DIR / "conversations"
PROTOCOL = "Conversations.SpeakerDiarization.CommonVoice"
SUBSETS = ("development", "test")
#: uri prefix of each subset
PREFIX = {"development": "cvdev", "test": "cvtst"}
#: number of recordings of each subset
NUM_FILES = {"development": 10, "test": 10}
#: duration range of a recording, seconds (uniform)
DURATION = (60.0, 180.0)
#: identity prefix of the Common Voice speakers of the Voices protocol
CORPUS = "CV"
#: enters every seed, so that draws differ from Mini's (seeded with (seed, subset index))
SEED_KEY = 22
#: bump when the audio of the simulator changes without changing the annotations
AUDIO_VERSION = 1
#: ``../shared/data`` of a source checkout (the shared corpora)
SHARED_DIR = DATA_DIR.parents[2] / "shared" / "data"

__all__ = [
    "CONVERSATIONS_DIR",
    "PROTOCOL",
    "SUBSETS",
    "NUM_FILES",
    "SHARED_DIR",
    "conversation_speakers",
    "conversation_config",
    "build_conversations",
    "conversations_audio_missing",
    "ensure_conversations",
]


def conversation_speakers(subset: str) -> List[str]:
    """Common Voice identities (``CV...``) of the Voices protocol's list of `subset`.

    Parameters
    ----------
    subset : {"development", "test"}

    Returns
    -------
    speakers : list of str
        In the order of ``data/voices/speakers.{subset}.txt``.
    """
    if subset not in SUBSETS:
        raise ValueError(f"Conversations has no '{subset}' subset: use one of {', '.join(SUBSETS)}.")
    speakers = (DATA_DIR / "voices" / f"speakers.{subset}.txt").read_text().split()
    return [s for s in speakers if s.startswith(CORPUS)]


def conversation_config(shared_dir: Union[str, Path]) -> SimulationConfig:
    """The VoxConverse preset with the held-out real noises and the measured RIRs of `shared_dir`.

    Parameters
    ----------
    shared_dir : str or Path
        Folder holding ``noise/noise`` and ``noise/rir`` (e.g. ``../shared/data``).

    Returns
    -------
    config : SimulationConfig
        Default bridge: VoxConverse's convention.
    """
    from ..augmentation import held_out_noise_files

    noise = Path(shared_dir) / "noise"
    return SimulationConfig.voxconverse(noise=held_out_noise_files(noise / "noise"), rir=[noise / "rir"])


def build_conversations(
    shared_dir: Union[str, Path],
    output: Union[str, Path] = CONVERSATIONS_DIR,
    seed: int = 0,
    num_files: Optional[Mapping[str, int]] = None,
    write_audio: bool = True,
    progress: bool = False,
) -> Dict[str, Path]:
    """Build the Conversations corpus (annotations, sources and, optionally, audio).

    Parameters
    ----------
    shared_dir : str or Path
        Folder of the shared corpora (``commonvoice/``, ``noise/``), e.g. ``../shared/data``.
    output : str or Path, optional
        Defaults to the package's ``data/conversations``, the one ``database.yml`` uses.
    seed : int, optional
        Defaults to 0 (the committed corpus).
    num_files : dict, optional
        {subset: number of recordings}. Defaults to :data:`NUM_FILES` (10 and 10).
    write_audio : bool, optional
        Write ``wav/{uri}.wav`` and its stamp. Defaults to True.
    progress : bool, optional
        Show a tqdm progress bar. Defaults to False.

    Returns
    -------
    written : dict
        {description: path} of every file written but the audio.
    """
    output = Path(output)
    num_files = dict(NUM_FILES, **(num_files or {}))
    config = conversation_config(shared_dir)
    subsets = {
        subset: functools.partial(
            simulate_recordings,
            readspeech_sources(shared_dir, conversation_speakers(subset)),
            num_files[subset],
            seed=(seed, SEED_KEY, SUBSETS.index(subset)),
            duration=DURATION,
            config=config,
            overlap_shape=OVERLAP_SHAPE,
            prefix=PREFIX[subset],
        )
        for subset in SUBSETS
    }
    written = write_corpus(output, subsets, AUDIO_VERSION, write_audio=write_audio,
                           progress="Conversations" if progress else None, total=sum(num_files[s] for s in SUBSETS))
    return written


def conversations_audio_missing(output: Union[str, Path] = CONVERSATIONS_DIR) -> List[str]:
    """Uris of the Conversations lists whose audio is missing or was built for other annotations.

    Returns
    -------
    uris : list of str
        Empty when ``wav/`` is complete and its stamp matches the annotation files
        (e.g. after a ``git pull`` that changed them, every uri is returned).
    """
    return audio_missing(output, SUBSETS, AUDIO_VERSION)


def ensure_conversations(shared_dir: Union[str, Path] = SHARED_DIR, output: Union[str, Path] = CONVERSATIONS_DIR) -> bool:
    """Make sure the Conversations audio is there, building it from `shared_dir` if missing.

    Parameters
    ----------
    shared_dir : str or Path, optional
        Defaults to the checkout's ``../shared/data``.
    output : str or Path, optional

    Returns
    -------
    ready : bool
        False (and a printed reason) when the audio is missing and `shared_dir` does not
        hold the Common Voice audio: callers then skip the corpus.
    """
    output, shared_dir = Path(output), Path(shared_dir)
    missing = conversations_audio_missing(output)
    if not missing:
        return True
    if not (shared_dir / "commonvoice").is_dir():
        print(f"{PROTOCOL}: skipped ({len(missing)} recordings without audio, and no Common Voice audio "
              f"under '{shared_dir}' to build them: python -m pyannote_resnet50.database.conversations --shared DIR)")
        return False
    files = [output / f"{prefix}{s}.{suffix}" for s in SUBSETS for prefix, suffix in
             (("", "lst"), ("", "rttm"), ("", "uem"), ("sources.", "txt"))]
    committed = {p: p.read_text() for p in files if p.is_file()}
    print(f"{PROTOCOL}: building the audio of {len(missing)} recordings from '{shared_dir}'...", flush=True)
    build_conversations(shared_dir, output, progress=True)
    changed = sorted(p.name for p, text in committed.items() if p.read_text() != text)
    if changed:
        print(f"{PROTOCOL}: WARNING: rebuilding changed {', '.join(changed)} (other shared data than the committed "
              f"corpus's?): scores are not comparable with the committed ones.")
    return True


def main(argv=None) -> int:
    """Build the Conversations corpus: annotations (committed) and audio (generated).

    Parameters
    ----------
    argv : list of str, optional
        Command-line arguments (defaults to ``sys.argv[1:]``).
    """
    parser = argparse.ArgumentParser(
        prog="python -m pyannote_resnet50.database.conversations",
        description="Simulate the Conversations corpus (VoxConverse-like conversations of the held-out Common "
        "Voice speakers of the Voices development / test lists, held-out real noise). Idempotent: the same "
        "seed rewrites identical files.",
    )
    parser.add_argument("--shared", type=Path, default=SHARED_DIR,
                        help=f"folder of the shared corpora (commonvoice/, noise/; default: {SHARED_DIR})")
    parser.add_argument("--output", type=Path, default=CONVERSATIONS_DIR,
                        help="output folder (default: the package's data/conversations, where the protocol reads it)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0, the committed corpus)")
    for subset in SUBSETS:
        parser.add_argument(f"--num-{subset}", type=int, default=NUM_FILES[subset],
                            help=f"number of {subset} recordings (default: {NUM_FILES[subset]})")
    parser.add_argument("--annotations-only", action="store_true", help="do not write audio")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    num_files = {subset: getattr(args, f"num_{subset}") for subset in SUBSETS}
    written = build_conversations(
        args.shared, args.output, seed=args.seed, num_files=num_files,
        write_audio=not args.annotations_only, progress=True,
    )
    elapsed = time.perf_counter() - start
    for name, path in written.items():
        print(f"{name:>22}  {path}")
    if not args.annotations_only:
        print(f"{'audio':>22}  {args.output / 'wav'} ({sum(num_files.values())} files)")
    print(f"Conversations built in {elapsed:.1f} s; protocol {PROTOCOL}.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
