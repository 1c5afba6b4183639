"""Speaker diarization pipelines of pyannote_resnet50."""

from pyannote_resnet50.pipelines.speaker_diarization import ORACLE, SpeakerDiarization

__all__ = ["SpeakerDiarization", "ORACLE"]
