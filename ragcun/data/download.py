"""Fetch MS MARCO and the BEIR evaluation sets, verified and extracted atomically.

Sources
-------
Every dataset is one zip on the BEIR server, ``<base_url>/<name>.zip`` with
``base_url = BEIR_BASE_URL``; each zip holds one folder ``<name>/`` in BEIR layout::

    <name>/corpus.jsonl      {"_id", "title", "text", ...} per line
    <name>/queries.jsonl     {"_id", "text", ...} per line
    <name>/qrels/<split>.tsv header "query-id  corpus-id  score", then one judgement per line

MS MARCO passage ranking is ``msmarco.zip`` there (8.8M passages; qrels train, dev
and test). CQADupStack is the exception: ``cqadupstack.zip`` holds twelve sub-forum
folders ``cqadupstack/<forum>/`` each in BEIR layout, so it is addressed as
``cqadupstack/<forum>`` (e.g. ``cqadupstack/android``), never as bare ``cqadupstack``.

Integrity
---------
``PUBLISHED_MD5`` is the md5 column of the "Available Datasets" table in BEIR's README
(beir-cellar/beir); ``beir.util.download_and_unzip`` does not check it, this module
does. A dataset with no published md5 is still downloaded, with a logged warning, and
is then checked only for completeness (Content-Length) and archive integrity (CRC).

Layout written
--------------
- ``ensure_beir_dataset(name, data/beir)`` -> ``data/beir/<name>/`` exactly as in the
  zip. A folder already there is validated and used with no network access at all.
- ``ensure_msmarco_training(data/train)`` keeps the extracted ``msmarco/`` under a cache
  folder (default ``data/downloads/``, beside ``data/train``) and writes ``data/train/``
  in BEIR layout: a full *copy* of ``corpus.jsonl`` (a copy, not a symlink, so DVC can
  cache and checksum ``data/train`` on its own), ``queries.jsonl`` restricted to the
  selected queries, ``qrels/train.tsv`` subsampled to ``train_queries`` queries and
  ``qrels/dev.tsv`` with ``dev_queries`` of MS MARCO's dev queries (both seeded).

Every file and folder is written to a temporary sibling and renamed into place only
when complete and verified, so a failure never leaves anything partial behind.
"""

from __future__ import annotations

import csv
import enum
import gzip
import hashlib
import http.client
import json
import logging
import posixpath
import re
import stat
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
import zlib
from collections.abc import Iterable, Sequence
from pathlib import Path, PurePosixPath, PureWindowsPath

import numpy as np
from tqdm.auto import tqdm

from ragcun.config import CQADUPSTACK_FORUMS
from ragcun.data.beir_layout import Qrels, load_qrels
from ragcun.errors import ConfigError, DataError, DownloadError
from ragcun.io import READ_ENCODING, atomic_path

logger = logging.getLogger(__name__)

BEIR_BASE_URL = "https://public.ukp.informatik.tu-darmstadt.de/thakur/BEIR/datasets"

# md5 of each zip on the BEIR server, from the "Available Datasets" table of BEIR's README.
# Touché's entry is the current (v2) webis-touche2020.zip, which still unpacks to
# webis-touche2020/.
PUBLISHED_MD5: dict[str, str] = {
    "msmarco": "444067daf65d982533ea17ebd59501e4",
    "trec-covid": "ce62140cb23feb9becf6270d0d1fe6d1",
    "nfcorpus": "a89dba18a62ef92f7d323ec890a0d38d",
    "nq": "d4d3d2e48787a744b6f6e691ff534307",
    "hotpotqa": "f412724f78b0d91183a0e86805e16114",
    "fiqa": "17918ed23cd04fb15047f73e6c3bd9d9",
    "arguana": "8ad3e3c2a5867cdced806d6503f29b99",
    "webis-touche2020": "46f650ba5a527fc69e0a6521c5a23563",
    "cqadupstack": "4e41456d7df8ee7760a7f866133bda78",
    "quora": "18fb154900ba42a600f84b839c173167",
    "dbpedia-entity": "c2a39eb420a3164af735795df012ac2c",
    "scidocs": "38121350fc3a4d2f48850f6aff52e4a9",
    "fever": "5a818580227bfb4b35bb6fa46d9b6c03",
    "climate-fever": "8b66f0a9126c521bae2bde127b4dc99d",
    "scifact": "5f7d1de60b170fc8027bb7898e2efca1",
}

