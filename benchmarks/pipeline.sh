#!/usr/bin/env bash
# Times the researcher's loop on the embedded default, in fresh clones (no DVC cache, no run-cache):
#   1. a cold `dvc repro` of everything, split into work / stage start-up / DVC (benchmarks/stage_split.py),
#   2. a second `dvc repro` (nothing to do),
#   3. `dvc exp run -S lambda_isotropy=L` (only the architectures using that lambda retrain; the default is
#      1.5) with the default's training seeds (train.seeds, 3), split the same way,
#   4. the same exp run at OLD_COMMIT (default fd17d08: one training seed, one fresh process per stage, where
#      issue 12 measured the loop), from its own clone trained untimed, on the same machine at the same time.
# Steps 3 and 4 run back to back, ROUNDS times (default 2), alternating which goes first and with a new lambda
# each round (1.0, 0.9, ...: a value DVC's run-cache has not seen, so every round trains): the load of a shared
# machine drifts by tens of percent within minutes, and one pair of runs minutes apart measured 0.84x and 1.13x
# on the same machine. The ratio reported is total new time over total old time, with each round's beside it.
# Usage: bash benchmarks/pipeline.sh   (from the repository root, with the project's virtualenv active)
#        OLD_COMMIT=none bash benchmarks/pipeline.sh   skips step 4;  ROUNDS=1 for a single pair
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
rounds=${ROUNDS:-2}
seeds=$(python -c "import yaml; print(len(yaml.safe_load(open('params.yaml'))['train']['seeds']))")
if [ "$old_commit" != none ]; then
    git clone -q "$source_repo" "$work/old"
    cd "$work/old"
    git checkout -q "$old_commit"
    seconds dvc repro > /dev/null
    old_seeds=$(python -c "import yaml; print(len(yaml.safe_load(open('params.yaml')).get('train', {}).get('seeds', [0])))")
fi

# exp_run CLONE LAMBDA TSV: the timed exp run in one clone
exp_run() {
    cd "$1"
    export RAGCUN_STAGE_TIMES="$3"
    seconds dvc exp run -S "lambda_isotropy=$2"
    unset RAGCUN_STAGE_TIMES
}

new_total=0; old_total=0; round_lines=""
declare -a lambdas new_times old_times
for round in $(seq 1 "$rounds"); do
    value=$(python -c "print(round(1.1 - $round / 10, 2))")
    if [ "$old_commit" != none ] && [ $((round % 2)) -eq 0 ]; then
        old_time=$(exp_run "$work/old" "$value" "$work/old-$round.tsv")
        new_time=$(exp_run "$work/ragcun" "$value" "$work/lambda-$round.tsv")
    else
        new_time=$(exp_run "$work/ragcun" "$value" "$work/lambda-$round.tsv")
        [ "$round" -eq 1 ] && reran=$(grep -o "Running stage '[^']*'" "$work/last.log" | sed "s/Running stage //" | tr '\n' ' ' || true)
        [ "$old_commit" != none ] && old_time=$(exp_run "$work/old" "$value" "$work/old-$round.tsv")
    fi
    new_total=$(python -c "print($new_total + $new_time)")
    if [ "$old_commit" != none ]; then
        old_total=$(python -c "print($old_total + $old_time)")
        round_lines+=$(python -c "print(f'  round $round (lambda_isotropy=$value): {$new_time:.1f} s / {$old_time:.1f} s = {$new_time / $old_time:.2f}x')")$'\n'
    fi
    lambdas[$round]=$value new_times[$round]=$new_time old_times[$round]=${old_time:-0}
done
cd "$work/ragcun"

printf '%-55s %8.1f s\n' "cold dvc repro (everything)" "$cold"
printf '%-55s %8.1f s\n' "second dvc repro (nothing to do)" "$noop"
echo "stages the exp run reran: $reran"
echo
$split "$work/cold.tsv" "$cold" "cold dvc repro"
for round in $(seq 1 "$rounds"); do
    $split "$work/lambda-$round.tsv" "${new_times[$round]}" "round $round: dvc exp run -S lambda_isotropy=${lambdas[$round]}, $seeds seeds"
    if [ "$old_commit" != none ]; then
        $split "$work/old-$round.tsv" "${old_times[$round]}" "round $round: the same exp run at $old_commit ($old_seeds seed(s))"
    fi
done
if [ "$old_commit" != none ]; then
    echo
    printf '%s' "$round_lines"
    python -c "print(f'exp run with $seeds seeds / exp run at $old_commit with $old_seeds seed(s), all $rounds rounds: {$new_total / $old_total:.2f}x')"
fi
