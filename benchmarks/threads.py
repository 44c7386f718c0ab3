"""Torch CPU threads for head-only (frozen-base) training steps: 1 vs all cores, alone and with the cores shared,
under OpenMP's default (active, busy-waiting) and passive wait policies.

Why it exists: `ragcun/cli.py` sets OMP_WAIT_POLICY=PASSIVE for every stage so that frozen-base training can use
every core without collapsing when another process (a queued experiment, a test) wants the same cores.

Usage: python benchmarks/threads.py [--steps 60]
Each figure is ms per optimiser step of a MiniLM-sized head (384 → 768 → 384, 704 rows: 64 queries and 640
documents), measured in fresh processes so that the wait policy takes effect. Compare ratios within one run.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

STEP_TIMER = """
import sys, time, torch
threads, steps = int(sys.argv[1]), int(sys.argv[2])
torch.set_num_threads(threads)
torch.manual_seed(0)
head = torch.nn.Sequential(torch.nn.Linear(384, 768), torch.nn.GELU(), torch.nn.Linear(768, 384))
optimizer = torch.optim.AdamW(head.parameters(), lr=1e-3)
rows = torch.randn(704, 384)
def step():
    head(rows).square().mean().backward(); optimizer.step(); optimizer.zero_grad()
for _ in range(3):
    step()
start = time.perf_counter()
for _ in range(steps):
    step()
print((time.perf_counter() - start) / steps * 1000)
"""


def timed_steps(threads: int, policy: str, steps: int, concurrent: int) -> list[float]:
    """ms/step of ``concurrent`` identical processes started together."""
    environment = dict(os.environ, OMP_WAIT_POLICY=policy)
    processes = [
        subprocess.Popen([sys.executable, "-c", STEP_TIMER, str(threads), str(steps)], env=environment,
                         stdout=subprocess.PIPE, text=True)
        for _ in range(concurrent)
    ]
    return [float(process.communicate()[0]) for process in processes]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60)
    arguments = parser.parse_args()
    cores = os.cpu_count() or 1
    print(f"{cores} cores; ms per optimiser step (lower is better)")
    print(f"{'wait policy':<12} {'threads':>7} {'alone':>8} {'2 processes at once':>20}")
    for policy in ("ACTIVE", "PASSIVE"):
        for threads in sorted({1, cores}):
            alone = timed_steps(threads, policy, arguments.steps, 1)[0]
            shared = max(timed_steps(threads, policy, arguments.steps, 2))
            print(f"{policy:<12} {threads:>7} {alone:>8.1f} {shared:>20.1f}")


if __name__ == "__main__":
    main()
