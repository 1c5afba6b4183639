#!/usr/bin/env bash
# Train the ResNet50 speaker embedding on Voices (every labelled voice of ../shared/data:
# LibriSpeech, speechocean762, Common Voice en / fa, Arabic Speech Commands; one identity
# per person) with pyannote.audio's stock training CLI, then write a slim checkpoint. CPU-friendly defaults (width 16, torchvision stem); resumable:
# run the same command again after an interruption and it continues from the run's
# last.ckpt (epoch, step, optimizer, scheduler, time budget).
#
#   recipes/embedding/train.sh [OUTPUT_DIR] [MAX_TIME] [extra Hydra overrides...]
#
# OUTPUT_DIR defaults to training_runs/embedding, MAX_TIME (DD:HH:MM:SS) to 00:02:00:00.
# Data: PROTOCOL (default Voices.SpeakerDiarization.Speakers; ReadSpeech.SpeakerDiarization.Speakers
# is the previous, read-speech-only one) found through the `Voices:` line of database.yml
# (default: ../shared/data); augmentation: NOISE_DIR and RIR_DIR (default:
# ../shared/data/noise/{noise,rir}), CODEC (probability of a lossy codec round trip).
# STEPS_PER_EPOCH (default 300) makes an "epoch" (validation, checkpoint, learning-rate
# patience, margin warm-up unit) that many steps, about 3 minutes on 2 CPU cores.
# Outputs: OUTPUT_DIR/training_curve.{csv,png} every epoch, OUTPUT_DIR/embedding.ckpt
# (best development EER) at the end.
# MODEL (Hydra overrides) selects the architecture, e.g. MODEL="model=WeSpeakerResNet34"
# to train pyannote.audio's WeSpeakerResNet34 with the same recipe.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../require_commands.sh"
require_commands pyannote-audio-train

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OUTPUT_DIR="$(realpath -m "${1:-$ROOT/training_runs/embedding}")"
MAX_TIME="${2:-00:02:00:00}"
shift $(( $# > 2 ? 2 : $# ))
NOISE_DIR="$(realpath -m "${NOISE_DIR:-$ROOT/../shared/data/noise/noise}")"
RIR_DIR="$(realpath -m "${RIR_DIR:-$ROOT/../shared/data/noise/rir}")"
MODEL="${MODEL:-model=ResNet50 model.base_width=16 model.stem_stride=2 model.stem_max_pool=true}"
PROTOCOL="${PROTOCOL:-Voices.SpeakerDiarization.Speakers}"
# chunk durations (s): 0.5-6 s in steps of 0.5 s, what the pipeline embeds (median 2.4-4.8 s,
# 8-28 % under 1 s, p90 8 s: recipes/benchmarks/embedded_durations.py on Mini and AMI);
# ArcFace margin (degrees) and its warm-up (epochs), learning rate:
# recipes/embedding/finetune.sh sets them for the long-chunk large-margin stage
MIN_DURATION="${MIN_DURATION:-0.5}"
DURATION="${DURATION:-6.0}"
CODEC="${CODEC:-0.15}"
STEPS_PER_EPOCH="${STEPS_PER_EPOCH:-300}"
MARGIN="${MARGIN:-11.5}"
MARGIN_WARMUP="${MARGIN_WARMUP:-5}"
LR="${LR:-1e-3}"
# speed factors whose perturbed copies are new identities (Kaldi / WeSpeaker: 0.9, 1.1)
SPEED="${SPEED:-[0.9,1.1]}"

# Hydra changes the working directory: every path is absolute
pyannote-audio-train \
    +registry="$ROOT/database.yml" \
    protocol=$PROTOCOL \
    task=FileScopedSpeakerEmbedding \
    task.duration=$DURATION task.min_duration=$MIN_DURATION task.min_turn_duration=1.0 \
    task.min_speech_duration=2.0 task.validation_duration=2.0 task.num_validation_chunks=4 \
    task.num_classes_per_batch=32 task.num_workers=1 \
    "task.speed_perturbation=$SPEED" \
    task.noise="$NOISE_DIR" task.rir="$RIR_DIR" task.codec=$CODEC task.cache_audio=true \
    task.margin=$MARGIN task.scale=32.0 task.margin_warmup_epochs=$MARGIN_WARMUP \
    $MODEL \
    optimizer=AdamW optimizer.lr=$LR \
    scheduler=PlateauLR scheduler.max_lr=$LR scheduler.patience=4 scheduler.factor=0.5 \
    trainer.max_epochs=1000 trainer.max_time="$MAX_TIME" trainer.limit_train_batches=$STEPS_PER_EPOCH \
    trainer.num_sanity_val_steps=0 trainer.enable_model_summary=false \
    hydra.run.dir="$OUTPUT_DIR" \
    +hydra.callbacks.resume._target_=pyannote_resnet50.cli.train.ResumableTraining \
    "$@"

python -m pyannote_resnet50.models.checkpoint "$OUTPUT_DIR"