# BEIR datasets whose licences keep them off the server: they must be built locally.
NOT_PUBLIC = frozenset({"bioasq", "signal1m", "trec-news", "robust04"})

BEIR_EVAL_FILES = ("corpus.jsonl", "queries.jsonl", "qrels/test.tsv")
MSMARCO_SOURCE_FILES = ("corpus.jsonl", "queries.jsonl", "qrels/train.tsv", "qrels/dev.tsv")
QRELS_HEADER = ["query-id", "corpus-id", "score"]

_CHUNK_BYTES = 1 << 20
_NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?")
_MD5_PATTERN = re.compile(r"[0-9a-f]{32}")


class _Published(enum.Enum):
    """Sentinel type: "use the md5 from PUBLISHED_MD5" (None means "do not verify")."""

    MD5 = "published"


PUBLISHED = _Published.MD5


class _TransientError(Exception):
    """A failure worth retrying: refused/dropped connection, timeout, truncation, HTTP 5xx."""


# --------------------------------------------------------------------------- download


def download_file(
    url: str,
    dest: str | Path,
    *,
    md5: str | None,
    timeout: float = 60,
    retries: int = 2,
    backoff: float = 1.0,
) -> Path:
    """Stream `url` to `dest`, verified, retrying transient failures with exponential backoff.

    The bytes go to a temporary sibling renamed onto `dest` only when the transfer is
    complete (Content-Length matched) and its md5 equals `md5`; on any failure nothing is
    left behind. `md5=None` skips the checksum with a logged warning. Connection errors,
    timeouts, truncated transfers and HTTP 5xx/429 are retried `retries` times, sleeping
    `backoff * 2**k` seconds; HTTP 4xx and an md5 mismatch fail at once.
    """
    dest = Path(dest)
    expected = _check_md5_format(md5, url)
    if retries < 0:
        raise ConfigError(f"download retries must be >= 0, got {retries}")
    if expected is None:
        logger.warning("%s: no md5 to verify against; checking completeness only", url)
    attempts = retries + 1
    for attempt in range(1, attempts + 1):
        try:
            with atomic_path(dest) as staging:
                digest = _fetch(url, staging, timeout=timeout)
                if expected is not None and digest != expected:
                    raise DownloadError(f"{url}: md5 mismatch (expected {expected}, got {digest})")
            return dest
        except _TransientError as error:
            if attempt == attempts:
                raise DownloadError(f"{url}: {error} (gave up after {attempts} attempts)") from None
            delay = backoff * 2 ** (attempt - 1)
            logger.warning(
                "%s: %s; retrying in %.1f s (attempt %d of %d)", url, error, delay, attempt + 1, attempts
            )
            time.sleep(delay)
    raise AssertionError("unreachable: the loop returns or raises")


