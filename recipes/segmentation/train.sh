#!/usr/bin/env bash
# Train the segmentation (pyannote.audio's PyanNet, powerset, pyannote's own
# SpeakerDiarization task, through pyannote-audio-train) on realistic simulated
# conversations of every voice (Voices train speakers: LibriSpeech, speechocean762,
# Common Voice en/fa, Arabic) plus the real AMI Debug training excerpts, labelled in
# VoxConverse's convention (the simulator's bridge, 0.9 s), starting from the shipped
# segmentation. Resumable: run the same command again after an interruption.
#
#   recipes/segmentation/train.sh [OUTPUT_DIR] [MAX_TIME] [extra Hydra overrides...]
#
# OUTPUT_DIR defaults to training_runs/segmentation, MAX_TIME (DD:HH:MM:SS) to 00:02:00:00.
# SHARED (default ../shared/data) holds librispeech/, speechocean762/, commonvoice/,
# arabic-speech-commands/, noise/, ami-debug/.
# NUM_TRAIN simulated training conversations of 2-5 min (default 100, about 6 hours),
# built once into OUTPUT_DIR/data (speakers of Voices train, training noises; the
# development conversations use Voices development speakers); SEED (default 1) draws
# them (another seed, other conversations of the same speakers); NOISE_ONLY (default 0.1)
# is the probability that a pause becomes a 2-15 s noise or music stretch, MUSIC (default
# 0.5) and COLORED (default 0.3) the shares of those stretches that are music and coloured
# (white to brown) noise. CORPORA (default: empty, every conversation draws its speakers
# from all of Voices train) splits the training conversations by corpus, e.g.
# CORPORA="LS:30 SO:30 CV:25 AR:5 LS,SO,CV,AR:10": 30 conversations of LibriSpeech speakers
# only, ..., 10 of speakers of any corpus (NUM_TRAIN is then ignored). Conversations of one
# corpus make the model tell voices apart that share a recording channel, as in VoxConverse,
# rather than corpora; DEV_CORPORA (default with CORPORA: "LS:3 SO:2 CV:2 AR:1") does the same
# for the 8 development conversations (segmentation-samecorpus.ckpt, not the default: README,
# Benchmarks). INIT: the starting checkpoint (default: the shipped segmentation).
# DURATION (default 10.0): the chunk duration (s) the model is trained on, and then applied to
# by the pipeline (shorter chunks hold fewer speakers to keep apart: README, Benchmarks).
# LR (default 5e-4): the AdamW learning rate, halved after 3 epochs without a better
# development DER. Extra overrides such as trainer.limit_train_batches=66 shorten an epoch
# (chunks are drawn at random, so an epoch is only the interval between validations).
# Output: OUTPUT_DIR/segmentation.ckpt (best development DER), training_curve.{csv,png}.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../require_commands.sh"
require_commands pyannote-resnet50 pyannote-audio-train

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OUTPUT_DIR="$(realpath -m "${1:-$ROOT/training_runs/segmentation}")"
MAX_TIME="${2:-00:02:00:00}"
shift $(( $# > 2 ? 2 : $# ))
SHARED="$(realpath "${SHARED:-$ROOT/../shared/data}")"
NUM_TRAIN="${NUM_TRAIN:-100}"
SEED="${SEED:-1}"
NOISE_ONLY="${NOISE_ONLY:-0.1}"
MUSIC="${MUSIC:-0.5}"
COLORED="${COLORED:-0.3}"
LR="${LR:-5e-4}"
DURATION="${DURATION:-10.0}"
CORPORA="${CORPORA:-}"
DEV_CORPORA="${DEV_CORPORA:-${CORPORA:+LS:3 SO:2 CV:2 AR:1}}"
INIT="$(realpath "${INIT:-$ROOT/pyannote_resnet50/data/checkpoints/segmentation-voices.ckpt}")"
DATA="$OUTPUT_DIR/data"

if [ ! -f "$DATA/database.yml" ]; then
    common=(--duration 120:300 --preset voxconverse --voices "$SHARED"
            --noise "$SHARED/noise/noise" --rir "$SHARED/noise/rir"
            --noise-only "$NOISE_ONLY" --noise-only-music "$MUSIC" --noise-only-colored "$COLORED")
    # simulate NAME SUBSET PREFIX SEED "SPEC": SPEC empty = NUM conversations of every corpus (NUM in
    # the 6th argument), else "PREFIXES:COUNT ..." (one simulate call per entry, concatenated)
    simulate() {
        local name="$1" subset="$2" uri="$3" seed="$4" spec="$5" num="$6" k=0 entry parts=()
        if [ -z "$spec" ]; then
            pyannote-resnet50 simulate "$DATA" --name "$name" --num-files "$num" --speakers-subset "$subset" \
                --seed "$seed" --uri-prefix "$uri" "${common[@]}"
            return
        fi
        for entry in $spec; do
            k=$((k + 1))
            pyannote-resnet50 simulate "$DATA" --name "$name-$k" --num-files "${entry##*:}" \
                --speakers-subset "$subset" --corpora "${entry%:*}" --seed "$((seed * 100 + k))" \
                --uri-prefix "$uri$k-" "${common[@]}"
            parts+=("$name-$k")
        done
        for ext in lst rttm uem; do
            for part in "${parts[@]}"; do cat "$DATA/$part.$ext"; done > "$DATA/$name.$ext"
        done
    }
    simulate sim-train train trn "$SEED" "$CORPORA" "$NUM_TRAIN"
    simulate development development dev 2 "$DEV_CORPORA" 8
    # training = simulated conversations + the real AMI Debug training excerpts
    for ext in lst rttm uem; do
        cat "$DATA/sim-train.$ext" "$SHARED/ami-debug/train.$ext" > "$DATA/train.$ext"
    done
    cat > "$DATA/database.yml.tmp" <<YAML
Databases:
  SegmentationTraining:
    - $DATA/wav/{uri}.wav
    - $SHARED/ami-debug/{uri}.wav
Protocols:
  SegmentationTraining:
    SpeakerDiarization:
      Realistic:
        scope: file
        train:
          uri: $DATA/train.lst
          annotation: $DATA/train.rttm
          annotated: $DATA/train.uem
        development:
          uri: $DATA/development.lst
          annotation: $DATA/development.rttm
          annotated: $DATA/development.uem
YAML
    mv "$DATA/database.yml.tmp" "$DATA/database.yml"
fi

# Hydra changes the working directory: every path is absolute
pyannote-audio-train \
    +registry="$DATA/database.yml" \
    protocol=SegmentationTraining.SpeakerDiarization.Realistic \
    task=SpeakerDiarization \
    task.duration=$DURATION task.max_speakers_per_chunk=3 task.max_speakers_per_frame=2 \
    task.batch_size=32 task.num_workers=1 \
    model=FineTune model.checkpoint="$INIT" \
    optimizer=AdamW optimizer.lr="$LR" \
    scheduler=PlateauLR scheduler.max_lr="$LR" scheduler.patience=3 scheduler.factor=0.5 \
    trainer.max_epochs=1000 trainer.max_time="$MAX_TIME" \
    trainer.num_sanity_val_steps=0 trainer.enable_model_summary=false \
    hydra.run.dir="$OUTPUT_DIR" \
    +hydra.callbacks.resume._target_=pyannote_resnet50.cli.train.ResumableTraining \
    "$@"

python -m pyannote_resnet50.models.checkpoint "$OUTPUT_DIR" segmentation.ckpt
