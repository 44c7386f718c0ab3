"""Parallel BM25 (Okapi) with rank_bm25.BM25Okapi's scores, fast enough to mine MS MARCO.

Why hand-written rather than bm25s: mining must reproduce rank_bm25.BM25Okapi, the reference of the original
experiments, but rank_bm25 scores every document in Python for every query (about 0.07 queries/s on MS MARCO).
bm25s has the right architecture (per-(term, doc) weights precomputed in a scipy sparse matrix) but cannot give
the same numbers: none of its idf variants ("robertson", "lucene", "atire", "bm25l", "bm25+") implements
rank_bm25's floor, which replaces the idf of every term found in more than half of the documents by
epsilon * (mean idf of the vocabulary); its "robertson" idf clips those terms to 0 instead, and its "robertson"
term-frequency part lacks the (k1 + 1) factor. Stopwords are exactly the terms the floor hits, so rankings
differ. This module keeps bm25s's idea and rank_bm25's formula.

Formula (rank_bm25 0.2.2, BM25Okapi), evaluated at build time in float64 with rank_bm25's operations in
rank_bm25's order, so every weight is bit-identical to the term rank_bm25 adds:

    idf(t)  = log(N - df(t) + 0.5) - log(df(t) + 0.5); where negative, epsilon * (sum of all idf) / n_terms
              (the mean of the raw values over the vocabulary, summed in order of first appearance)
    w(t, d) = idf(t) * (tf(t, d) * (k1 + 1)) / (tf(t, d) + k1 * (1 - b + b * len(d) / avgdl))
    score(q, d) = sum of w(t, d) over the query's tokens in query order, a repeated token once per occurrence

len(d) counts d's tokens (repeats included) and avgdl = total tokens / N. The weights live in a term-major CSR
matrix [n_terms, n_docs] (row t = posting list of t). A block of queries is scored into a dense
[queries, n_docs] array, adding the posting lists of the query tokens in query order (one sparse-times-dense
product for small corpora, np.add.at per posting list for large ones); a vectorised exact top-k follows.
Dense rows cost O(n_docs) per query, but the epsilon floor gives stopwords an idf as high as that of a
moderately rare word, so a typical query touches most documents anyway (pruning such as MaxScore was tried and
lost on the benchmark corpora).

Precision: with dtype float64 (12 bytes per stored weight) scores are bit-identical to rank_bm25's, hence
so are rankings and ties. With float32 (the default, 8 bytes per weight: MS MARCO's ~400M weights take about
3.2 GB) scores match to ~2e-7 relative, and two documents whose scores differ by less than that may swap.

Ranking: by score descending, ties by lower document index. A document sharing no term with the query scores
exactly 0, so an empty query, or one of words absent from the corpus, returns documents 0, 1, 2, ... with
score 0.
"""

from __future__ import annotations

import json
import math
import os
import re
from array import array
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from tqdm.auto import tqdm

from ragcun.errors import ConfigError, DataError
from ragcun.io import atomic_path

_TOKEN = re.compile(r"\w+")

FORMAT_VERSION = 1
_META_FILE = "meta.json"
_ARRAY_FILES = (
    "weights_data",
    "weights_indices",
    "weights_indptr",
    "doc_lengths",
    "idf",
    "vocab_utf8",
    "vocab_offsets",
)
_DTYPES = {"float32": np.float32, "float64": np.float64}

# Bounds one dense score block [queries, n_docs] (float32: 16 MB); a block holds at least one query.
_BLOCK_ENTRIES = 1 << 22
# Up to this many documents a block is scored by one sparse-times-dense product (vectorised over queries);
# above it, posting list by posting list with np.add.at. Crossover measured with benchmarks/bm25.py.
_PRODUCT_MAX_DOCS = 100_000
_BATCH_MAX_QUERIES = 1024
_BATCH_MIN_QUERIES = 32
_PROGRESS_MIN_QUERIES = 10_000
_BUILD_CHUNK_DOCS = 50_000  # bounds the per-chunk temporaries of the build (~150 MB)