def _fetch(url: str, staging: Path, *, timeout: float) -> str:
    """Write the body of `url` to `staging`; return its md5. Transient failures raise _TransientError."""
    request = urllib.request.Request(url, headers={"User-Agent": "ragcun-download"})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as error:
        if error.code >= 500 or error.code == 429:
            raise _TransientError(f"HTTP {error.code} {error.reason}") from None
        raise DownloadError(f"{url}: HTTP {error.code} {error.reason}") from None
    except urllib.error.URLError as error:
        raise _TransientError(f"connection failed ({error.reason})") from None
    except (OSError, http.client.HTTPException) as error:
        raise _TransientError(f"connection failed ({error!r})") from None

    digest = hashlib.md5(usedforsecurity=False)
    received = 0
    with response, staging.open("wb") as handle:
        expected_length = _content_length(response)
        progress = tqdm(
            total=expected_length, unit="B", unit_scale=True, unit_divisor=1024, desc=staging.name, leave=False
        )
        with progress as bar:
            while True:
                # Only the read is guarded: an OSError from the write (disk full) is not transient.
                try:
                    chunk = response.read(_CHUNK_BYTES)
                except (OSError, http.client.HTTPException) as error:
                    raise _TransientError(f"connection dropped after {received} bytes ({error!r})") from None
                if not chunk:
                    break
                handle.write(chunk)
                digest.update(chunk)
                received += len(chunk)
                bar.update(len(chunk))
    # http.client returns EOF quietly when the server closes early (it does not raise
    # IncompleteRead for plain bodies), so completeness must be checked here.
    if expected_length is not None and received != expected_length:
        raise _TransientError(f"truncated transfer (got {received} of {expected_length} bytes)")
    return digest.hexdigest()


def _content_length(response: http.client.HTTPResponse) -> int | None:
    value = response.headers.get("Content-Length")
    return int(value) if value is not None and value.strip().isdigit() else None


def _check_md5_format(md5: str | None, context: str) -> str | None:
    if md5 is None:
        return None
    normalised = md5.strip().lower()
    if not _MD5_PATTERN.fullmatch(normalised):
        raise ConfigError(f"{context}: md5 must be 32 hex digits, got {md5!r}")
    return normalised


# --------------------------------------------------------------------------- extraction


def safe_extract(archive: str | Path, target_dir: str | Path) -> Path:
    """Extract a .zip, .tar, .tar.gz or .tgz into `target_dir`, which must not exist yet.

    Every member is checked before anything is written: an absolute path, a path that
    leaves `target_dir` (``../``), a link whose target leaves it, or a special file
    (device, fifo) raises DownloadError naming the member. A corrupt archive raises
    DownloadError too. Extraction goes to a temporary folder renamed onto `target_dir`
    only on success, so a failure leaves no folder behind.
    """
    archive, target_dir = Path(archive), Path(target_dir)
    if not archive.is_file():
        raise DataError(f"{archive}: file not found")
    if target_dir.exists() or target_dir.is_symlink():
        raise DataError(f"{target_dir}: already exists; refusing to extract {archive.name} over it")
    name = archive.name.lower()
    if name.endswith(".zip"):
        extract = _extract_zip
    elif name.endswith((".tar", ".tar.gz", ".tgz")):
        extract = _extract_tar
    else:
        raise DownloadError(f"{archive}: unsupported archive type (expected .zip, .tar, .tar.gz or .tgz)")
    with atomic_path(target_dir) as staging:
        staging.mkdir()
        extract(archive, staging)
    return target_dir


def _extract_zip(archive: Path, staging: Path) -> None:
    try:
        with zipfile.ZipFile(archive) as bundle:
            members = bundle.infolist()
            for info in members:
                _member_path(archive, info.filename)
                if stat.S_ISLNK(info.external_attr >> 16):
                    # zipfile would write a link as a plain file holding its target text,
                    # silently corrupting the data, so a link is refused whatever it points to.
                    raise DownloadError(
                        f"{archive}: member {info.filename!r} is a symlink; zip symlinks are not supported"
                    )
            for info in members:
                bundle.extract(info, staging)  # verifies each member's CRC-32 as it is read
    except (zipfile.BadZipFile, zlib.error, EOFError) as error:
        raise DownloadError(f"{archive}: corrupt zip archive ({error})") from None


