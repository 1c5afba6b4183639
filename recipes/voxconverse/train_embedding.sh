#!/usr/bin/env bash
# Train pyannote_resnet50's ResNet50 speaker embedding on VoxConverse (one GPU) with
# pyannote.audio's stock training CLI, then write a slim checkpoint.
#
#   recipes/voxconverse/train_embedding.sh [OUTPUT_DIR] [extra Hydra overrides...]
#
# Set the `Databases: VoxConverse:` line of database.yml to your audio first (and the
# `ReadSpeech:` line to LibriSpeech + speechocean762).
# The recipe of recipes/embedding/train.sh at GPU scale: VoxConverse's file-scoped
# identities plus the corpus-wide identities of ReadSpeech, speed perturbation (0.9 / 1.1
# as new identities), reverberation (real + simulated rooms), real noise, band-limiting
# and gain, ArcFace with a margin warm-up, learning rate halved on development plateaus.
# Resumable: run the same command again after an interruption. Ends with the slim checkpoint
# (OUTPUT_DIR/embedding.ckpt) and the PLDA of VBx clustering trained on its embeddings of the
# VoxConverse train speakers (OUTPUT_DIR/plda.npz).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../require_commands.sh"
require_commands pyannote-audio-train

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OUTPUT_DIR="$(realpath -m "${1:-$ROOT/training_runs/voxconverse-embedding}")"
shift $(( $# > 0 ? 1 : 0 ))
NOISE_DIR="$(realpath -m "${NOISE_DIR:-$ROOT/../shared/data/noise/noise}")"
RIR_DIR="$(realpath -m "${RIR_DIR:-$ROOT/../shared/data/noise/rir}")"

# Hydra changes the working directory: every path is absolute
pyannote-audio-train \
    +registry="$ROOT/database.yml" \
    protocol=VoxConverse.SpeakerDiarization.Split \
    task=FileScopedSpeakerEmbedding \
    "task.extra_protocols=[ReadSpeech.SpeakerDiarization.Speakers]" \
    task.duration=4.0 task.min_duration=2.0 task.min_turn_duration=1.0 \
    task.validation_duration=2.0 task.min_speech_duration=10.0 \
    task.num_classes_per_batch=128 task.num_chunks_per_class=1 \
    task.num_validation_chunks=8 task.num_workers=8 task.pin_memory=true \
    "task.speed_perturbation=[0.9,1.1]" \
    task.noise="$NOISE_DIR" task.rir="$RIR_DIR" \
    task.margin=11.5 task.scale=32.0 task.margin_warmup_epochs=5 \
    model=ResNet50 model.base_width=32 model.stem_stride=2 model.stem_max_pool=true \
    optimizer=AdamW optimizer.lr=1e-3 optimizer.weight_decay=1e-4 \
    scheduler=PlateauLR scheduler.patience=4 scheduler.factor=0.5 \
    trainer.max_epochs=200 trainer.precision=16-mixed \
    hydra.run.dir="$OUTPUT_DIR" \
    +hydra.callbacks.resume._target_=pyannote_resnet50.cli.train.ResumableTraining \
    "$@"

python -m pyannote_resnet50.models.checkpoint "$OUTPUT_DIR"

# PLDA of VBx clustering for this embedding: up to 20 chunks of 2-4 s of each VoxConverse train
# speaker (file-scoped identities, uri@spkNN). Use it with
# `pyannote-resnet50 optimize ... --embedding "$OUTPUT_DIR/embedding.ckpt" --clustering VBxClustering --plda "$OUTPUT_DIR/plda.npz"`.
python -W ignore -m pyannote_resnet50.pipelines.plda VoxConverse.SpeakerDiarization.Split "$OUTPUT_DIR/plda.npz" \
    --embedding "$OUTPUT_DIR/embedding.ckpt" --database "$ROOT/database.yml" --subset train \
    --max-chunks-per-speaker 20 --lda-dim 128 --device "${PLDA_DEVICE:-cuda}"
