#!/usr/bin/env bash
# Times the researcher's loop on the embedded default, in a fresh clone (no DVC cache, no run-cache):
#   1. a cold `dvc repro` of everything,
#   2. a second `dvc repro` (nothing to do),
#   3. `dvc exp run -S lambda_isotropy=1.0` (only the architectures using that lambda retrain; the default is 1.5),
#      with the default's training seeds (train.seeds, 3), then splits it into the stage processes
#      (RAGCUN_STAGE_TIMES, see ragcun/cli.py) and DVC's own time;
#   4. the same exp run with one training seed, from a workspace trained with one seed (set up untimed), so the
#      two figures compare the cost of the seeds on the same machine at the same time.
# Usage: bash benchmarks/pipeline.sh   (from the repository root, with the project's virtualenv active)
set -euo pipefail
command -v dvc >/dev/null || { echo "benchmarks/pipeline.sh: dvc not found: activate the project's virtualenv" >&2; exit 1; }
source_repo=$(pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git clone -q "$source_repo" "$work/ragcun"
cd "$work/ragcun"
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false

seconds() {
    local start end
    start=$(date +%s.%N)
    "$@" > "$work/last.log" 2>&1 || { cat "$work/last.log" >&2; exit 1; }
    end=$(date +%s.%N)
    python -c "print($end - $start)"
}

cold=$(seconds dvc repro)
noop=$(seconds dvc repro)
stage_times="$work/stage_times.tsv"
export RAGCUN_STAGE_TIMES="$stage_times"
lambda=$(seconds dvc exp run -S lambda_isotropy=1.0)
reran=$(grep -o "Running stage '[^']*'" "$work/last.log" | sed "s/Running stage //" | tr '\n' ' ' || true)
seeds=$(python -c "import yaml; print(len(yaml.safe_load(open('params.yaml'))['train']['seeds']))")
unset RAGCUN_STAGE_TIMES
git checkout -q -- params.yaml && dvc checkout -q
seconds dvc exp run -S 'train.seeds=[0]' > /dev/null
lambda_one_seed=$(seconds dvc exp run -S lambda_isotropy=1.0)

printf '%-45s %8.1f s\n' "cold dvc repro (everything)" "$cold"
printf '%-45s %8.1f s\n' "second dvc repro (nothing to do)" "$noop"
printf '%-45s %8.1f s\n' "dvc exp run -S lambda_isotropy=1.0 ($seeds seeds)" "$lambda"
printf '%-45s %8.1f s\n' "the same with 1 seed" "$lambda_one_seed"
python -c "print(f'{$seeds} seeds cost {$lambda / $lambda_one_seed:.2f}x the one-seed run')"
echo "stages the exp run reran: $reran"
python - "$stage_times" "$lambda" <<'EOF'
import os
import sys
from collections import defaultdict

log, total = sys.argv[1], float(sys.argv[2])
per_kind = defaultdict(list)
lines = open(log, encoding="utf-8").readlines() if os.path.exists(log) else []
if not lines:
    sys.exit("no stage ran in the exp run: nothing to split")
for line in lines:
    stage, began, ended, _ = line.rstrip("\n").split("\t")
    per_kind[stage.split("@")[0]].append(float(ended) - float(began))
in_stages = sum(sum(spans) for spans in per_kind.values())
print("where the exp run's time went:")
for kind, spans in per_kind.items():
    print(f"  {kind:<10} {len(spans):2d} process(es), {sum(spans) / len(spans):5.2f} s each, {sum(spans):6.1f} s in all")
print(f"  stage processes {in_stages:6.1f} s; DVC itself (start-up, hashing, dvc.lock rewrites, git) {total - in_stages:6.1f} s")
EOF