def _extract_tar(archive: Path, staging: Path) -> None:
    # tarfile's "data" filter re-checks every path against the real filesystem while
    # extracting, which catches escapes through chains of links that a lexical check cannot.
    has_data_filter = hasattr(tarfile, "data_filter")
    try:
        with tarfile.open(archive, mode="r:*") as bundle:
            members = bundle.getmembers()
            for member in members:
                _check_tar_member(archive, member, links_allowed=has_data_filter)
            if has_data_filter:
                bundle.extractall(staging, members=members, filter="data")
            else:
                bundle.extractall(staging, members=members)
    except tarfile.FilterError as error:
        member = error.tarinfo.name if error.tarinfo is not None else "?"
        raise DownloadError(f"{archive}: member {member!r} rejected ({error})") from None
    except (tarfile.TarError, gzip.BadGzipFile, zlib.error, EOFError) as error:
        raise DownloadError(f"{archive}: corrupt tar archive ({error})") from None


def _check_tar_member(archive: Path, member: tarfile.TarInfo, *, links_allowed: bool) -> None:
    relative = _member_path(archive, member.name)
    if member.isfile() or member.isdir():
        return
    if not (member.issym() or member.islnk()):
        raise DownloadError(f"{archive}: member {member.name!r} is not a regular file, folder or link")
    if not links_allowed:
        raise DownloadError(
            f"{archive}: member {member.name!r} is a link; links need Python's tarfile data filter"
        )
    # A symlink's target is relative to the link's own folder, a hard link's to the archive
    # root; join keeps an absolute target absolute, and that is rejected below.
    joined = posixpath.join(posixpath.dirname(relative) if member.issym() else "", member.linkname)
    if joined.startswith("/") or _escapes(posixpath.normpath(joined)):
        raise DownloadError(
            f"{archive}: member {member.name!r} links outside the target folder ({member.linkname!r})"
        )


def _member_path(archive: Path, name: str) -> str:
    """The member's normalised relative path; absolute or escaping names raise DownloadError."""
    if not name or name.startswith(("/", "\\")) or PureWindowsPath(name).drive:
        raise DownloadError(f"{archive}: member {name!r} has an absolute path")
    relative = posixpath.normpath(name)
    if _escapes(relative):
        raise DownloadError(f"{archive}: member {name!r} escapes the target folder")
    return relative


def _escapes(normalised: str) -> bool:
    return PurePosixPath(normalised).parts[:1] == ("..",)


# --------------------------------------------------------------------------- BEIR datasets


def ensure_beir_dataset(
    name: str,
    root: str | Path,
    *,
    base_url: str = BEIR_BASE_URL,
    md5: str | None | _Published = PUBLISHED,
    timeout: float = 60,
    retries: int = 2,
) -> Path:
    """Return ``root/name`` in BEIR layout, downloading ``<base_url>/<name>.zip`` if absent.

    A folder already present is validated (corpus.jsonl, queries.jsonl, qrels/test.tsv)
    and returned with no network access; an incomplete one raises DataError naming the
    missing file. Otherwise the zip is downloaded, checked against `md5` (by default the
    published one; None skips the check with a warning), extracted and validated, then
    renamed into place. CQADupStack forums are named ``cqadupstack/<forum>``.
    """
    root = Path(root)
    archive_name = _archive_for(name)
    target = root / name
    if (root / archive_name).exists():
        check_beir_folder(target, name, BEIR_EVAL_FILES)
        logger.info("%s: using the dataset already at %s", name, target)
        return target
    required = [f"{name.partition('/')[2]}/{file}".lstrip("/") for file in BEIR_EVAL_FILES]
    _download_archive(
        archive_name, root, base_url=base_url, md5=md5, required=required, timeout=timeout, retries=retries
    )
    return target