def tokenize(text: str) -> list[str]:
    """The one tokenizer of indexing, querying and tests: lower-cased runs of Unicode word characters (`\\w+`).

    No stemming and no stopword list: rank_bm25 scores token lists as given, and matching it is the point
    (frequent words still weigh in through rank_bm25's idf floor).
    """
    return _TOKEN.findall(text.lower())


def resolve_n_jobs(n_jobs: int) -> int:
    """-1 means every core this process may run on; otherwise a positive thread count."""
    if n_jobs == -1:
        return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs < 1:
        raise ConfigError(f"n_jobs must be -1 or a positive integer, got {n_jobs!r}")
    return n_jobs


@dataclass(frozen=True)
class _Queries:
    """Encoded queries in CSR layout: the term ids of query i are terms[indptr[i]:indptr[i + 1]]."""

    indptr: np.ndarray
    terms: np.ndarray

    def query(self, row: int) -> np.ndarray:
        return self.terms[self.indptr[row] : self.indptr[row + 1]]


class BM25Index:
    """BM25Okapi over a tokenised corpus; `search` returns every query's top k (document index, score)."""

    def __init__(
        self,
        corpus: Iterable[Sequence[str]],
        k1: float = 1.5,
        b: float = 0.75,
        epsilon: float = 0.25,
        *,
        dtype: str = "float32",
        show_progress: bool = False,
    ) -> None:
        """Index `corpus`, an iterable of token lists read once (a generator keeps memory low)."""
        _check_parameters(k1, b, epsilon, dtype)
        vocabulary, doc_lengths, chunks = _count_terms(corpus, show_progress)
        n_docs = doc_lengths.shape[0]
        if n_docs == 0:
            raise DataError("BM25 corpus is empty: no documents to index")
        if not vocabulary:
            raise DataError(f"BM25 corpus has {n_docs} documents but not a single token")
        frequencies = np.zeros(len(vocabulary), dtype=np.int64)
        for chunk in chunks:
            frequencies[: chunk.shape[1]] += np.bincount(chunk.indices, minlength=chunk.shape[1])
        idf = _floored_idf(frequencies, n_docs, epsilon)
        postings = _postings(chunks, frequencies, doc_lengths, idf, k1, b, _DTYPES[dtype])  # consumes chunks
        self._set(k1, b, epsilon, vocabulary, doc_lengths, idf, postings)

    def _set(
        self,
        k1: float,
        b: float,
        epsilon: float,
        vocabulary: dict[str, int],
        doc_lengths: np.ndarray,
        idf: np.ndarray,
        postings: sp.csr_array,
    ) -> None:
        self.k1, self.b, self.epsilon = float(k1), float(b), float(epsilon)
        self.vocabulary = vocabulary
        self.doc_lengths = doc_lengths  # tokens per document, int32
        self.idf = idf  # floored idf per term id, float64
        self._postings = postings  # [n_terms, n_docs] BM25 weights

    @property
    def n_docs(self) -> int:
        return int(self.doc_lengths.shape[0])

    @property
    def n_terms(self) -> int:
        return len(self.vocabulary)

    @property
    def nnz(self) -> int:
        """Number of stored (term, document) weights."""
        return int(self._postings.nnz)

    @property
    def dtype(self) -> str:
        return str(self._postings.dtype)

    @property
    def avgdl(self) -> float:
        return int(self.doc_lengths.sum(dtype=np.int64)) / self.n_docs

    def search(
        self,
        tokenised_queries: Sequence[Sequence[str]],
        k: int,
        n_jobs: int = -1,
        *,
        show_progress: bool | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k documents of every query: (doc_indices int32, scores), both [n_queries, min(k, n_docs)].

        Rows are sorted by score descending, ties by lower document index; scores have the index's dtype.
        Threads share query batches (scipy's products and numpy's add.at, sort and selection release the GIL);
        the result does not depend on n_jobs. A progress bar shows from 10,000 queries unless told otherwise.
        """
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ConfigError(f"BM25 search: k must be a positive integer, got {k!r}")
        n_threads = resolve_n_jobs(n_jobs)
        k = min(int(k), self.n_docs)
        n_queries = len(tokenised_queries)
        doc_indices = np.empty((n_queries, k), dtype=np.int32)
        scores = np.empty((n_queries, k), dtype=self._postings.dtype)
        if n_queries == 0:
            return doc_indices, scores
        queries = self._encode_queries(tokenised_queries)
        # Several batches per thread keep every core busy to the end; >= 32 queries amortise per-call costs.
        batch_size = max(_BATCH_MIN_QUERIES, min(_BATCH_MAX_QUERIES, -(-n_queries // (4 * n_threads))))
        batches = [(start, min(n_queries, start + batch_size)) for start in range(0, n_queries, batch_size)]

        # The product path also holds [block terms, n_docs]: about (mean query length) times more per row.
        mean_tokens = max(1, -(-queries.terms.shape[0] // n_queries))
        per_row = self.n_docs * (mean_tokens if self.n_docs <= _PRODUCT_MAX_DOCS else 1)
        rows_per_block = max(1, _BLOCK_ENTRIES // per_row)

        def run(start: int, stop: int) -> int:
            for first in range(start, stop, rows_per_block):
                self._search_block(queries, first, min(stop, first + rows_per_block), k, doc_indices, scores)
            return stop - start

        if show_progress is None:
            show_progress = n_queries >= _PROGRESS_MIN_QUERIES
        with tqdm(total=n_queries, unit="query", desc="BM25 search", disable=not show_progress) as bar:
            if n_threads == 1 or len(batches) == 1:
                for start, stop in batches:
                    bar.update(run(start, stop))
            else:
                with ThreadPoolExecutor(max_workers=n_threads) as pool:
                    for future in as_completed([pool.submit(run, start, stop) for start, stop in batches]):
                        bar.update(future.result())
        return doc_indices, scores

    def get_scores(self, tokens: Sequence[str]) -> np.ndarray:
        """Every document's score for one query, like rank_bm25's `get_scores`."""
        indices, scores = self.search([tokens], self.n_docs, n_jobs=1)
        result = np.empty(self.n_docs, dtype=scores.dtype)
        result[indices[0]] = scores[0]
        return result

    def _encode_queries(self, tokenised_queries: Sequence[Sequence[str]]) -> _Queries:
        """The queries' known tokens as term ids, one entry per occurrence, in query order.

        Unknown tokens are dropped: they add 0 to every score, as in rank_bm25.
        """
        vocabulary = self.vocabulary
        indptr = np.zeros(len(tokenised_queries) + 1, dtype=np.int64)
        terms = array("q")
        for row, tokens in enumerate(tokenised_queries):
            if isinstance(tokens, str):
                raise DataError(f"BM25 search: query {row} is a string; pass token lists (see bm25.tokenize)")
            terms.extend([vocabulary[token] for token in tokens if token in vocabulary])
            indptr[row + 1] = len(terms)
        return _Queries(indptr, np.asarray(terms, dtype=self._postings.indices.dtype))

    def _search_block(
        self, queries: _Queries, first: int, last: int, k: int, doc_indices: np.ndarray, scores: np.ndarray
    ) -> None:
        """Score queries first..last-1 against every document into a dense [rows, n_docs] block, keep the top k.

        np.add.at adds each query token's posting list in query order, so every document's score is the same
        sequence of floating-point additions as in rank_bm25 (adding 0 for an absent term changes nothing).
        """
        postings = self._postings
        if self.n_docs <= _PRODUCT_MAX_DOCS:
            block = self._product_block(queries, first, last)
        else:
            block = np.zeros((last - first, self.n_docs), dtype=postings.dtype)
            for row in range(first, last):
                target = block[row - first]
                for term in queries.query(row).tolist():
                    lo, hi = postings.indptr[term], postings.indptr[term + 1]
                    np.add.at(target, postings.indices[lo:hi], postings.data[lo:hi])
        doc_indices[first:last], scores[first:last] = _top_k_dense(block, k)

    def _product_block(self, queries: _Queries, first: int, last: int) -> np.ndarray:
        """Small corpora: the block's scores as one product Q @ dense(W[block terms]), no Python per query.

        Q holds a 1 per query token, duplicates kept in query order, and scipy's CSR-times-dense product adds
        the rows of W in that order: the same additions as np.add.at and rank_bm25.
        """
        postings = self._postings
        lo, hi = int(queries.indptr[first]), int(queries.indptr[last])
        distinct, local = np.unique(queries.terms[lo:hi], return_inverse=True)
        if distinct.shape[0] == 0:
            return np.zeros((last - first, self.n_docs), dtype=postings.dtype)
        index_dtype = postings.indices.dtype
        query_matrix = sp.csr_array(
            (
                np.ones(hi - lo, dtype=postings.dtype),
                local.astype(index_dtype),
                (queries.indptr[first : last + 1] - lo).astype(index_dtype),
            ),
            shape=(last - first, distinct.shape[0]),
        )
        return np.asarray(query_matrix @ postings[distinct].toarray())

    def save(self, folder: str | Path) -> None:
        """Write the index as .npy arrays plus meta.json (no pickle), atomically replacing `folder`."""
        encoded = [term.encode("utf-8") for term in self.vocabulary]
        offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum([len(term) for term in encoded], out=offsets[1:])
        arrays = {
            "weights_data": self._postings.data,
            "weights_indices": self._postings.indices,
            "weights_indptr": self._postings.indptr,
            "doc_lengths": self.doc_lengths,
            "idf": self.idf,
            "vocab_utf8": np.frombuffer(b"".join(encoded), dtype=np.uint8),
            "vocab_offsets": offsets,
        }
        meta = {
            "format_version": FORMAT_VERSION,
            "k1": self.k1,
            "b": self.b,
            "epsilon": self.epsilon,
            "dtype": self.dtype,
            "n_docs": self.n_docs,
            "n_terms": self.n_terms,
            "nnz": self.nnz,
        }
        with atomic_path(folder) as staging:
            staging.mkdir()
            for name, values in arrays.items():
                np.save(staging / f"{name}.npy", np.ascontiguousarray(values), allow_pickle=False)
            (staging / _META_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, folder: str | Path, mmap: bool = True) -> BM25Index:
        """Read an index written by `save`; with mmap the weights stay in the page cache, shared by processes."""
        folder = Path(folder)
        meta = _read_meta(folder)
        arrays = {name: _load_array(folder / f"{name}.npy", mmap) for name in _ARRAY_FILES}
        n_docs, n_terms, nnz = int(meta["n_docs"]), int(meta["n_terms"]), int(meta["nnz"])
        consistent = (
            arrays["doc_lengths"].shape == (n_docs,)
            and arrays["vocab_offsets"].shape == (n_terms + 1,)
            and arrays["weights_indptr"].shape == (n_terms + 1,)
            and arrays["weights_data"].shape == arrays["weights_indices"].shape == (nnz,)
            and str(arrays["weights_data"].dtype) == meta["dtype"]
        )
        if not consistent:
            raise DataError(f"{folder}: BM25 index arrays do not match {_META_FILE}")
        postings = sp.csr_array(
            (arrays["weights_data"], arrays["weights_indices"], arrays["weights_indptr"]),
            shape=(n_terms, n_docs),
            copy=False,
        )
        index = cls.__new__(cls)
        index._set(
            meta["k1"],
            meta["b"],
            meta["epsilon"],
            _decode_vocabulary(arrays["vocab_utf8"], arrays["vocab_offsets"]),
            arrays["doc_lengths"],
            arrays["idf"],
            postings,
        )
        return index


def _check_parameters(k1: float, b: float, epsilon: float, dtype: str) -> None:
    if not (math.isfinite(k1) and k1 >= 0):
        raise ConfigError(f"BM25 k1 must be a finite number >= 0, got {k1}")
    if not (math.isfinite(b) and 0 <= b <= 1):
        raise ConfigError(f"BM25 b must lie in [0, 1], got {b}")
    if not math.isfinite(epsilon):
        raise ConfigError(f"BM25 epsilon must be finite, got {epsilon}")
    if dtype not in _DTYPES:
        raise ConfigError(f"BM25 dtype must be one of {sorted(_DTYPES)}, got {dtype!r}")


def _count_terms(
    corpus: Iterable[Sequence[str]], show_progress: bool
) -> tuple[dict[str, int], np.ndarray, list[sp.csr_array]]:
    """Vocabulary (term -> id in order of first appearance, as rank_bm25's), tokens per document, and the
    term frequencies as document-major CSR chunks of consecutive documents (columns: term ids)."""
    vocabulary: dict[str, int] = {}
    lengths = array("q")
    chunks: list[sp.csr_array] = []
    chunk_terms = array("q")
    chunk_lengths: list[int] = []

    def flush() -> None:
        # int32 coordinates keep scipy's CSR at int32 indices: 8 bytes per (document, term) instead of 12.
        rows = np.repeat(np.arange(len(chunk_lengths), dtype=np.int32), chunk_lengths)
        columns = np.array(chunk_terms, dtype=np.int32 if len(vocabulary) < 2**31 else np.int64)
        # COO -> CSR sums duplicate (document, term) pairs: those sums are the term frequencies.
        chunks.append(
            sp.coo_array(
                (np.ones(columns.shape[0], dtype=np.int32), (rows, columns)),
                shape=(len(chunk_lengths), max(len(vocabulary), 1)),
            ).tocsr()
        )
        del chunk_terms[:]
        chunk_lengths.clear()

    for position, tokens in enumerate(tqdm(corpus, desc="BM25 index", unit="doc", disable=not show_progress)):
        if isinstance(tokens, str):
            raise DataError(f"BM25 corpus: document {position} is a string; pass token lists (see bm25.tokenize)")
        chunk_terms.extend([vocabulary.setdefault(token, len(vocabulary)) for token in tokens])
        chunk_lengths.append(len(tokens))
        lengths.append(len(tokens))
        if len(chunk_lengths) >= _BUILD_CHUNK_DOCS:
            flush()
    if chunk_lengths:
        flush()
    return vocabulary, np.asarray(lengths, dtype=np.int32), chunks


def _floored_idf(doc_frequencies: np.ndarray, n_docs: int, epsilon: float) -> np.ndarray:
    """rank_bm25's idf with its floor, bit for bit: math.log (not np.log, whose last bit may differ) and a
    sequential sum for the mean (np.sum adds pairwise)."""
    idf = np.fromiter(
        (math.log(n_docs - df + 0.5) - math.log(df + 0.5) for df in doc_frequencies.tolist()),
        dtype=np.float64,
        count=doc_frequencies.shape[0],
    )
    average_idf = float(np.cumsum(idf)[-1]) / idf.shape[0]
    idf[idf < 0] = epsilon * average_idf
    return idf


def _postings(
    chunks: list[sp.csr_array],
    frequencies: np.ndarray,
    doc_lengths: np.ndarray,
    idf: np.ndarray,
    k1: float,
    b: float,
    dtype: type,
) -> sp.csr_array:
    """Term-major [n_terms, n_docs] CSR of the weights w(t, d), filled chunk by chunk (frequencies: df(t)).

    Each chunk's weights are computed (float64 operations in rank_bm25's order, stored as `dtype`), transposed
    and written straight to their final places, and the chunk is then dropped: peak memory stays near the size
    of the index instead of the 2-3x of building a document-major matrix and transposing it. Chunks come in
    document order, so every posting list is sorted by document. Indices are int32 (int64 only past 2^31 - 1
    weights).
    """
    n_terms, n_docs = idf.shape[0], doc_lengths.shape[0]
    avgdl = int(doc_lengths.sum(dtype=np.int64)) / n_docs
    length_norm = k1 * (1 - b + b * doc_lengths.astype(np.float64) / avgdl)
    nnz = int(frequencies.sum())
    index_dtype = np.int32 if max(nnz, n_docs) < np.iinfo(np.int32).max else np.int64
    indptr = np.zeros(n_terms + 1, dtype=index_dtype)
    np.cumsum(frequencies, out=indptr[1:])
    indices = np.empty(nnz, dtype=index_dtype)
    data = np.empty(nnz, dtype=dtype)
    cursor = indptr[:-1].astype(np.int64)
    first_doc = 0
    while chunks:
        chunk = chunks.pop(0)
        rows = np.repeat(np.arange(chunk.shape[0]), np.diff(chunk.indptr))
        tf = chunk.data.astype(np.float64)
        weights = idf[chunk.indices] * (tf * (k1 + 1) / (tf + length_norm[first_doc + rows]))
        by_term = np.argsort(chunk.indices, kind="stable")  # stable: documents stay in order within a term
        terms = chunk.indices[by_term]
        counts = np.bincount(terms, minlength=n_terms)
        rank_in_term = np.arange(terms.shape[0]) - (np.cumsum(counts) - counts)[terms]
        destination = cursor[terms] + rank_in_term
        indices[destination] = first_doc + rows[by_term]
        data[destination] = weights[by_term]
        cursor += counts
        first_doc += chunk.shape[0]
    return sp.csr_array((data, indices, indptr), shape=(n_terms, n_docs))


def _descending_keys(scores: np.ndarray) -> np.ndarray:
    """Unsigned integers whose ascending order is the scores' descending order (IEEE bits, sign-folded): exact
    ties stay ties and every comparison is an integer one."""
    scores = scores + scores.dtype.type(0)  # maps -0.0 to +0.0
    unsigned = np.uint32 if scores.dtype == np.float32 else np.uint64
    bits = scores.view(unsigned)
    sign = unsigned(1 << (8 * scores.dtype.itemsize - 1))
    return ~np.where(bits & sign, ~bits, bits | sign)


def _top_k_dense(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise top k of a dense [rows, n_docs] block (column = document index), vectorised over rows.

    An exact prefilter replaces a per-row partition: the k-th largest of the maxima of >= k disjoint column
    blocks is a lower bound of the row's k-th largest score, so every top-k entry is at or above it and usually
    few others are. Rows where many entries tie at that bound (e.g. a query matching few documents, whose
    other documents all score 0) are finished one by one.
    """
    n_rows, n_docs = scores.shape
    if k >= n_docs:
        threshold = np.full((n_rows, 1), -np.inf, dtype=scores.dtype)
    else:
        threshold = _block_max_threshold(scores, k)
    flat = np.flatnonzero(scores >= threshold)
    rows = flat // n_docs
    counts = np.bincount(rows, minlength=n_rows)
    crowded = np.flatnonzero(counts > 4 * k + 1024)
    if crowded.shape[0]:
        regular = np.ones(n_rows, dtype=bool)
        regular[crowded] = False
        keep = regular[rows]
        flat, rows = flat[keep], rows[keep]
        counts[crowded] = 0
    columns = flat - rows * n_docs
    values = scores.ravel()[flat]
    doc_indices = np.empty((n_rows, k), dtype=np.int32)
    top_scores = np.empty((n_rows, k), dtype=scores.dtype)
    regular_rows = np.flatnonzero(counts)  # every regular row has >= k entries, crowded ones were zeroed
    first_k = (np.cumsum(counts) - counts)[regular_rows, None] + np.arange(k)
    doc_indices[regular_rows], top_scores[regular_rows] = _ranked(rows, values, columns, n_docs, first_k)
    for row in crowded.tolist():
        row_scores, bound = scores[row], threshold[row, 0]
        candidates = np.flatnonzero(row_scores > bound)
        if candidates.shape[0] < k:  # all of them, then the lowest-index ties
            ties = np.flatnonzero(row_scores == bound)[: k - candidates.shape[0]]
            candidates = np.concatenate([candidates, ties])
        doc_indices[row], top_scores[row] = _select(candidates, row_scores[candidates], k)
    return doc_indices, top_scores


def _block_max_threshold(scores: np.ndarray, k: int) -> np.ndarray:
    """[rows, 1] lower bound of each row's k-th largest value (k < n_docs)."""
    n_rows, n_docs = scores.shape
    width = max(1, n_docs // (2 * k))
    n_blocks = n_docs // width  # >= k
    # Block j holds the columns j, j + n_blocks, j + 2 * n_blocks, ...: the maximum over axis 1 then runs
    # along contiguous memory (SIMD), unlike a maximum over short contiguous runs.
    maxima = scores[:, : n_blocks * width].reshape(n_rows, width, n_blocks).max(axis=1)
    return np.sort(maxima, axis=1)[:, n_blocks - k : n_blocks - k + 1]


def _ranked(
    rows: np.ndarray, values: np.ndarray, columns: np.ndarray, n_docs: int, positions: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(columns, values) at `positions` of the entries sorted by row, value descending, column ascending."""
    keys = _descending_keys(values)
    if values.dtype == np.float32 and n_docs <= 1 << 20 and (rows.shape[0] == 0 or rows[-1] < 1 << 12):
        # One uint64 sort (SIMD) instead of a three-key lexsort: 12 bits of row, 32 of key, 20 of column; the
        # column and the score are read back from the sorted keys.
        packed = (rows.astype(np.uint64) << np.uint64(52)) | (keys.astype(np.uint64) << np.uint64(20))
        ranked = np.sort(packed | columns.astype(np.uint64))[positions]
        ordered = ~((ranked >> np.uint64(20)) & np.uint64(0xFFFFFFFF)).astype(np.uint32)
        bits = np.where(ordered & np.uint32(0x80000000), ordered ^ np.uint32(0x80000000), ~ordered)
        return (ranked & np.uint64(0xFFFFF)).astype(np.int32), bits.view(np.float32)
    order = np.lexsort((columns, keys, rows))[positions]
    return columns[order].astype(np.int32), values[order]


def _select(candidates: np.ndarray, values: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k best (value descending, index ascending) of distinct candidates that contain the top k."""
    keys = _descending_keys(values)
    if keys.shape[0] > k:
        kth = np.partition(keys, k - 1)[k - 1]
        better = np.flatnonzero(keys < kth)
        tied = np.flatnonzero(keys == kth)
        tied = tied[np.argsort(candidates[tied], kind="stable")[: k - better.shape[0]]]
        chosen = np.concatenate([better, tied])
        candidates, values, keys = candidates[chosen], values[chosen], keys[chosen]
    order = np.lexsort((candidates, keys))
    return candidates[order].astype(np.int32), values[order]


def _load_array(path: Path, mmap: bool) -> np.ndarray:
    if not path.is_file():
        raise DataError(f"{path}: missing BM25 index array")
    try:
        return np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except ValueError as error:
        raise DataError(f"{path}: not a readable .npy array ({error})") from None


def _read_meta(folder: Path) -> dict[str, Any]:
    path = folder / _META_FILE
    if not path.is_file():
        raise DataError(f"{path}: not a BM25 index folder ({_META_FILE} missing)")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise DataError(f"{path}:{error.lineno}: malformed JSON ({error.msg})") from None
    if not isinstance(meta, dict) or meta.get("format_version") != FORMAT_VERSION:
        raise DataError(f"{path}: not a BM25 index of format_version {FORMAT_VERSION}")
    for key in ("k1", "b", "epsilon", "dtype", "n_docs", "n_terms", "nnz"):
        if key not in meta:
            raise DataError(f"{path}: missing key {key!r}")
    return meta


def _decode_vocabulary(utf8: np.ndarray, offsets: np.ndarray) -> dict[str, int]:
    text = utf8.tobytes()
    bounds = offsets.tolist()
    return {text[bounds[i] : bounds[i + 1]].decode("utf-8"): i for i in range(len(bounds) - 1)}
