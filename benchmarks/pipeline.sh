#!/usr/bin/env bash
# Times the researcher's loop on the embedded default, in a fresh clone (no DVC cache, no run-cache):
#   1. a cold `dvc repro` of everything,
#   2. a second `dvc repro` (nothing to do),
#   3. `dvc exp run -S lambda_isotropy=1.0` (only the architectures using that lambda retrain).
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
lambda=$(seconds dvc exp run -S lambda_isotropy=1.0)
reran=$(grep -o "Running stage '[^']*'" "$work/last.log" | sed "s/Running stage //" | tr '\n' ' ' || true)

printf '%-45s %8.1f s\n' "cold dvc repro (everything)" "$cold"
printf '%-45s %8.1f s\n' "second dvc repro (nothing to do)" "$noop"
printf '%-45s %8.1f s\n' "dvc exp run -S lambda_isotropy=1.0" "$lambda"
echo "stages the exp run reran: $reran"