def check_beir_folder(folder: str | Path, name: str, required: Iterable[str] = BEIR_EVAL_FILES) -> Path:
    """Raise DataError naming the dataset and file if a required file is missing or empty."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: BEIR dataset {name!r} is missing (no such folder)")
    for relative in required:
        path = folder / relative
        if not path.is_file():
            raise DataError(
                f"{folder}: BEIR dataset {name!r} is incomplete: {relative} is missing "
                "(delete the folder to download it again)"
            )
        if path.stat().st_size == 0:
            raise DataError(f"{path}: BEIR dataset {name!r} has an empty {relative}")
    return folder


def _archive_for(name: str) -> str:
    """The zip (without .zip) that holds dataset `name`; bad or unsupported names raise ConfigError."""
    if not _NAME_PATTERN.fullmatch(name):
        raise ConfigError(
            f"BEIR dataset name {name!r} is invalid (expected e.g. 'scifact' or 'cqadupstack/android')"
        )
    archive, _, forum = name.partition("/")
    if archive == "cqadupstack":
        if forum not in CQADUPSTACK_FORUMS:
            raise ConfigError(
                f"BEIR dataset {name!r}: CQADupStack is twelve separate sub-forum datasets; "
                f"name one as cqadupstack/<forum>, forum in {', '.join(CQADUPSTACK_FORUMS)}"
            )
    elif forum:
        raise ConfigError(f"BEIR dataset name {name!r} is invalid: only cqadupstack has sub-datasets")
    return archive


def _download_archive(
    archive_name: str,
    root: Path,
    *,
    base_url: str,
    md5: str | None | _Published,
    required: Sequence[str],
    timeout: float,
    retries: int,
) -> Path:
    """Download, verify and extract ``<archive_name>.zip`` into ``root/archive_name`` atomically."""
    if archive_name in NOT_PUBLIC:
        raise ConfigError(
            f"BEIR dataset {archive_name!r} is not publicly downloadable; build it with BEIR's "
            f"reproduction scripts and place it at {root / archive_name}"
        )
    url = f"{base_url.rstrip('/')}/{archive_name}.zip"
    if md5 is PUBLISHED:
        md5 = PUBLISHED_MD5.get(archive_name)
        if md5 is None:
            logger.warning("%s: BEIR publishes no md5 for %r; it cannot be verified", url, archive_name)
    root.mkdir(parents=True, exist_ok=True)
    # The zip and the raw extraction live in a hidden folder inside `root` (same filesystem,
    # so the final rename is atomic) that is removed whatever happens.
    with tempfile.TemporaryDirectory(prefix=f".{archive_name}.", suffix=".download", dir=root) as work:
        archive = download_file(url, Path(work) / f"{archive_name}.zip", md5=md5, timeout=timeout, retries=retries)
        extracted = safe_extract(archive, Path(work) / "extracted")
        inner = extracted / archive_name
        for relative in required:
            if not (inner / relative).is_file():
                raise DownloadError(f"{url}: archive lacks {archive_name}/{relative}")
        with atomic_path(root / archive_name) as staging:
            inner.rename(staging)
    logger.info("%s: extracted to %s", url, root / archive_name)
    return root / archive_name


# --------------------------------------------------------------------------- MS MARCO training


def ensure_msmarco_training(
    root: str | Path,
    *,
    base_url: str = BEIR_BASE_URL,
    train_queries: int | None,
    dev_queries: int,
    seed: int,
    cache_dir: str | Path | None = None,
    local: str | Path | None = None,
    md5: str | None | _Published = PUBLISHED,
    timeout: float = 60,
    retries: int = 2,
) -> Path:
    """Write the MS MARCO training collection to `root` in BEIR layout; return `root`.

    `local` is an MS MARCO folder already on disk in BEIR layout (the stage passes ``data/beir/msmarco``): when
    it exists it is the source, checked and used with no network access, as every folder in data/beir is.

    The extracted ``msmarco/`` is kept in `cache_dir` (default: ``downloads`` beside
    `root`, i.e. ``data/downloads/msmarco``) and reused there without network access.
    `root` receives a copy of the full corpus, ``qrels/train.tsv`` restricted to
    `train_queries` train queries (None = all), ``qrels/dev.tsv`` restricted to
    `dev_queries` dev queries, and ``queries.jsonl`` holding exactly those queries. The
    selections are seeded and nested: for one seed, a larger `train_queries` keeps every
    query of a smaller one, and the dev selection does not depend on `train_queries`.
    """
    root = Path(root)
    cache = Path(cache_dir) if cache_dir is not None else root.parent / "downloads"
    source = cache / "msmarco"
    if local is not None and Path(local).exists():
        source = Path(local)
        check_beir_folder(source, "msmarco", MSMARCO_SOURCE_FILES)
        logger.info("msmarco: using the copy already at %s", source)
    elif source.exists():
        check_beir_folder(source, "msmarco", MSMARCO_SOURCE_FILES)
    else:
        _download_archive(
            "msmarco", cache, base_url=base_url, md5=md5, required=MSMARCO_SOURCE_FILES,
            timeout=timeout, retries=retries,
        )  # fmt: skip

    # Only the qrels are loaded whole (~530K judgements). GenericDataLoader would also hold the
    # 8.8M-passage corpus in a dict (several GB), so corpus and queries are streamed line by line.
    train_qrels = load_qrels(source, "train", "msmarco")
    dev_qrels = load_qrels(source, "dev", "msmarco")
    train_stream, dev_stream = np.random.SeedSequence(seed).spawn(2)
    qrels_dir = source / "qrels"
    train_rng, dev_rng = np.random.default_rng(train_stream), np.random.default_rng(dev_stream)
    train_ids = _sample_queries(train_qrels, train_queries, train_rng, "train_queries", qrels_dir / "train.tsv")
    dev_ids = _sample_queries(dev_qrels, dev_queries, dev_rng, "dev_queries", qrels_dir / "dev.tsv")
    needed_docs = {doc for qid in train_ids for doc in train_qrels[qid]}
    needed_docs |= {doc for qid in dev_ids for doc in dev_qrels[qid]}

    with atomic_path(root) as staging:
        (staging / "qrels").mkdir(parents=True)
        _write_qrels(staging / "qrels" / "train.tsv", train_qrels, train_ids)
        _write_qrels(staging / "qrels" / "dev.tsv", dev_qrels, dev_ids)
        _copy_selected_queries(source / "queries.jsonl", staging / "queries.jsonl", train_ids | dev_ids)
        _copy_corpus(source / "corpus.jsonl", staging / "corpus.jsonl", needed_docs)
    logger.info("%s: %d train and %d dev queries written", root, len(train_ids), len(dev_ids))
    return root


def _sample_queries(
    qrels: Qrels, count: int | None, rng: np.random.Generator, key: str, path: Path
) -> set[str]:
    """`count` query ids drawn without replacement (None = all); prefixes of one permutation, hence nested."""
    ids = sorted(qrels)  # sorted so the draw depends on the set of ids, not on the row order
    if count is None:
        return set(ids)
    if count < 1 or count > len(ids):
        raise ConfigError(f"{key}={count} must be between 1 and the {len(ids)} queries of {path}")
    order = rng.permutation(len(ids))[:count]
    return {ids[index] for index in order}


def _write_qrels(path: Path, qrels: Qrels, selected: set[str]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(QRELS_HEADER)
        for qid, judgements in qrels.items():
            if qid in selected:
                writer.writerows((qid, doc, score) for doc, score in judgements.items())


def _copy_selected_queries(source: Path, dest: Path, wanted: set[str]) -> None:
    """Copy the lines of `source` whose _id is wanted, verbatim and in file order."""
    missing = set(wanted)
    with source.open(encoding=READ_ENCODING) as reader, dest.open("w", encoding="utf-8") as writer:
        for line_number, line in enumerate(reader, start=1):
            if not line.strip():
                continue
            query_id = _record_id(line, source, line_number)
            if query_id in wanted:
                writer.write(line if line.endswith("\n") else line + "\n")
                missing.discard(query_id)
    if missing:
        raise DataError(f"{source}: {len(missing)} queries named in the qrels are missing, e.g. {min(missing)!r}")


def _copy_corpus(source: Path, dest: Path, needed_docs: set[str]) -> None:
    """Copy the corpus line by line, checking each line's JSON and that every judged doc is present."""
    missing = set(needed_docs)
    with source.open(encoding=READ_ENCODING) as reader, dest.open("w", encoding="utf-8") as writer:
        for line_number, line in enumerate(tqdm(reader, desc="corpus", unit=" docs", leave=False), start=1):
            if not line.strip():
                continue
            missing.discard(_record_id(line, source, line_number))
            writer.write(line if line.endswith("\n") else line + "\n")
    if missing:
        raise DataError(
            f"{source}: {len(missing)} documents named in the qrels are missing, e.g. {min(missing)!r}"
        )


