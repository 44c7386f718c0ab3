"""ragcun.data.download against a local ThreadingHTTPServer (see conftest.py); no other network."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import stat
import tarfile
import zipfile
from pathlib import Path

import pytest
from beir.datasets.data_loader import GenericDataLoader

from ragcun.data.download import (
    PUBLISHED_MD5,
    download_file,
    ensure_beir_dataset,
    ensure_msmarco_training,
    safe_extract,
)
from ragcun.errors import ConfigError, DataError, DownloadError

CORPUS = {
    "d1": {"title": "Isotropy", "text": "Embeddings spread evenly on the sphere."},
    "d2": {"title": "BM25", "text": "A lexical ranking function."},
    "d3": {"title": "", "text": "Dense retrieval with a bi-encoder."},
}
QUERIES = {"q1": "what is isotropy", "q2": "how does dense retrieval work"}
QRELS = {"q1": {"d1": 1}, "q2": {"d3": 2, "d1": 1}}


# --------------------------------------------------------------------------- builders


def beir_files(folder: str, corpus=CORPUS, queries=QUERIES, qrels_by_split=None) -> dict[str, bytes]:
    """The members of a BEIR-layout archive for one dataset folder."""
    qrels_by_split = qrels_by_split if qrels_by_split is not None else {"test": QRELS}
    files = {
        f"{folder}/corpus.jsonl": "".join(json.dumps({"_id": i, **d}) + "\n" for i, d in corpus.items()),
        f"{folder}/queries.jsonl": "".join(json.dumps({"_id": i, "text": t}) + "\n" for i, t in queries.items()),
    }
    for split, qrels in qrels_by_split.items():
        rows = ["query-id\tcorpus-id\tscore\n"]
        rows += [f"{q}\t{d}\t{s}\n" for q, docs in qrels.items() for d, s in docs.items()]
        files[f"{folder}/qrels/{split}.tsv"] = "".join(rows)
    return {name: text.encode() for name, text in files.items()}


def write_zip(path: Path, members: dict[str | zipfile.ZipInfo, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        for name, payload in members.items():
            bundle.writestr(name, payload)
    return path


def md5_of(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def entries(folder: Path) -> list[str]:
    """Everything under `folder`, hidden temporaries included."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) if folder.exists() else []


# --------------------------------------------------------------------------- BEIR datasets


def test_good_archive_is_extracted_and_loads_with_beir(file_server, tmp_path):
    archive = write_zip(file_server.folder / "toyset.zip", beir_files("toyset"))
    root = tmp_path / "beir"

    path = ensure_beir_dataset("toyset", root, base_url=file_server.base_url, md5=md5_of(archive))

    assert path == root / "toyset"
    corpus, queries, qrels = GenericDataLoader(str(path)).load(split="test")
    assert corpus == CORPUS
    assert queries == QUERIES
    assert qrels == QRELS
    files = ("corpus.jsonl", "queries.jsonl", "qrels", "qrels/test.tsv")
    assert entries(root) == sorted(["toyset", *(f"toyset/{f}" for f in files)])


def test_dataset_without_published_md5_is_downloaded_with_a_warning(file_server, tmp_path, caplog):
    write_zip(file_server.folder / "toyset.zip", beir_files("toyset"))
    with caplog.at_level(logging.WARNING, logger="ragcun.data.download"):
        path = ensure_beir_dataset("toyset", tmp_path / "beir", base_url=file_server.base_url)
    assert (path / "qrels" / "test.tsv").is_file()
    assert any("toyset" in r.getMessage() and "md5" in r.getMessage() for r in caplog.records)


def test_published_md5_is_enforced(file_server, tmp_path):
    archive = write_zip(file_server.folder / "scifact.zip", beir_files("scifact"))
    root = tmp_path / "beir"
    with pytest.raises(DownloadError) as caught:
        ensure_beir_dataset("scifact", root, base_url=file_server.base_url)
    message = str(caught.value)
    assert f"{file_server.base_url}/scifact.zip" in message
    assert PUBLISHED_MD5["scifact"] in message and md5_of(archive) in message
    assert "\n" not in message
    assert entries(root) == []


def test_corrupt_archive_leaves_no_folder(file_server, tmp_path):
    corpus = {f"d{i}": {"title": "", "text": f"text {i} " * 50} for i in range(50)}
    payload = bytearray(write_zip(tmp_path / "good.zip", beir_files("toyset", corpus=corpus)).read_bytes())
    middle = len(payload) // 2
    payload[middle : middle + 64] = bytes(64)  # garble compressed data, keep the central directory
    (file_server.folder / "toyset.zip").write_bytes(payload)
    root = tmp_path / "beir"

    with pytest.raises(DownloadError, match="corrupt zip"):
        ensure_beir_dataset("toyset", root, base_url=file_server.base_url, md5=hashlib.md5(payload).hexdigest())
    assert entries(root) == []


