"""One seed's entry of an architecture's training summary (models/ARCH/training.json, under ``seeds``): its
keys, defined once for the training that writes them and the export that reads them.

A module of its own, free of the training loop, so that reading a summary does not import (nor make a stage
depend on) the Trainer, its losses and its data pipeline.
"""

from __future__ import annotations

from dataclasses import dataclass

BEST_EPOCH = "best_epoch"
BEST_DEV_MRR = "best_dev_mrr@10"
FINAL_DEV_MRR = "final_dev_mrr@10"
TRAINABLE_PARAMETERS = "trainable_parameters"
# The Trainer's counts of its run, which only a trained architecture has
EXAMPLES = "examples"
STEPS = "steps"


@dataclass(frozen=True)
class SeedSummary:
    """The part of one seed's training summary that every architecture has, trained or not: the epoch kept (best
    dev MRR@10), that MRR@10, the last epoch's, and how many parameters trained. The Trainer adds its run's
    counts (EXAMPLES, STEPS) and last losses; an untrained architecture has only these."""

    best_epoch: int
    best_dev_mrr: float
    final_dev_mrr: float
    trainable_parameters: int

    @classmethod
    def untrained(cls, dev: dict[str, float]) -> SeedSummary:
        """A model used as built: epoch 0, its one dev MRR@10 both best and final, nothing trainable."""
        return cls(best_epoch=0, best_dev_mrr=dev["mrr@10"], final_dev_mrr=dev["mrr@10"], trainable_parameters=0)

    def metrics(self) -> dict[str, float]:
        """training.json's per-seed keys, as floats (``seeds.aggregate`` averages them over seeds)."""
        return {
            BEST_EPOCH: float(self.best_epoch),
            BEST_DEV_MRR: float(self.best_dev_mrr),
            FINAL_DEV_MRR: float(self.final_dev_mrr),
            TRAINABLE_PARAMETERS: float(self.trainable_parameters),
        }

