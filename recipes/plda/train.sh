#!/usr/bin/env bash
# Train the LDA + two-covariance PLDA of VBx clustering (SpeakerDiarization(clustering="VBxClustering"))
# on embeddings of the training speakers of PROTOCOL (default Voices.SpeakerDiarization.Speakers:
# LibriSpeech, speechocean762, Common Voice, Arabic; corpus-wide identities): up to 20 chunks of
# 2-4 s of each speaker's speech, embedded by the given checkpoint.
#
#   bash recipes/plda/train.sh [EMBEDDING_CKPT] [OUTPUT_NPZ] [extra options of python -m pyannote_resnet50.pipelines.plda]
#
# Defaults: the shipped default's embedding (the Voices fine-tune) and its PLDA
# (pyannote_resnet50/data/checkpoints/{embedding,plda}-voices.*); for the previous default's
# (embedding-readspeech.ckpt, plda-readspeech.npz): PROTOCOL=ReadSpeech.SpeakerDiarization.Speakers
# bash recipes/plda/train.sh pyannote_resnet50/data/checkpoints/embedding-readspeech.ckpt pyannote_resnet50/data/checkpoints/plda-readspeech.npz
# The `Voices:` line of
# database.yml must point to the audio. A PLDA only fits the embedding model it was trained
# with: re-run this whenever the embedding checkpoint changes.
# Quick check on a tiny slice: bash recipes/plda/train.sh "" /tmp/plda.npz --max-speakers-per-subset 6 --max-chunks 30 --lda-dim 4
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
EMBEDDING="${1:-$ROOT/pyannote_resnet50/data/checkpoints/embedding-voices.ckpt}"
OUTPUT="${2:-$ROOT/pyannote_resnet50/data/checkpoints/plda-voices.npz}"
PROTOCOL="${PROTOCOL:-Voices.SpeakerDiarization.Speakers}"
shift $(( $# > 2 ? 2 : $# ))

python -W ignore -m pyannote_resnet50.pipelines.plda "$PROTOCOL" "$OUTPUT" \
    --embedding "$EMBEDDING" --database "$ROOT/database.yml" --subset train \
    --min-duration 2.0 --max-duration 4.0 --max-chunks-per-speaker 20 --lda-dim 128 "$@"
