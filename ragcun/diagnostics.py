"""Flags that tell a reader which rows of the comparison cannot be read as findings.

- An *inert* loss term: its weighted share of the total loss over the last training epoch is under 1 %. A
  term that small moves nothing, whatever its lambda says (the earlier scripts' covariance term sat at 3e-5).
- A *collapsed* row: its document embeddings have mean pairwise cosine above 0.5 (they point one way), or an
  effective rank under 5 % of the embedding dimension (they span a handful of directions).
"""

from __future__ import annotations

from collections.abc import Mapping

INERT_SHARE = 0.01
COLLAPSE_MEAN_COSINE = 0.5
COLLAPSE_RANK_FRACTION = 0.05
LOSS_TERMS = ("contrastive", "isotropy", "reg", "predictive", "residual")


def inert_terms(train: Mapping[str, float], weights: Mapping[str, float]) -> dict[str, float]:
    """``{term: share}`` of every term with a positive weight whose ``share_<term>`` is under 1 %.

    ``train`` is an architecture's training summary (``share_<term>`` keys, means over seeds); ``weights``
    maps each term to its lambda. A term the architecture lacks (no ``share_`` key) or switched off (weight 0)
    is not inert, it is absent.
    """
    return {
        term: float(train[f"share_{term}"])
        for term in LOSS_TERMS
        if weights.get(term, 0.0) > 0 and f"share_{term}" in train and float(train[f"share_{term}"]) < INERT_SHARE
    }


def collapse_reasons(isotropy: Mapping[str, float], dimension: int) -> list[str]:
    """Why an architecture's document embeddings count as collapsed (empty if they do not)."""
    reasons = []
    cosine = isotropy.get("mean_cosine")
    if cosine is not None and float(cosine) > COLLAPSE_MEAN_COSINE:
        reasons.append(f"mean pairwise cosine {float(cosine):.2f} > {COLLAPSE_MEAN_COSINE}")
    rank = isotropy.get("effective_rank")
    if rank is not None and float(rank) < COLLAPSE_RANK_FRACTION * dimension:
        reasons.append(f"effective rank {float(rank):.1f} < {COLLAPSE_RANK_FRACTION:.0%} of {dimension} dimensions")
    return reasons


def diagnostic_notes(
    architectures: list[str],
    train: Mapping[str, Mapping[str, float]],
    weights: Mapping[str, Mapping[str, float]],
    isotropy: Mapping[str, Mapping[str, float]],
    dimensions: Mapping[str, int],
) -> list[str]:
    """One plain-text sentence per flagged architecture, in table order (empty when nothing is flagged)."""
    notes = []
    for arch in architectures:
        inert = inert_terms(train.get(arch, {}), weights.get(arch, {}))
        if inert:
            terms = ", ".join(f"{term} ({share:.2%} of the loss)" for term, share in inert.items())
            notes.append(f"{arch}: inert loss term(s) {terms} over the last epoch (< {INERT_SHARE:.0%}).")
        reasons = collapse_reasons(isotropy.get(arch, {}), dimensions[arch])
        if reasons:
            notes.append(f"{arch}: collapsed ({'; '.join(reasons)}).")
    return notes
