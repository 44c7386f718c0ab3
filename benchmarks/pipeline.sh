#!/usr/bin/env bash
# Times the researcher's loop on the embedded default, in fresh clones (no DVC cache, no run-cache):
#   1. a cold `dvc repro` of everything, split into work / stage start-up / DVC (benchmarks/stage_split.py),
#   2. a second `dvc repro` (nothing to do),
#   3. `dvc exp run -S lambda_isotropy=1.0` (only the architectures using that lambda retrain; the default is
#      1.5) with the default's training seeds (train.seeds, 3), split the same way,
#   4. the same exp run at OLD_COMMIT (default fd17d08: one training seed, one fresh process per stage, where
#      issue 12 measured the loop), from its own clone trained untimed, on the same machine at the same time.
# Usage: bash benchmarks/pipeline.sh   (from the repository root, with the project's virtualenv active)
#        OLD_COMMIT=none bash benchmarks/pipeline.sh   skips step 4
set -euo pipefail
command -v dvc >/dev/null || { echo "benchmarks/pipeline.sh: dvc not found: activate the project's virtualenv" >&2; exit 1; }
source_repo=$(pwd)
old_commit=${OLD_COMMIT:-fd17d08}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
# Warm stage servers of this benchmark only, so that the cold repro pays their start as a new user would.
export RAGCUN_WARM_DIR="$work/warm"
split="python $source_repo/benchmarks/stage_split.py"

seconds() {
    local start end
    start=$(date +%s.%N)
    "$@" > "$work/last.log" 2>&1 || { cat "$work/last.log" >&2; exit 1; }
    end=$(date +%s.%N)
    python -c "print($end - $start)"
}

git clone -q "$source_repo" "$work/ragcun"
cd "$work/ragcun"
export RAGCUN_STAGE_TIMES="$work/cold.tsv"
cold=$(seconds dvc repro)
unset RAGCUN_STAGE_TIMES
noop=$(seconds dvc repro)
export RAGCUN_STAGE_TIMES="$work/lambda.tsv"
lambda=$(seconds dvc exp run -S lambda_isotropy=1.0)
unset RAGCUN_STAGE_TIMES
reran=$(grep -o "Running stage '[^']*'" "$work/last.log" | sed "s/Running stage //" | tr '\n' ' ' || true)
seeds=$(python -c "import yaml; print(len(yaml.safe_load(open('params.yaml'))['train']['seeds']))")

if [ "$old_commit" != none ]; then
    git clone -q "$source_repo" "$work/old"
    cd "$work/old"
    git checkout -q "$old_commit"
    seconds dvc repro > /dev/null
    old_seeds=$(python -c "import yaml; print(len(yaml.safe_load(open('params.yaml')).get('train', {}).get('seeds', [0])))")
    export RAGCUN_STAGE_TIMES="$work/old.tsv"
    old_lambda=$(seconds dvc exp run -S lambda_isotropy=1.0)
    unset RAGCUN_STAGE_TIMES
    cd "$work/ragcun"
fi

printf '%-55s %8.1f s\n' "cold dvc repro (everything)" "$cold"
printf '%-55s %8.1f s\n' "second dvc repro (nothing to do)" "$noop"
printf '%-55s %8.1f s\n' "dvc exp run -S lambda_isotropy=1.0 ($seeds seeds)" "$lambda"
echo "stages the exp run reran: $reran"
echo
$split "$work/cold.tsv" "$cold" "cold dvc repro"
$split "$work/lambda.tsv" "$lambda" "dvc exp run -S lambda_isotropy=1.0, $seeds seeds"
if [ "$old_commit" != none ]; then
    $split "$work/old.tsv" "$old_lambda" "the same exp run at $old_commit ($old_seeds seed(s))"
    python -c "print(f'exp run with $seeds seeds / exp run at $old_commit with $old_seeds seed(s): {$lambda / $old_lambda:.2f}x')"
fi
