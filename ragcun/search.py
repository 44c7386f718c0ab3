"""Exact (brute-force) nearest-neighbour search that streams the corpus in chunks.

The corpus may be far larger than memory allows as a full query × corpus score matrix (MS MARCO: 8.8M
passages), so it is read one chunk at a time (a ``np.memmap`` is read sequentially, once) and every query keeps
a running top-k. Peak memory is bounded by ``batch_size × chunk_size`` scores plus one corpus chunk, never
``queries × corpus``.

Ordering contract: each row of the result is sorted by score, highest first; equal scores are ordered by
the lower corpus index first. The tie rule is exact (not left to ``torch.topk``'s unspecified choice), so the
result does not depend on ``chunk_size`` or ``batch_size`` and equals a full sort of the score matrix by
(score descending, index ascending).
"""

from __future__ import annotations

import numpy as np
import torch
from tqdm.auto import tqdm

from ragcun.errors import ConfigError, DataError
from ragcun.scoring import ScoreFunction, pairwise_scores

# Placeholder index of the not-yet-filled running top-k slots; their score is -inf and every real score
# is finite (checked), so a placeholder never survives a merge once N >= k documents were seen.
_EMPTY_INDEX = torch.iinfo(torch.int64).max


def exact_search(
    queries: np.ndarray | torch.Tensor,
    corpus: np.ndarray | torch.Tensor,
    *,
    k: int,
    score: ScoreFunction,
    chunk_size: int = 50_000,
    batch_size: int = 1024,
    show_progress: bool | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Return the top-``k`` corpus rows for every query by exact scoring.

    Args:
        queries: [Q, D] query embeddings. A torch tensor keeps its device (a CUDA tensor searches on the GPU).
        corpus: [N, D] document embeddings: an array, a ``np.memmap`` (read chunk by chunk) or a tensor.
        k: number of results per query; ``min(k, N)`` are returned.
        score: ``"cosine"``, ``"dot"`` or ``"euclidean"`` (negative Euclidean distance), as defined by
            ``ragcun.scoring.pairwise_scores``.
        chunk_size: corpus rows scored at a time.
        batch_size: queries scored at a time.
        show_progress: tqdm bar over corpus chunks; by default shown when there is more than one chunk.

    Returns:
        ``(indices, scores)``: int64 and float32 arrays of shape [Q, min(k, N)], each row sorted by score
        descending, ties broken by the lower corpus index.
    """
    _check_arguments(queries, corpus, k=k, score=score, chunk_size=chunk_size, batch_size=batch_size)
    query_tensor = _as_float32_tensor(queries)
    device = query_tensor.device
    num_queries, num_docs = query_tensor.shape[0], corpus.shape[0]
    k_eff = min(k, num_docs)

    best_scores = torch.full((num_queries, k_eff), -torch.inf, dtype=torch.float32, device=device)
    best_indices = torch.full((num_queries, k_eff), _EMPTY_INDEX, dtype=torch.int64, device=device)
    starts = range(0, num_docs, chunk_size)
    if show_progress is None:
        show_progress = len(starts) > 1
    for start in tqdm(starts, desc=f"exact search ({score})", unit="chunk", disable=not show_progress):
        chunk = _as_float32_tensor(corpus[start : start + chunk_size]).to(device)
        for row in range(0, num_queries, batch_size):
            rows = slice(row, row + batch_size)
            chunk_scores = pairwise_scores(query_tensor[rows], chunk, score)
            _check_finite(chunk_scores, query_offset=row, doc_offset=start)
            chunk_top_scores, chunk_top_positions = _top_k_lowest_index_on_ties(chunk_scores, min(k_eff, len(chunk)))
            # Free the block before the next one is allocated, so that two never coexist.
            del chunk_scores
            best_scores[rows], best_indices[rows] = _merge(
                best_scores[rows], best_indices[rows], chunk_top_scores, chunk_top_positions + start, k_eff
            )
        del chunk
    return best_indices.cpu().numpy(), best_scores.cpu().numpy()


def _check_arguments(
    queries: np.ndarray | torch.Tensor,
    corpus: np.ndarray | torch.Tensor,
    *,
    k: int,
    score: str,
    chunk_size: int,
    batch_size: int,
) -> None:
    for name, value in (("k", k), ("chunk_size", chunk_size), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"exact_search: {name} must be a positive integer, got {value!r}")
    if len(queries.shape) != 2 or len(corpus.shape) != 2:
        raise DataError(
            f"exact_search: queries and corpus must be 2-D [rows, dim], got shapes "
            f"{tuple(queries.shape)} and {tuple(corpus.shape)}"
        )
    if queries.shape[1] != corpus.shape[1]:
        raise DataError(
            f"exact_search: query dimension {queries.shape[1]} differs from corpus dimension {corpus.shape[1]}"
        )
    if corpus.shape[0] == 0:
        raise DataError("exact_search: the corpus is empty")


def _as_float32_tensor(array: np.ndarray | torch.Tensor) -> torch.Tensor:
    if isinstance(array, torch.Tensor):
        return array.detach().to(torch.float32)
    # np.array copies: a read-only memmap slice cannot be wrapped by torch.from_numpy without a warning, and
    # the copy of one chunk is within the memory bound anyway.
    return torch.from_numpy(np.array(array, dtype=np.float32))


def _check_finite(scores: torch.Tensor, *, query_offset: int, doc_offset: int) -> None:
    finite = torch.isfinite(scores)
    if bool(finite.all()):
        return
    query_row, doc_row = (int(i) for i in torch.nonzero(~finite)[0])
    raise DataError(
        f"exact_search: non-finite score ({float(scores[query_row, doc_row])}) for query row "
        f"{query_offset + query_row} and corpus row {doc_offset + doc_row}; the embeddings contain NaN/inf "
        f"(or a zero vector under cosine scoring)"
    )


def _top_k_lowest_index_on_ties(scores: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Per row, the k best (score, position) pairs, ties at the k-th score resolved towards lower positions."""
    top_scores, top_positions = torch.topk(scores, k, dim=1, largest=True, sorted=False)
    kth_score = top_scores.min(dim=1, keepdim=True).values
    # topk picks an unspecified subset of the elements tied with the k-th score; only rows where more than
    # k elements reach that score are ambiguous. They are rare (duplicate documents), so they alone get a
    # full stable sort, which keeps equal scores in position order.
    ambiguous = (scores >= kth_score).sum(dim=1) > k
    if bool(ambiguous.any()):
        rows = torch.nonzero(ambiguous).squeeze(1)
        sorted_scores, sorted_positions = torch.sort(scores[rows], dim=1, descending=True, stable=True)
        top_scores[rows] = sorted_scores[:, :k]
        top_positions[rows] = sorted_positions[:, :k]
    return top_scores, top_positions


def _merge(
    scores_a: torch.Tensor,
    indices_a: torch.Tensor,
    scores_b: torch.Tensor,
    indices_b: torch.Tensor,
    k: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Merge two candidate lists per row into the k best by (score descending, index ascending)."""
    scores = torch.cat([scores_a, scores_b], dim=1)
    indices = torch.cat([indices_a, indices_b], dim=1)
    # Order by index first, then stable-sort by score: equal scores stay in ascending index order.
    by_index = torch.argsort(indices, dim=1, stable=True)
    scores, indices = scores.gather(1, by_index), indices.gather(1, by_index)
    by_score = torch.sort(scores, dim=1, descending=True, stable=True).indices[:, :k]
    return scores.gather(1, by_score), indices.gather(1, by_score)