def _record_id(line: str, path: Path, line_number: int) -> str:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as error:
        raise DataError(f"{path}:{line_number}: malformed JSON ({error.msg})") from None
    if not isinstance(record, dict) or not isinstance(record.get("_id"), str):
        raise DataError(f"{path}:{line_number}: expected a JSON object with a string '_id'")
    return record["_id"]


# --------------------------------------------------------------------------- BEIR-layout training collection

BEIR_TRAINING_FILES = ("corpus.jsonl", "queries.jsonl", "qrels/train.tsv")


class _Judgements:
    """One qrels split with the line of each judgement, so an unknown id is reported where it is written."""

    def __init__(self, path: Path) -> None:
        from ragcun.data.beir_layout import iter_qrels

        self.path = path
        self.qrels: Qrels = {}
        self.lines: dict[tuple[str, str], int] = {}
        for line_number, query_id, doc_id, score in iter_qrels(path):
            self.qrels.setdefault(query_id, {})[doc_id] = score
            self.lines.setdefault((query_id, doc_id), line_number)

    def first_unknown(self, queries: set[str], documents: set[str]) -> str | None:
        """`<file>:<line>: ...` for the first judgement (in file order) naming an unknown query or document."""
        for (query_id, doc_id), line_number in sorted(self.lines.items(), key=lambda item: item[1]):
            if query_id not in queries:
                return f"{self.path}:{line_number}: query {query_id!r} is not in queries.jsonl"
            if doc_id not in documents:
                return f"{self.path}:{line_number}: document {doc_id!r} is not in corpus.jsonl"
        return None


