#!/usr/bin/env bash
# Copies the three models `rpt quickstart` starts from out of a finished `rpt reproduce` seed directory into
# Assets/quickstart/models: the NTP base (a), the compute-matched NTP baseline (b) and the cold start (c).
# Only what inference needs is copied (config.json, model.safetensors, tokenizer files, trainer_state.json
# for provenance); optimizer state is left behind. Writes Assets/quickstart/models/SOURCE.md (provenance).
#
#   bash scripts/bundle_quickstart_models.sh runs/reproduce/ledger/seed-0 "rpt reproduce Assets/reproduce/ledger.json --seeds 0,1,2"
set -euo pipefail
seed_dir=$(realpath "${1:?usage: $0 REPRODUCE_SEED_DIR [COMMAND THAT MADE IT]}")
made_by=${2:-rpt reproduce}
cd "$(dirname "$0")/.."
dest=Assets/quickstart/models
mkdir -p "$dest"
rows=""
for pair in "a:base:(a) NTP base, pretrained from Assets/reproduce/config.json" \
            "b:ntp-matched:(b) (a) trained on with NTP for the FLOPs of (c) + (d)" \
            "c:cold-start:(c) (a) after the supervised cold start on rpt demos demonstrations"; do
    run=${pair%%:*}; rest=${pair#*:}; name=${rest%%:*}; what=${rest#*:}
    ck=$(ls -d "$seed_dir/$run"/step-* | sort | tail -1)
    rm -rf "${dest:?}/$name"; mkdir -p "$dest/$name"
    cp "$ck"/config.json "$ck"/model.safetensors "$ck"/tokenizer.json "$ck"/tokenizer_config.json "$ck"/trainer_state.json "$dest/$name/"
    sha=$(sha256sum "$dest/$name/model.safetensors" | cut -d' ' -f1)
    rows+="| \`$name/\` | $what | \`$run/$(basename "$ck")\` | \`$sha\` |"$'\n'
    echo "$name ← $ck"
done
cat > "$dest/SOURCE.md" <<MD
# Assets/quickstart/models — the three models \`rpt quickstart\` starts from

Made by this repository's own reproduction, seed $(basename "$seed_dir" | sed 's/seed-//'), on 2 CPU cores:

    $made_by

(the seed directory \`$(basename "$(dirname "$seed_dir")")/$(basename "$seed_dir")\` of it), copied with
\`bash scripts/bundle_quickstart_models.sh\`. Licence: MIT, as the project; the tokenizer files are Karpathy's
stories260K vocabulary (MIT, Assets/stories260K/SOURCE.md). Each folder's trainer_state.json records the steps,
the seed and the training FLOPs. Llama architecture, 918,656 parameters, float32 safetensors.

| folder | what | checkpoint of the seed | sha256 of model.safetensors |
|---|---|---|---|
$rows
MD
echo "wrote $dest/SOURCE.md"
