"""The benchmark sets of the diarization benchmarks (``recipes/benchmarks/*.py``)

Mini, the real AMI Debug excerpts, the held-out Common Voice conversations and the long
recordings, by protocol name; the Conversations audio is built from ``../shared/data`` when
missing (the corpus is skipped without it).
"""

from typing import Dict, List, Sequence

#: the protocols every diarization benchmark reports, in their table order
BENCHMARK_PROTOCOLS = (
    "Mini.SpeakerDiarization.Simulated",
    "AMI.SpeakerDiarization.Debug",
    "Conversations.SpeakerDiarization.CommonVoice",
    "Conversations.SpeakerDiarization.Long",
)

__all__ = ["BENCHMARK_PROTOCOLS", "benchmark_sets", "short_name"]


def benchmark_sets(protocols: Sequence[str] = BENCHMARK_PROTOCOLS, subset: str = "test") -> Dict[str, List]:
    """Files of `subset` of each protocol (Conversations' audio built when missing, skipped without its sources)

    Parameters
    ----------
    protocols : sequence of str
        Protocol names (``Database.Task.Protocol``).
    subset : {"train", "development", "test"}, optional

    Returns
    -------
    sets : dict
        Protocol name -> list of ProtocolFile, in the order of `protocols`.
    """
    from .registry import get_protocol
    from .conversations import CORPORA as CONVERSATIONS, ensure_conversations

    return {name: list(getattr(get_protocol(name), subset)()) for name in protocols
            if name not in CONVERSATIONS or ensure_conversations(corpus=name)}


def short_name(protocol: str) -> str:
    """Column name of a protocol in the benchmark tables: Mini, AMI, Conversations, Conversations Long"""
    database, _, variant = protocol.split(".")
    return f"{database} {variant}" if database == "Conversations" and variant != "CommonVoice" else database
