"""Splits a timed DVC run into the stages' work, their start-up and DVC's own time (benchmarks/pipeline.sh).

    python benchmarks/stage_split.py STAGE_TIMES.tsv WALL_SECONDS [LABEL]

STAGE_TIMES.tsv is what the stages append under RAGCUN_STAGE_TIMES (ragcun/cli.py): stage, start, end, exit
code and work seconds. Work is the time inside each stage's function (reading inputs, training, scoring,
encoding, searching, measuring, writing); start-up is the rest of each stage's span (interpreter, imports,
params validation, the warm hand-over); DVC is the wall time outside every stage span (its own start-up,
hashing, dvc.lock rewrites, git, the experiment's commit). A log from an older commit without the work column
gives the stage spans only.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path


def split(log: Path, wall: float) -> dict[str, float]:
    spans: dict[str, list[tuple[float, float | None]]] = defaultdict(list)
    for line in log.read_text(encoding="utf-8").splitlines():
        fields = line.split("\t")
        stage, began, ended = fields[0], float(fields[1]), float(fields[2])
        work = float(fields[4]) if len(fields) > 4 else None
        spans[stage.split("@")[0]].append((ended - began, work))
    if not spans:
        sys.exit(f"{log}: no stage ran: nothing to split")
    for kind, runs in spans.items():
        total = sum(span for span, _ in runs)
        works = [work for _, work in runs if work is not None]
        work_text = f", work {sum(works):6.1f} s" if len(works) == len(runs) else ""
        print(f"  {kind:<20} {len(runs):2d} process(es), {total / len(runs):5.2f} s each, {total:6.1f} s in all{work_text}")
    in_stages = sum(span for runs in spans.values() for span, _ in runs)
    result = {"wall": wall, "stages": in_stages, "dvc": wall - in_stages}
    if all(work is not None for runs in spans.values() for _, work in runs):
        result["work"] = sum(work for runs in spans.values() for _, work in runs if work is not None)
        result["startup"] = in_stages - result["work"]
    return result


def main() -> None:
    log, wall = Path(sys.argv[1]), float(sys.argv[2])
    label = sys.argv[3] if len(sys.argv) > 3 else str(log)
    print(f"{label}: {wall:.1f} s wall")
    parts = split(log, wall)
    for name in ("work", "startup", "dvc"):
        if name in parts:
            meaning = {"work": "work in the stages", "startup": "stage start-up", "dvc": "DVC itself"}[name]
            print(f"  {meaning:<20} {parts[name]:6.1f} s  {parts[name] / wall:6.1%}")
    if "work" not in parts:
        print(f"  {'stage processes':<20} {parts['stages']:6.1f} s  {parts['stages'] / wall:6.1%} (no work column)")


if __name__ == "__main__":
    main()