def _ids_of(path: Path, dataset: str, *, needs_text: bool = False) -> set[str]:
    """Every `_id` of a JSONL file, read line by line (the corpus may have millions of lines)."""
    ids: set[str] = set()
    with path.open(encoding=READ_ENCODING) as reader:
        for line_number, line in enumerate(reader, start=1):
            if not line.strip():
                continue
            ids.add(_record_id(line, path, line_number))
            if needs_text and not isinstance(json.loads(line).get("text"), str):
                raise DataError(f"{path}:{line_number}: expected a string 'text'")
    if not ids:
        raise DataError(f"dataset {dataset!r}: {path} is empty")
    return ids


def _with_positive(qrels: Qrels) -> list[str]:
    return sorted(query_id for query_id, judged in qrels.items() if any(score > 0 for score in judged.values()))


def ensure_beir_training(
    root: str | Path,
    source: str | Path,
    name: str,
    *,
    train_queries: int | None,
    dev_queries: int,
    seed: int,
) -> Path:
    """Write the training collection `root` (data/train) from a BEIR-layout folder `source` (data/beir/<name>).

    Reads corpus.jsonl, queries.jsonl, qrels/train.tsv and, when present, qrels/dev.tsv; without one, the dev
    queries are a seeded draw of `dev_queries` training queries (with a positive judgement) and are removed
    from training, so the two never overlap. A dev.tsv query that is also in train.tsv is dropped from training
    for the same reason. `train_queries` caps the training queries (a seeded draw; None or more than there are:
    all). Everything is checked before anything is written: a missing file or split, an empty file, a malformed
    line or a judgement naming an unknown query or document is a DataError naming the dataset, file and line.
    The same layout as ``ensure_msmarco_training`` writes: the full corpus (a copy), the selected queries, and
    qrels/train.tsv and qrels/dev.tsv restricted to them.
    """
    root, source = Path(root), Path(source)
    if not source.is_dir():
        raise DataError(
            f"dataset {name!r}: {source} is missing; put a BEIR-layout folder there (corpus.jsonl, queries.jsonl, "
            "qrels/train.tsv) or list a downloadable BEIR dataset in evaluate.datasets"
        )
    for relative in BEIR_TRAINING_FILES:
        path = source / relative
        if not path.is_file():
            split = " (data.source: beir trains on its train split)" if relative.startswith("qrels/") else ""
            raise DataError(f"dataset {name!r}: missing {path}{split}")
        if path.stat().st_size == 0:
            raise DataError(f"dataset {name!r}: {path} is empty")
    train = _Judgements(source / "qrels" / "train.tsv")
    dev_path = source / "qrels" / "dev.tsv"
    dev = _Judgements(dev_path) if dev_path.is_file() else None
    for split in (train, dev):
        if split is not None and not split.qrels:
            raise DataError(f"dataset {name!r}: {split.path} holds no judgements")
    documents = _ids_of(source / "corpus.jsonl", name)
    queries = _ids_of(source / "queries.jsonl", name, needs_text=True)
    for split in (train, dev):
        problem = split.first_unknown(queries, documents) if split is not None else None
        if problem is not None:
            raise DataError(f"dataset {name!r}: {problem}")

    train_stream, dev_stream = np.random.SeedSequence(seed).spawn(2)
    train_rng, dev_rng = np.random.default_rng(train_stream), np.random.default_rng(dev_stream)
    if dev is not None:
        dev_ids = set(_draw(_with_positive(dev.qrels), dev_queries, dev_rng, "dev_queries", dev.path))
        candidates = [query_id for query_id in sorted(train.qrels) if query_id not in set(dev.qrels)]
        if len(candidates) < len(train.qrels):
            logger.warning("dataset %r: %d queries of qrels/train.tsv are also in qrels/dev.tsv; they are not trained on",
                           name, len(train.qrels) - len(candidates))
    else:
        with_positive = _with_positive(train.qrels)
        if dev_queries >= len(with_positive):
            raise ConfigError(
                f"data.dev_queries={dev_queries} leaves no training query: {train.path} has {len(with_positive)} "
                "queries with a positive judgement and no qrels/dev.tsv to hold out instead; lower data.dev_queries"
            )
        dev_ids = set(_draw(with_positive, dev_queries, dev_rng, "dev_queries", train.path))
        candidates = [query_id for query_id in sorted(train.qrels) if query_id not in dev_ids]
    if not candidates:
        raise DataError(f"dataset {name!r}: no query of {train.path} is left for training")
    train_ids = set(_draw(candidates, train_queries, train_rng, "train_queries", train.path))
    dev_qrels = dev.qrels if dev is not None else train.qrels

    with atomic_path(root) as staging:
        (staging / "qrels").mkdir(parents=True)
        _write_qrels(staging / "qrels" / "train.tsv", train.qrels, train_ids)
        _write_qrels(staging / "qrels" / "dev.tsv", dev_qrels, dev_ids)
        _copy_selected_queries(source / "queries.jsonl", staging / "queries.jsonl", train_ids | dev_ids)
        _copy_corpus(source / "corpus.jsonl", staging / "corpus.jsonl", set())
    logger.info("%s: %d train and %d dev queries of %r written (dev from %s)", root, len(train_ids), len(dev_ids),
                name, "qrels/dev.tsv" if dev is not None else "a seeded split of qrels/train.tsv")
    return root


def _draw(ids: list[str], count: int | None, rng: np.random.Generator, key: str, path: Path) -> list[str]:
    """At most `count` of the sorted `ids` (None: all), a seeded draw; a larger count keeps every id of a smaller."""
    if not ids:
        raise DataError(f"{path}: no query with a positive judgement to draw {key} from")
    if count is None or count >= len(ids):
        return list(ids)
    order = rng.permutation(len(ids))[:count]
    return [ids[index] for index in order]
