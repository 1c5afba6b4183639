#!/usr/bin/env python
"""Import the shared real-speech material into the package (run once, output committed).

Usage
-----
    python recipes/data/import_shared.py --shared ../shared/data

Writes, under ``pyannote_resnet50/data/``:

- ``voxconverse/``: the real VoxConverse v0.3 RTTMs (one per file, as released),
  ``{dev,test}.lst`` uri lists, ``{dev,test}.uem`` and the committed
  ``split/{train,development}.lst`` split of VoxConverse dev (about 85 / 15 by file,
  stratified by number of speakers, seed 0).
  The audio is not distributed with the annotations, so the UEM cannot use the true
  file duration: each file is evaluated on [0, end of its last annotated turn].
- ``librispeech/``: one utterance per LibriSpeech speaker, trimmed to its first
  ``--max-duration`` seconds (16 kHz FLAC), with ``SPEAKERS.TXT`` and ``LICENSE.TXT``.
- ``ami/``: the 12 real AMI excerpts of pyannote.audio's debug protocol, cropped to
  their 30 s scored region (UEM) and stored as FLAC, with their RTTM / UEM / lists.
- ``readspeech/``: annotations of ``ReadSpeech.SpeakerDiarization.Speakers`` (no audio).
- ``ATTRIBUTION.md``, ``ATTRIBUTION-noise.md``: the shared material's credits.

Every file keeps the attribution of ``../shared/data/README.md`` (CC BY 4.0).
"""

import argparse
import shutil
from collections import defaultdict
from pathlib import Path

import numpy as np
import soundfile as sf

PACKAGE_DATA = Path(__file__).resolve().parents[2] / "pyannote_resnet50" / "data"


def read_rttm_lines(path: Path):
    for line in path.read_text().splitlines():
        fields = line.split()
        if fields:
            yield fields


def import_voxconverse(shared: Path, output: Path, seed: int = 0, development: float = 0.15):
    output.mkdir(parents=True, exist_ok=True)
    speakers = {}
    for subset in ["dev", "test"]:
        src = shared / "voxconverse" / "rttm" / subset
        dst = output / "rttm" / subset
        if dst.exists():
            shutil.rmtree(dst)
        dst.mkdir(parents=True)
        for rttm in src.glob("*.rttm"):
            (dst / rttm.name).write_text(rttm.read_text())
        uris, uem = [], []
        for rttm in sorted(dst.glob("*.rttm")):
            lines = list(read_rttm_lines(rttm))
            uri = rttm.stem
            end = max(float(f[3]) + float(f[4]) for f in lines)
            uris.append(uri)
            uem.append(f"{uri} NA 0.000 {end:.3f}")
            speakers[subset, uri] = len({f[7] for f in lines})
        (output / f"{subset}.lst").write_text("\n".join(uris) + "\n")
        (output / f"{subset}.uem").write_text("\n".join(uem) + "\n")

    # stratified split of VoxConverse dev by number of speakers
    strata = defaultdict(list)
    for (subset, uri), n in speakers.items():
        if subset == "dev":
            strata[min(n, 8)].append(uri)
    rng = np.random.default_rng(seed)
    train, dev = [], []
    for n in sorted(strata):
        uris = sorted(strata[n])
        rng.shuffle(uris)
        k = int(round(development * len(uris)))
        dev.extend(uris[:k])
        train.extend(uris[k:])
    (output / "split").mkdir(exist_ok=True)
    (output / "split" / "train.lst").write_text("\n".join(sorted(train)) + "\n")
    (output / "split" / "development.lst").write_text("\n".join(sorted(dev)) + "\n")
    print(f"VoxConverse: split dev into {len(train)} train / {len(dev)} development files")


def import_librispeech(shared: Path, output: Path, max_duration: float):
    if output.exists():
        shutil.rmtree(output)
    output.mkdir(parents=True)
    ids = set()
    total = 0.0
    for flac in sorted((shared / "librispeech").glob("*.flac")):
        audio, sr = sf.read(flac, dtype="int16")
        audio = audio[: int(max_duration * sr)]
        total += len(audio) / sr
        sf.write(output / flac.name, audio, sr, format="FLAC", subtype="PCM_16")
        ids.add(flac.name.split("-")[0])
    header, rows = [], []
    for line in (shared / "librispeech" / "SPEAKERS.TXT").read_text().splitlines():
        if line.startswith(";"):
            header.append(line)
        elif line.split("|")[0].strip() in ids:
            rows.append(line)
    (output / "SPEAKERS.TXT").write_text("\n".join(header + rows) + "\n")
    license = (shared / "librispeech" / "LICENSE.TXT").read_text()
    (output / "LICENSE.TXT").write_text(license)
    print(f"LibriSpeech: {len(ids)} speakers, {total / 60:.1f} min")


def import_ami(shared: Path, output: Path):
    if output.exists():
        shutil.rmtree(output)
    output.mkdir(parents=True)
    src = shared / "ami-debug"
    for subset in ["train", "development"]:
        uem = {f[0]: (float(f[2]), float(f[3])) for f in read_rttm_lines(src / f"{subset}.uem")}
        for uri, (start, end) in uem.items():
            assert start == 0.0, "scored region must start at 0"
            audio, sr = sf.read(src / f"{uri}.wav", dtype="float32")
            sf.write(output / f"{uri}.flac", audio[: int(end * sr)], sr, format="FLAC", subtype="PCM_16")
        rttm = []
        for f in read_rttm_lines(src / f"{subset}.rttm"):
            onset, duration = float(f[3]), float(f[4])
            offset = min(onset + duration, uem[f[1]][1])
            if offset > onset:
                f[3], f[4] = f"{onset:.3f}", f"{offset - onset:.3f}"
                rttm.append(" ".join(f))
        (output / f"{subset}.rttm").write_text("\n".join(rttm) + "\n")
        for ext in ["uem", "lst"]:
            (output / f"{subset}.{ext}").write_text((src / f"{subset}.{ext}").read_text())
    print("AMI: imported", len(list(output.glob("*.flac"))), "excerpts")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path("../shared/data"))
    parser.add_argument("--max-duration", type=float, default=6.0)
    args = parser.parse_args()
    import_voxconverse(args.shared, PACKAGE_DATA / "voxconverse")
    import_librispeech(args.shared, PACKAGE_DATA / "librispeech", args.max_duration)
    import_ami(args.shared, PACKAGE_DATA / "ami")
    (PACKAGE_DATA / "ATTRIBUTION.md").write_text((args.shared / "README.md").read_text())
    # the shipped embedding is trained with these real noises and impulse responses
    (PACKAGE_DATA / "ATTRIBUTION-noise.md").write_text((args.shared / "noise" / "README.md").read_text())
    # ReadSpeech annotations (LibriSpeech + speechocean762 speakers, global identities)
    from pyannote_resnet50.database.readspeech import build_readspeech

    print("ReadSpeech:", build_readspeech(args.shared))


if __name__ == "__main__":
    main()
