"""The λ_isotropy dose-response of the embedded default, read from DVC's experiments.

Run the sweep first (about 3 minutes per setting on 2 cores):

    dvc exp run --queue -S lambda_isotropy=0,0.3,1,3 && dvc queue start -j 1   # wait for `dvc queue status`
    python benchmarks/lambda_sweep.py            # table on stdout, docs/isotropy_vs_lambda.png

It reads `dvc exp show --json` (all experiments of the last commits), keeps those that differ from the
committed params.yaml in lambda_isotropy alone, adds the committed run itself, and prints per architecture
and λ the mean ± seed std of NDCG@10, IsoScore and the SIGReg statistic (metrics/summary.json), then draws
IsoScore, SIGReg and NDCG@10 of `--architecture` against λ.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import yaml

SUMMARY = "metrics/summary.json"


def _flatten(prefix: str, value: object, out: dict) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            _flatten(f"{prefix}.{key}" if prefix else key, inner, out)
    else:
        out[prefix] = value


def experiments(commits: int) -> list[tuple[dict, dict]]:
    """(flattened params.yaml, metrics/summary.json) of every finished experiment and commit."""
    shown = json.loads(subprocess.run(["dvc", "exp", "show", "--json", "-n", str(commits)], check=True,
                                      capture_output=True, text=True).stdout)
    found = []
    for commit in shown:
        runs = [commit] + [rev for exp in (commit.get("experiments") or []) for rev in exp.get("revs", [])]
        for run in runs:
            data = run.get("data") or {}
            summary = ((data.get("metrics") or {}).get(SUMMARY) or {}).get("data")
            params = ((data.get("params") or {}).get("params.yaml") or {}).get("data")
            if summary and params:
                flat: dict = {}
                _flatten("", params, flat)
                found.append((flat, summary))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--architecture", default="isotropic")
    parser.add_argument("--commits", type=int, default=30, help="how many recent commits' experiments to read")
    parser.add_argument("--figure", type=Path, default=Path("docs/isotropy_vs_lambda.png"))
    args = parser.parse_args()

    committed: dict = {}
    _flatten("", yaml.safe_load(Path("params.yaml").read_text(encoding="utf-8")), committed)
    by_lambda: dict[float, dict] = {}
    for params, summary in experiments(args.commits):
        differing = {key for key in set(params) | set(committed) if params.get(key) != committed.get(key)}
        if differing <= {"lambda_isotropy"}:
            by_lambda.setdefault(float(params["lambda_isotropy"]), summary)
    if not by_lambda:
        sys.exit("no finished experiment differs from params.yaml in lambda_isotropy alone: run the sweep first")
    lambdas = sorted(by_lambda)
    names = list(next(iter(by_lambda.values())))
    print("| architecture | λ_isotropy | NDCG@10 | IsoScore | SIGReg |")
    print("|---|---:|---:|---:|---:|")
    for name in names:
        for value in lambdas:
            row = by_lambda[value].get(name, {})
            cells = [f"{row[key]:.4g} ± {row.get(key + '_std', float('nan')):.2g}" if key in row else "–"
                     for key in ("ndcg@10", "isoscore", "sigreg")]
            print(f"| {name} | {value:g} | " + " | ".join(cells) + " |")

    from matplotlib.figure import Figure

    figure = Figure(figsize=(11.0, 3.4), layout="constrained")
    panels = figure.subplots(1, 3)
    for axes, key, label in zip(panels, ("isoscore", "sigreg", "ndcg@10"),
                                ("IsoScore (higher: more isotropic)", "SIGReg statistic (lower: closer to N(0, I))",
                                 "NDCG@10 (mean over datasets)")):
        rows = [by_lambda[value][args.architecture] for value in lambdas]
        axes.errorbar(lambdas, [row[key] for row in rows], yerr=[row.get(key + "_std", 0.0) for row in rows],
                      marker="o", capsize=3, label=args.architecture)
        if "baseline" in names:
            axes.axhline(by_lambda[lambdas[0]]["baseline"][key], color="grey", linestyle="--", label="baseline")
        axes.set_xlabel("λ_isotropy")
        axes.set_ylabel(label)
        axes.grid(True, alpha=0.3)
        axes.legend(fontsize=8)
    figure.suptitle(f"{args.architecture}: mean ± std over training seeds, embedded default")
    args.figure.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(args.figure, dpi=110)
    print(f"\nfigure: {args.figure}")


if __name__ == "__main__":
    main()