def test_truncated_zip_is_corrupt(tmp_path):
    payload = write_zip(tmp_path / "good.zip", beir_files("toyset")).read_bytes()
    broken = tmp_path / "broken.zip"
    broken.write_bytes(payload[: len(payload) // 2])
    with pytest.raises(DownloadError, match="corrupt zip"):
        safe_extract(broken, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_md5_mismatch_leaves_nothing(file_server, tmp_path):
    (file_server.folder / "blob.bin").write_bytes(b"payload" * 1000)
    dest = tmp_path / "downloads" / "blob.bin"
    url = f"{file_server.base_url}/blob.bin"
    with pytest.raises(DownloadError) as caught:
        download_file(url, dest, md5="0" * 32, backoff=0)
    got = hashlib.md5(b"payload" * 1000).hexdigest()
    assert str(caught.value) == f"{url}: md5 mismatch (expected {'0' * 32}, got {got})"
    assert entries(dest.parent) == []
    assert file_server.requests == ["/blob.bin"]  # a checksum mismatch is not retried


def test_verified_download_matches_source(file_server, tmp_path):
    payload = bytes(range(256)) * 9000  # several 1 MiB chunks
    (file_server.folder / "blob.bin").write_bytes(payload)
    url, md5 = f"{file_server.base_url}/blob.bin", hashlib.md5(payload).hexdigest()
    dest = download_file(url, tmp_path / "blob.bin", md5=md5)
    assert dest.read_bytes() == payload
    assert entries(tmp_path) == ["blob.bin", "served", "served/blob.bin"]


def test_parent_member_is_rejected_and_nothing_written(file_server, tmp_path):
    members = {**beir_files("toyset"), "../evil": b"escaped"}
    archive = write_zip(file_server.folder / "toyset.zip", members)
    root = tmp_path / "beir"

    with pytest.raises(DownloadError, match=r"'\.\./evil'"):
        ensure_beir_dataset("toyset", root, base_url=file_server.base_url, md5=md5_of(archive))
    assert entries(root) == []
    assert not (tmp_path / "evil").exists()

    target = tmp_path / "out" / "x"
    with pytest.raises(DownloadError, match=r"'\.\./evil'"):
        safe_extract(archive, target)
    assert entries(tmp_path / "out") == []
    assert not (tmp_path / "out" / "evil").exists()


def test_absolute_member_is_rejected(tmp_path):
    outside = tmp_path / "abs_evil"
    archive = write_zip(tmp_path / "a.zip", {**beir_files("toyset"), zipfile.ZipInfo(str(outside)): b"escaped"})
    with pytest.raises(DownloadError, match="absolute path"):
        safe_extract(archive, tmp_path / "out")
    assert not outside.exists()
    assert not (tmp_path / "out").exists()


def test_zip_symlink_member_is_rejected(tmp_path):
    link = zipfile.ZipInfo("toyset/link")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    archive = write_zip(tmp_path / "a.zip", {**beir_files("toyset"), link: b"../../outside"})
    with pytest.raises(DownloadError, match="'toyset/link' is a symlink"):
        safe_extract(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def write_tar(path: Path, files: dict[str, bytes], links: dict[str, str] = {}) -> Path:  # noqa: B006 (read only)
    with tarfile.open(path, "w:gz") as bundle:
        for name, payload in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            bundle.addfile(info, io.BytesIO(payload))
        for name, target in links.items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            bundle.addfile(info)
    return path


def test_tar_gz_extracts_with_internal_link(tmp_path):
    files = beir_files("toyset")
    archive = write_tar(tmp_path / "a.tar.gz", files, links={"toyset/alias.jsonl": "corpus.jsonl"})
    out = safe_extract(archive, tmp_path / "out")
    for name, payload in files.items():
        assert (out / name).read_bytes() == payload
    assert (out / "toyset" / "alias.jsonl").is_symlink()
    assert (out / "toyset" / "alias.jsonl").read_bytes() == files["toyset/corpus.jsonl"]


@pytest.mark.parametrize(
    ("files", "links", "member"),
    [
        ({"../evil": b"x"}, {}, "../evil"),
        ({"toyset/a": b"x"}, {"toyset/link": "../../outside"}, "toyset/link"),
        ({"toyset/a": b"x"}, {"toyset/link": "/etc/passwd"}, "toyset/link"),
    ],
)
def test_tar_escapes_are_rejected(tmp_path, files, links, member):
    archive = write_tar(tmp_path / "a.tar.gz", files, links)
    with pytest.raises(DownloadError, match=f"'{member}'"):
        safe_extract(archive, tmp_path / "out" / "x")
    assert entries(tmp_path / "out") == []
    assert not (tmp_path / "evil").exists()


def test_truncated_transfer_is_retried_then_fails_leaving_nothing(file_server, tmp_path):
    (file_server.folder / "blob.bin").write_bytes(b"z" * 100_000)
    url = f"{file_server.base_url}/truncate/blob.bin"
    dest = tmp_path / "downloads" / "blob.bin"
    with pytest.raises(DownloadError) as caught:
        download_file(url, dest, md5=None, retries=2, backoff=0)
    assert str(caught.value).startswith(f"{url}: truncated transfer (got 50000 of 100000 bytes)")
    assert file_server.requests == ["/truncate/blob.bin"] * 3
    assert entries(dest.parent) == []


def test_dropped_transfer_recovers_on_retry(file_server, tmp_path):
    payload = b"abc" * 40_000
    (file_server.folder / "blob.bin").write_bytes(payload)
    url, md5 = f"{file_server.base_url}/flaky/blob.bin", hashlib.md5(payload).hexdigest()
    dest = download_file(url, tmp_path / "blob.bin", md5=md5, backoff=0)
    assert dest.read_bytes() == payload
    assert len(file_server.requests) == 2


def test_missing_file_is_not_retried(file_server, tmp_path):
    with pytest.raises(DownloadError, match="HTTP 404"):
        download_file(f"{file_server.base_url}/nope.zip", tmp_path / "nope.zip", md5=None, backoff=0)
    assert file_server.requests == ["/nope.zip"]
    assert not (tmp_path / "nope.zip").exists()


def test_refused_connection_fails_after_retries(closed_port_url, tmp_path):
    with pytest.raises(DownloadError, match="gave up after 2 attempts"):
        download_file(f"{closed_port_url}/x.zip", tmp_path / "x.zip", md5=None, retries=1, backoff=0)
    assert entries(tmp_path) == []


def test_present_folder_is_used_without_network(closed_port_url, tmp_path):
    root = tmp_path / "beir"
    for name, payload in beir_files("scifact").items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(payload)
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}

    path = ensure_beir_dataset("scifact", root, base_url=closed_port_url)

    assert path == root / "scifact"
    assert {p: p.read_bytes() for p in root.rglob("*") if p.is_file()} == before


def test_incomplete_folder_raises_data_error_naming_file(closed_port_url, tmp_path):
    root = tmp_path / "beir"
    for name, payload in beir_files("toyset").items():
        if not name.endswith("qrels/test.tsv"):
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_bytes(payload)
    with pytest.raises(DataError, match=r"'toyset'.*qrels/test\.tsv is missing"):
        ensure_beir_dataset("toyset", root, base_url=closed_port_url)


def test_non_public_dataset_is_a_config_error_unless_present(closed_port_url, tmp_path):
    with pytest.raises(ConfigError, match="'signal1m' is not publicly downloadable"):
        ensure_beir_dataset("signal1m", tmp_path / "beir", base_url=closed_port_url)
    for name, payload in beir_files("signal1m").items():
        (tmp_path / "beir" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "beir" / name).write_bytes(payload)
    path = ensure_beir_dataset("signal1m", tmp_path / "beir", base_url=closed_port_url)
    assert path == tmp_path / "beir" / "signal1m"


def test_cqadupstack_forums(file_server, tmp_path):
    with pytest.raises(ConfigError, match="cqadupstack/<forum>"):
        ensure_beir_dataset("cqadupstack", tmp_path / "beir", base_url=file_server.base_url)
    gis_corpus, gis_qrels = {"g": {"title": "", "text": "map"}}, {"test": {"q1": {"g": 1}}}
    gis = beir_files("cqadupstack/gis", corpus=gis_corpus, qrels_by_split=gis_qrels)
    members = {**beir_files("cqadupstack/android"), **gis}
    archive = write_zip(file_server.folder / "cqadupstack.zip", members)
    root = tmp_path / "beir"

    path = ensure_beir_dataset("cqadupstack/android", root, base_url=file_server.base_url, md5=md5_of(archive))
    assert path == root / "cqadupstack" / "android"
    assert GenericDataLoader(str(path)).load(split="test")[0] == CORPUS
    # the second forum comes from the same extracted archive, without another request
    assert ensure_beir_dataset("cqadupstack/gis", root, base_url=file_server.base_url) == root / "cqadupstack" / "gis"
    assert file_server.requests == ["/cqadupstack.zip"]


# --------------------------------------------------------------------------- MS MARCO training


TRAIN_QRELS = {f"t{i}": {f"p{i}": 1, **({f"p{i + 20}": 1} if i % 3 == 0 else {})} for i in range(20)}
DEV_QRELS = {f"v{i}": {f"p{i + 1}": 1} for i in range(10)}
TEST_QRELS = {"x0": {"p0": 1}}
MS_QUERIES = {q: f"query {q}" for q in [*TRAIN_QRELS, *DEV_QRELS, *TEST_QRELS, "unjudged"]}
MS_CORPUS = {f"p{i}": {"title": "", "text": f"passage {i}"} for i in range(45)}


@pytest.fixture
def fake_msmarco(file_server) -> str:
    qrels = {"train": TRAIN_QRELS, "dev": DEV_QRELS, "test": TEST_QRELS}
    members = beir_files("msmarco", MS_CORPUS, MS_QUERIES, qrels)
    archive = write_zip(file_server.folder / "msmarco.zip", members)
    return md5_of(archive)


def read_tsv(path: Path) -> list[list[str]]:
    with path.open(newline="") as handle:
        return list(csv.reader(handle, delimiter="\t"))


def test_msmarco_training_layout(file_server, fake_msmarco, tmp_path):
    root = tmp_path / "data" / "train"
    out = ensure_msmarco_training(
        root, base_url=file_server.base_url, train_queries=5, dev_queries=3, seed=11, md5=fake_msmarco
    )

    assert out == root
    assert (tmp_path / "data" / "downloads" / "msmarco" / "corpus.jsonl").is_file()  # the cache
    corpus, train_queries, train_qrels = GenericDataLoader(str(root)).load(split="train")
    assert corpus == MS_CORPUS
    assert len(train_qrels) == 5 and set(train_qrels) <= set(TRAIN_QRELS)
    assert all(train_qrels[q] == TRAIN_QRELS[q] for q in train_qrels)  # every positive of a kept query
    assert train_queries == {q: MS_QUERIES[q] for q in train_qrels}
    _, dev_queries, dev_qrels = GenericDataLoader(str(root)).load(split="dev")
    assert len(dev_qrels) == 3 and all(dev_qrels[q] == DEV_QRELS[q] for q in dev_qrels)
    queries_file = [json.loads(line)["_id"] for line in (root / "queries.jsonl").read_text().splitlines()]
    assert sorted(queries_file) == sorted([*train_qrels, *dev_qrels])
    assert entries(root) == ["corpus.jsonl", "qrels", "qrels/dev.tsv", "qrels/train.tsv", "queries.jsonl"]


def test_msmarco_training_is_deterministic_nested_and_cached(file_server, fake_msmarco, closed_port_url, tmp_path):
    common = dict(dev_queries=4, seed=3, cache_dir=tmp_path / "cache")
    served = file_server.base_url
    first = ensure_msmarco_training(tmp_path / "a", base_url=served, train_queries=6, md5=fake_msmarco, **common)
    # the cache is reused: no network is needed from here on
    again = ensure_msmarco_training(tmp_path / "b", base_url=closed_port_url, train_queries=6, **common)
    larger = ensure_msmarco_training(tmp_path / "c", base_url=closed_port_url, train_queries=12, **common)
    everything = ensure_msmarco_training(tmp_path / "d", base_url=closed_port_url, train_queries=None, **common)
    other_seed = ensure_msmarco_training(
        tmp_path / "e", base_url=closed_port_url, train_queries=6, dev_queries=4, seed=4, cache_dir=tmp_path / "cache"
    )

    for name in ("corpus.jsonl", "queries.jsonl", "qrels/train.tsv", "qrels/dev.tsv"):
        assert (first / name).read_bytes() == (again / name).read_bytes()
    assert file_server.requests == ["/msmarco.zip"]

    def train_ids(root: Path) -> set[str]:
        return {row[0] for row in read_tsv(root / "qrels" / "train.tsv")[1:]}

    assert train_ids(first) < train_ids(larger) < train_ids(everything) == set(TRAIN_QRELS)
    assert len(train_ids(larger)) == 12
    assert (larger / "qrels" / "dev.tsv").read_bytes() == (first / "qrels" / "dev.tsv").read_bytes()
    assert train_ids(other_seed) != train_ids(first)
    assert read_tsv(everything / "qrels" / "train.tsv")[0] == ["query-id", "corpus-id", "score"]


def test_msmarco_too_many_queries_is_a_config_error(file_server, fake_msmarco, tmp_path):
    with pytest.raises(ConfigError, match="train_queries=21"):
        ensure_msmarco_training(
            tmp_path / "train", base_url=file_server.base_url, train_queries=21, dev_queries=2, seed=0, md5=fake_msmarco
        )
    assert not (tmp_path / "train").exists()
