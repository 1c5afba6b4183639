"""Resegmentation by windows (issue 22, item 5): after clustering, a window of a local speaker
that holds another voice goes to that voice's speaker."""

import numpy as np
import pytest
import torch
import yaml
from pyannote.audio.pipelines.utils.hook import ArtifactHook

from pyannote_resnet50.pipelines import SpeakerDiarization
from pyannote_resnet50.pipelines.optimize import _constructor_params, shipped_parameters
from pyannote_resnet50.pipelines.resegmentation import reassign_windows

torch.set_num_threads(1)

# two speakers, their centroids along two axes
CENTROIDS = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])


def windows_of_two_voices():
    """2 chunks, 2 local speakers, 2 windows: slot w * 2 + k is window w of local speaker k.

    Chunk 0: local speaker 0 (cluster 0) is voice 0 in window 0 and voice 1 in window 1 (a turn
    change the segmentation missed); local speaker 1 is inactive. Chunk 1: local speaker 0
    (cluster 1) is voice 1 throughout, local speaker 1 (cluster 0) has too little speech in
    window 1 and no embedding in window 0."""
    hard_clusters = np.array([[0, -2], [1, 0]], dtype=np.int8)
    embeddings = np.full((2, 4, 3), np.nan)
    embeddings[0, 0] = [0.9, 0.1, 0.1]  # window 0, speaker 0: voice 0
    embeddings[0, 2] = [0.1, 0.9, 0.1]  # window 1, speaker 0: voice 1
    embeddings[1, 0] = [0.1, 0.9, 0.0]
    embeddings[1, 2] = [0.2, 0.8, 0.1]
    embeddings[1, 3] = [0.0, 1.0, 0.0]  # window 1, speaker 1: voice 1, but 0.3 s only
    durations = np.array([[2.0, 0.0, 2.0, 0.0], [2.5, 0.0, 2.5, 0.3]])
    return hard_clusters, embeddings, durations


def test_a_window_of_another_voice_goes_to_its_speaker():
    hard_clusters, embeddings, durations = windows_of_two_voices()
    reassigned = reassign_windows(hard_clusters, CENTROIDS, embeddings, durations, margin=0.1, min_duration=1.0)
    assert reassigned.shape == (2, 4) and reassigned.dtype == hard_clusters.dtype
    np.testing.assert_array_equal(reassigned, [[0, -2, 1, -2], [1, 0, 1, 0]])
    # parts too short to embed reliably keep their local speaker's cluster...
    assert reassign_windows(hard_clusters, CENTROIDS, embeddings, durations, 0.1, 0.2)[1, 3] == 1
    # ... and a margin above every similarity gap keeps every cluster: the pipeline without the check
    np.testing.assert_array_equal(reassign_windows(hard_clusters, CENTROIDS, embeddings, durations, 2.0, 0.0),
                                  np.tile(hard_clusters, (1, 2)))
    # one cluster: nothing to re-assign to
    np.testing.assert_array_equal(reassign_windows(np.zeros((2, 2), dtype=int), CENTROIDS[:1], embeddings,
                                                   durations, 0.0, 0.0), np.zeros((2, 4)))


def test_inputs_are_validated():
    hard_clusters, embeddings, durations = windows_of_two_voices()
    with pytest.raises(ValueError, match="window_embeddings of shape"):
        reassign_windows(hard_clusters, CENTROIDS, embeddings[:, :3], durations[:, :3], 0.1, 1.0)
    with pytest.raises(ValueError, match="durations of shape"):
        reassign_windows(hard_clusters, CENTROIDS, embeddings, durations[:1], 0.1, 1.0)
    with pytest.raises(ValueError, match="margin must be non-negative"):
        reassign_windows(hard_clusters, CENTROIDS, embeddings, durations, -0.1, 1.0)


def test_option_declares_its_hyper_parameters_and_is_saved_in_config():
    pipeline = SpeakerDiarization(local_speaker_check="reassign_windows", uniform_window=2.0)
    assert pipeline.num_windows == 5
    assert pipeline.default_parameters()["resegmentation"] == {"margin": 0.1, "min_duration": 1.0}
    assert set(pipeline.parameters()["resegmentation"]) == {"margin", "min_duration"}
    params = _constructor_params(pipeline, {"segmentation": "s.ckpt", "embedding": "e.ckpt",
                                            "local_speaker_check": "reassign_windows"})
    assert params["uniform_window"] == 2.0 and params["local_speaker_check"] == "reassign_windows"
    # a study of this check starts from the shipped pipeline's hyper-parameters, its check's included
    from pyannote_resnet50.pipelines.utils import DEFAULT_CONFIG

    shipped = yaml.safe_load(DEFAULT_CONFIG.read_text())["params"]
    assert shipped_parameters(pipeline) == shipped and set(shipped["resegmentation"]) == {"margin", "min_duration"}


def test_local_speaker_of_two_voices_is_split_end_to_end(tmp_path):
    """pyannote's sample with its true count (two) and the clustering allowed to split as deep as
    it takes: the shipped segmentation gives both voices one local speaker in most chunks, so that
    without a check (the shipped pipeline with local_speaker_check "none") the second cluster gets almost no speech; re-assigning the windows of those
    local speakers gives the second voice its speech back, and a lower DER."""
    from pyannote.audio import Pipeline
    from pyannote.audio.sample import SAMPLE_FILE
    from pyannote.metrics.diarization import DiarizationErrorRate

    from conftest import write_shipped_config

    reassign = Pipeline.from_pretrained(write_shipped_config(
        tmp_path / "reassign.yaml", "reassign_windows", {"resegmentation": {"margin": 0.1, "min_duration": 0.5}}))
    default = Pipeline.from_pretrained(write_shipped_config(tmp_path / "none.yaml", "none"))
    assert reassign.local_speaker_check == "reassign_windows" and reassign.num_windows == 4
    outputs, artifacts = {}, {}
    for name, pipeline in (("default", default), ("reassign", reassign)):
        pipeline.clustering.forced_split_floor = 0.0
        file = dict(SAMPLE_FILE)
        outputs[name] = pipeline(file, num_speakers=2, hook=ArtifactHook("segmentation", "embeddings",
                                                                         "resegmentation"))
        artifacts[name] = file["artifact"]
    local_num_speakers = artifacts["reassign"]["segmentation"].data.shape[2]
    # one pass of the trunk: the local speakers' embeddings, then those of their 4 window parts
    assert artifacts["reassign"]["embeddings"].shape[1] == 5 * local_num_speakers
    reassigned = artifacts["reassign"]["resegmentation"]
    num_chunks = len(reassigned)
    assert reassigned.shape == (num_chunks, 4 * local_num_speakers)
    parts = reassigned.reshape(num_chunks, 4, local_num_speakers)
    assert np.any(parts != parts[:, :1])  # some local speakers' windows went to another speaker

    def second(output):  # seconds of speech of the less talkative speaker
        return min([output.label_duration(label) for label in output.labels()] + [0.0] * (2 - len(output.labels())))

    assert second(outputs["default"]) < 0.5 and second(outputs["reassign"]) > 2.0
    metric = DiarizationErrorRate()
    assert metric(SAMPLE_FILE["annotation"], outputs["reassign"]) < metric(SAMPLE_FILE["annotation"], outputs["default"])
    # the speech found is the segmentation's, whatever the windows
    assert abs(outputs["reassign"].get_timeline().support().duration()
               - outputs["default"].get_timeline().support().duration()) < 1.0
