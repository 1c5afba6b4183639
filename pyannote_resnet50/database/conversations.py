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

**Long recordings** (``Conversations.SpeakerDiarization.Long``, :data:`LONG`, under
``data/conversations/long/``): VoxConverse's file lengths. :data:`LONG`'s ``num_files``
recordings of 8 to 12 minutes per subset, 2 to 10 speakers each (uniform), drawn from every
voice of the Voices lists (LibriSpeech, speechocean762, Common Voice, Arabic; development
speakers for development, test speakers for test), same preset and convention. Pipelines
tuned on 30–180 s files meet here the speaker counts and lengths of VoxConverse::

    python -m pyannote_resnet50.database.conversations --corpus long --shared ../shared/data
"""

import argparse
import dataclasses
import functools
import time
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Tuple, Union

from .mini import OVERLAP_SHAPE
from .registry import DATA_DIR
from .simulator import SimulationConfig, readspeech_sources, simulate_recordings
from .simulator.corpus import audio_missing, write_corpus
from .simulator.sources import CORPUS_FOLDERS

SUBSETS = ("development", "test")
#: ``../shared/data`` of a source checkout (the shared corpora)
SHARED_DIR = DATA_DIR.parents[2] / "shared" / "data"


@dataclasses.dataclass(frozen=True)
class ConversationSet:
    """What a simulated conversations protocol is made of (see the module docstring).

    Attributes
    ----------
    protocol : str
        pyannote.database protocol name.
    directory : Path
        Folder of its annotation files (and ``wav/``).
    prefix : dict
        {subset: uri prefix}.
    num_files : dict
        {subset: number of recordings}.
    duration : (float, float)
        Duration range of a recording, seconds (uniform).
    corpora : tuple of str
        Identity prefixes of the Voices speakers drawn (``CV``: Common Voice; all four:
        every voice).
    num_speakers : (int, int), optional
        Range of the number of speakers of a recording (uniform). Defaults to None: the
        simulator's VoxConverse dev distribution, capped at 6.
    seed_key : int
        Enters every seed, so that draws differ from the other corpora's.
    audio_version : int
        Bumped when the simulator's audio changes without changing the annotations.
    """

    protocol: str
    directory: Path
    prefix: Dict[str, str]
    num_files: Dict[str, int]
    duration: Tuple[float, float]
    corpora: Tuple[str, ...]
    num_speakers: Optional[Tuple[int, int]] = None
    seed_key: int = 22
    audio_version: int = 1


#: 60-180 s conversations of the held-out Common Voice speakers
COMMON_VOICE = ConversationSet(
    protocol="Conversations.SpeakerDiarization.CommonVoice",
    directory=DATA_DIR / "conversations",
    prefix={"development": "cvdev", "test": "cvtst"},
    num_files={"development": 40, "test": 10},
    duration=(60.0, 180.0),
    corpora=("CV",),
    seed_key=22,
)
#: 8-12 min conversations of 2 to 10 held-out speakers of every corpus (VoxConverse's file lengths)
LONG = ConversationSet(
    protocol="Conversations.SpeakerDiarization.Long",
    directory=DATA_DIR / "conversations" / "long",
    prefix={"development": "lgdev", "test": "lgtst"},
    num_files={"development": 12, "test": 4},
    duration=(480.0, 720.0),
    corpora=("LS", "SO", "CV", "AR"),
    num_speakers=(2, 10),
    seed_key=23,
)
#: {protocol name: ConversationSet}
CORPORA = {corpus.protocol: corpus for corpus in (COMMON_VOICE, LONG)}

# the Common Voice corpus's settings under their former names
CONVERSATIONS_DIR = COMMON_VOICE.directory
PROTOCOL = COMMON_VOICE.protocol
#: uri prefix of each subset
PREFIX = COMMON_VOICE.prefix
#: number of recordings of each subset
NUM_FILES = COMMON_VOICE.num_files
#: duration range of a recording, seconds (uniform)
DURATION = COMMON_VOICE.duration

__all__ = [
    "ConversationSet",
    "COMMON_VOICE",
    "LONG",
    "CORPORA",
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


def conversation_speakers(subset: str, corpora: Tuple[str, ...] = COMMON_VOICE.corpora) -> List[str]:
    """Identities of the Voices protocol's list of `subset` from `corpora`.

    Parameters
    ----------
    subset : {"development", "test"}
    corpora : tuple of str, optional
        Identity prefixes kept. Defaults to Common Voice's (``CV...``).

    Returns
    -------
    speakers : list of str
        In the order of ``data/voices/speakers.{subset}.txt``.
    """
    if subset not in SUBSETS:
        raise ValueError(f"Conversations has no '{subset}' subset: use one of {', '.join(SUBSETS)}.")
    speakers = (DATA_DIR / "voices" / f"speakers.{subset}.txt").read_text().split()
    return [s for s in speakers if s.startswith(tuple(corpora))]


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
    output: Union[str, Path, None] = None,
    seed: int = 0,
    num_files: Optional[Mapping[str, int]] = None,
    write_audio: bool = True,
    progress: bool = False,
    corpus: ConversationSet = COMMON_VOICE,
) -> Dict[str, Path]:
    """Build a Conversations corpus (annotations, sources and, optionally, audio).

    Parameters
    ----------
    shared_dir : str or Path
        Folder of the shared corpora (``commonvoice/``, ``noise/``...), e.g. ``../shared/data``.
    output : str or Path, optional
        Defaults to the corpus's folder in the package, the one ``database.yml`` uses.
    seed : int, optional
        Defaults to 0 (the committed corpus).
    num_files : dict, optional
        {subset: number of recordings}. Defaults to the corpus's (40 development and 10 test recordings for :data:`COMMON_VOICE`).
    write_audio : bool, optional
        Write ``wav/{uri}.wav`` and its stamp. Defaults to True.
    progress : bool, optional
        Show a tqdm progress bar. Defaults to False.
    corpus : ConversationSet, optional
        :data:`COMMON_VOICE` (default) or :data:`LONG`.

    Returns
    -------
    written : dict
        {description: path} of every file written but the audio.
    """
    output = Path(corpus.directory if output is None else output)
    num_files = dict(corpus.num_files, **(num_files or {}))
    config = conversation_config(shared_dir)
    subsets = {
        subset: functools.partial(
            simulate_recordings,
            readspeech_sources(shared_dir, conversation_speakers(subset, corpus.corpora)),
            num_files[subset],
            seed=(seed, corpus.seed_key, SUBSETS.index(subset)),
            duration=corpus.duration,
            num_speakers=corpus.num_speakers,
            config=config,
            overlap_shape=OVERLAP_SHAPE,
            prefix=corpus.prefix[subset],
        )
        for subset in SUBSETS
    }
    return write_corpus(output, subsets, corpus.audio_version, write_audio=write_audio,
                        progress=corpus.protocol.split(".")[-1] if progress else None,
                        total=sum(num_files[s] for s in SUBSETS))


def conversations_audio_missing(output: Union[str, Path, None] = None, corpus: ConversationSet = COMMON_VOICE) -> List[str]:
    """Uris of a Conversations corpus's lists whose audio is missing or was built for other annotations.

    Parameters
    ----------
    output : str or Path, optional
        Defaults to the corpus's folder in the package.
    corpus : ConversationSet, optional
        Defaults to :data:`COMMON_VOICE`.

    Returns
    -------
    uris : list of str
        Empty when ``wav/`` is complete and its stamp matches the annotation files
        (e.g. after a ``git pull`` that changed them, every uri is returned).
    """
    return audio_missing(corpus.directory if output is None else output, SUBSETS, corpus.audio_version)


def ensure_conversations(
    shared_dir: Union[str, Path] = SHARED_DIR,
    output: Union[str, Path, None] = None,
    corpus: Union[ConversationSet, str] = COMMON_VOICE,
) -> bool:
    """Make sure a Conversations corpus's audio is there, building it from `shared_dir` if missing.

    Parameters
    ----------
    shared_dir : str or Path, optional
        Defaults to the checkout's ``../shared/data``.
    output : str or Path, optional
        Defaults to the corpus's folder in the package.
    corpus : ConversationSet or str, optional
        The corpus or its protocol name. Defaults to :data:`COMMON_VOICE`.

    Returns
    -------
    ready : bool
        False (and a printed reason) when the audio is missing and `shared_dir` does not
        hold the shared audio: callers then skip the corpus.
    """
    corpus = CORPORA[corpus] if isinstance(corpus, str) else corpus
    output, shared_dir = Path(corpus.directory if output is None else output), Path(shared_dir)
    missing = conversations_audio_missing(output, corpus)
    if not missing:
        return True
    absent = [CORPUS_FOLDERS[prefix] for prefix in corpus.corpora if not (shared_dir / CORPUS_FOLDERS[prefix]).is_dir()]
    if absent:
        print(f"{corpus.protocol}: skipped ({len(missing)} recordings without audio, and no {', '.join(absent)} "
              f"under '{shared_dir}' to build them: python -m pyannote_resnet50.database.conversations "
              f"--corpus {'long' if corpus is LONG else 'commonvoice'} --shared DIR)")
        return False
    files = [output / f"{prefix}{s}.{suffix}" for s in SUBSETS for prefix, suffix in
             (("", "lst"), ("", "rttm"), ("", "uem"), ("sources.", "txt"))]
    committed = {p: p.read_text() for p in files if p.is_file()}
    print(f"{corpus.protocol}: building the audio of {len(missing)} recordings from '{shared_dir}'...", flush=True)
    build_conversations(shared_dir, output, progress=True, corpus=corpus)
    changed = sorted(p.name for p, text in committed.items() if p.read_text() != text)
    if changed:
        print(f"{corpus.protocol}: WARNING: rebuilding changed {', '.join(changed)} (other shared data than the "
              f"committed corpus's?): scores are not comparable with the committed ones.")
    return True


def main(argv=None) -> int:
    """Build a Conversations corpus: annotations (committed) and audio (generated).

    Parameters
    ----------
    argv : list of str, optional
        Command-line arguments (defaults to ``sys.argv[1:]``).
    """
    parser = argparse.ArgumentParser(
        prog="python -m pyannote_resnet50.database.conversations",
        description="Simulate a Conversations corpus (VoxConverse-like conversations of held-out speakers of the "
        "Voices development / test lists, held-out real noise): --corpus commonvoice, 60-180 s recordings of Common "
        "Voice speakers; --corpus long, 8-12 min recordings of 2-10 speakers of every corpus. Idempotent: the same "
        "seed rewrites identical files.",
    )
    parser.add_argument("--corpus", choices=["commonvoice", "long"], default="commonvoice",
                        help=f"commonvoice: {COMMON_VOICE.protocol}; long: {LONG.protocol} (default: commonvoice)")
    parser.add_argument("--shared", type=Path, default=SHARED_DIR,
                        help=f"folder of the shared corpora (commonvoice/, noise/; default: {SHARED_DIR})")
    parser.add_argument("--output", type=Path, default=None,
                        help="output folder (default: the corpus's folder in the package's data/conversations, "
                        "where the protocol reads it)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0, the committed corpus)")
    for subset in SUBSETS:
        parser.add_argument(f"--num-{subset}", type=int, default=None,
                            help=f"number of {subset} recordings (default: the corpus's, "
                            f"{COMMON_VOICE.num_files[subset]} or {LONG.num_files[subset]})")
    parser.add_argument("--annotations-only", action="store_true", help="do not write audio")
    args = parser.parse_args(argv)

    corpus = LONG if args.corpus == "long" else COMMON_VOICE
    output = corpus.directory if args.output is None else args.output
    start = time.perf_counter()
    num_files = {subset: corpus.num_files[subset] if getattr(args, f"num_{subset}") is None
                 else getattr(args, f"num_{subset}") for subset in SUBSETS}
    written = build_conversations(
        args.shared, output, seed=args.seed, num_files=num_files,
        write_audio=not args.annotations_only, progress=True, corpus=corpus,
    )
    elapsed = time.perf_counter() - start
    for name, path in written.items():
        print(f"{name:>22}  {path}")
    if not args.annotations_only:
        print(f"{'audio':>22}  {output / 'wav'} ({sum(num_files.values())} files)")
    print(f"{corpus.protocol.split('.')[-1]} built in {elapsed:.1f} s; protocol {corpus.protocol}.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
