"""Plots record the reference they were drawn with: a rerun with another --reference redraws them
(issue 23, item 9)."""

import numpy as np
import soundfile as sf
from pyannote.core import Annotation, Segment, Timeline

from pyannote_resnet50.core.batch import Job, run_jobs
from pyannote_resnet50.core.plot import plot_diarization, plot_fingerprint, plot_is_current


class TwoTurns:
    """A stand-in pipeline (no model): two speakers, one turn each; counts its calls"""

    calls = 0

    def __call__(self, file, hook=None, **kwargs):
        self.calls += 1
        diarization = Annotation(uri=file["uri"])
        diarization[Segment(0.0, 1.0)] = "A"
        diarization[Segment(1.0, 2.0)] = "B"
        return diarization


def reference(uri, change=1.0):
    annotation = Annotation(uri=uri)
    annotation[Segment(0.0, change)] = "alice"
    annotation[Segment(change, 2.0)] = "bob"
    return annotation


def test_plot_is_current(tmp_path):
    hypothesis = TwoTurns()({"uri": "x"})
    path = plot_diarization(hypothesis, tmp_path / "x.png")
    assert plot_is_current(path) and not plot_is_current(path, reference=reference("x"))
    plot_diarization(hypothesis, path, reference=reference("x"))
    assert plot_is_current(path, reference=reference("x"))
    assert plot_is_current(path)  # without a reference asked for, a plot drawn with one does
    assert not plot_is_current(path, reference=reference("x", change=1.5))
    assert not plot_is_current(tmp_path / "missing.png")
    assert plot_fingerprint(reference("x")) != plot_fingerprint(reference("x"), uem=reference("x").get_timeline())


def test_rerun_with_a_reference_redraws_the_plot(tmp_path, capsys):
    """diarize --plot, then the same with --reference: the RTTM is kept, the PNG redrawn (it was
    skipped as done, with no message); a third run skips everything."""
    sf.write(tmp_path / "x.wav", np.zeros(2 * 16000, dtype=np.int16), 16000)
    pipeline, out, uem = TwoTurns(), tmp_path / "out", Timeline([Segment(0.0, 2.0)], uri="x")  # the whole file

    def run(ref):
        job = Job(uri="x", source="x.wav", file={"uri": "x", "audio": str(tmp_path / "x.wav")}, reference=ref)
        assert run_jobs([job], out, pipeline, "default", plot=True) == []
        return capsys.readouterr().err

    err = run(None)
    assert pipeline.calls == 1 and "1 file diarized" in err and plot_is_current(out / "x.png", uem=uem)
    rttm = (out / "x.rttm").read_text()

    err = run(reference("x"))
    assert "drawing the plots of 1 file already diarized" in err and "1 plot redrawn" in err, err
    assert pipeline.calls == 1 and (out / "x.rttm").read_text() == rttm
    assert plot_is_current(out / "x.png", reference=reference("x"), uem=uem)

    err = run(reference("x"))
    assert "skipping 1 of 1 file already done" in err and pipeline.calls == 1

    err = run(reference("x", change=1.5))  # the reference changed: redrawn again
    assert "1 plot redrawn" in err and plot_is_current(out / "x.png", reference=reference("x", change=1.5), uem=uem)

    err = run(None)  # without --reference: the plots drawn with one are kept
    assert "skipping 1 of 1 file already done" in err
    assert plot_is_current(out / "x.png", reference=reference("x", change=1.5), uem=uem)
