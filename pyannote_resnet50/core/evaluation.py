"""DER of a diarization system over a set of files, with its components (pyannote.metrics)

What every diarization benchmark prints (``recipes/benchmarks/*.py``): no collar, overlapped
speech scored, inside each file's UEM.
"""

from typing import Any, Callable, Dict, List

#: pyannote.metrics components of the DER, reported in % of the reference speech
DER_COMPONENTS = ("missed detection", "false alarm", "confusion")

__all__ = ["DER_COMPONENTS", "diarization_scores"]


def diarization_scores(
    system: Callable, files: List[Dict], with_reference: bool = False, jer: bool = False
) -> Dict[str, Any]:
    """DER and its components of `system` over `files`, accumulated as pyannote.metrics does

    Parameters
    ----------
    system : callable
        Maps ``{"uri", "audio"}`` (plus ``"annotation"`` with `with_reference`) to an Annotation.
    files : list of ProtocolFile
        With ``annotation`` and ``annotated`` (or an audio file, whose whole duration is scored).
    with_reference : bool, optional
        Give the system the reference annotation (what oracle segmentations and
        :class:`~pyannote_resnet50.pipelines.clustering.OracleClustering` read). Defaults to False.
    jer : bool, optional
        Also compute the Jaccard error rate. Defaults to False.

    Returns
    -------
    scores : dict
        "DER" and each of :data:`DER_COMPONENTS` in % of the reference speech, "per file"
        (uri -> DER %), and "JER" (%) with `jer`.
    """
    from pyannote.database import get_annotated
    from pyannote.metrics.diarization import DiarizationErrorRate, JaccardErrorRate

    der = DiarizationErrorRate(collar=0.0, skip_overlap=False)
    jaccard = JaccardErrorRate() if jer else None
    per_file = {}
    for file in files:
        inputs = {"uri": file["uri"], "audio": file["audio"]}
        if with_reference:
            inputs["annotation"] = file["annotation"]
        hypothesis = system(inputs)
        uem = get_annotated(file)
        per_file[file["uri"]] = 100 * der(file["annotation"], hypothesis, uem=uem)
        if jaccard is not None:
            jaccard(file["annotation"], hypothesis, uem=uem)
    total = der.accumulated_["total"]
    scores = {name: 100 * der.accumulated_[name] / total if total else 0.0 for name in DER_COMPONENTS}
    scores.update({"DER": 100 * abs(der), "per file": per_file})
    if jaccard is not None:
        scores["JER"] = 100 * abs(jaccard)
    return scores
