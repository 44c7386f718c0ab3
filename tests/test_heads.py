"""Heads of every architecture: shapes, gradient routing, retrieval encoders, EMA, and combine_losses."""

from dataclasses import replace

import pytest
import torch
from torch import nn

from ragcun.errors import ConfigError
from ragcun.heads import HeadsSpec, MLPPredictor, ProjectionHead, ResidualPredictor, RetrievalHeads
from ragcun.losses import LossWeights, combine_losses
from ragcun.losses.covariance import identity_isotropy
from ragcun.losses.regularization import std_regularization

IN, OUT, B, N = 6, 5, 4, 2

_COMMON = dict(ema_decay=0.9, score="cosine", use_head=True, in_dim=IN, out_dim=OUT, dropout=0.0)
ARCHITECTURES = {
    "base": dict(_COMMON, use_head=False, shared_head=True, predictor="none", ema_target=False,
                 query_uses_predictor=False),
    "isotropic": dict(_COMMON, shared_head=True, predictor="none", ema_target=False, query_uses_predictor=False),
    "isotropic_predictor": dict(_COMMON, shared_head=True, predictor="mlp", ema_target=False,
                                query_uses_predictor=False),
    "residual_gaussian": dict(_COMMON, shared_head=True, predictor="residual", ema_target=False,
                              query_uses_predictor=False),
    "asymmetric_dual": dict(_COMMON, shared_head=False, predictor="none", ema_target=False,
                            query_uses_predictor=False),
    "asymmetric_predictor": dict(_COMMON, shared_head=False, predictor="mlp", ema_target=False,
                                 query_uses_predictor=True),
    "lejepa_ema": dict(_COMMON, shared_head=False, predictor="mlp", ema_target=True, query_uses_predictor=False),
}
WEIGHTS = LossWeights(contrastive=1.0, isotropy=1.5, predictive=1.2, reg=0.1, residual=0.05)


def _heads(name: str, **overrides) -> RetrievalHeads:
    torch.manual_seed(0)
    return RetrievalHeads(HeadsSpec(**{**ARCHITECTURES[name], **overrides}))


def _inputs(requires_grad: bool = False):
    g = torch.Generator().manual_seed(1)
    tensors = [torch.randn(*s, generator=g) for s in ((B, IN), (B, IN), (B, N, IN))]
    return [t.requires_grad_(requires_grad) for t in tensors]


def _combine(outputs, weights=WEIGHTS, kind="identity"):
    return combine_losses(outputs, weights, isotropy_kind=kind, temperature=0.05, score="cosine", target_std=1.0,
                          generator=torch.Generator().manual_seed(0), sigreg_directions=8)


def _grads_zero(module: nn.Module | None) -> bool:
    assert module is not None
    return all(p.grad is None or not p.grad.any() for p in module.parameters())


# --- building blocks ---------------------------------------------------------------------------------------


def test_projection_head_shape_and_parameter_count():
    head = ProjectionHead(IN, OUT, dropout=0.3)
    kinds = [type(m) for m in head.net]
    assert kinds == [nn.Linear, nn.GELU, nn.Dropout, nn.Linear]
    assert (head.net[0].in_features, head.net[0].out_features, head.net[3].out_features) == (IN, 2 * IN, OUT)
    assert head.net[2].p == 0.3
    assert sum(p.numel() for p in head.parameters()) == IN * 2 * IN + 2 * IN + 2 * IN * OUT + OUT
    assert MLPPredictor(OUT, 0.0)(torch.zeros(3, OUT)).shape == (3, OUT)


def test_residual_predictor_formula():
    predictor = ResidualPredictor(OUT, dropout=0.0)
    assert predictor.alpha.item() == pytest.approx(0.1)
    q = torch.randn(3, OUT)
    out = predictor(q)
    delta = torch.tanh(predictor.mlp(q))
    torch.testing.assert_close(out.delta, delta)
    torch.testing.assert_close(out.prediction, q + 0.1 * delta)
    out.prediction.sum().backward()
    assert predictor.alpha.grad.item() == pytest.approx(delta.sum().item(), rel=1e-5)


# --- every architecture ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_forward_shapes(name):
    heads = _heads(name)
    out = heads(*_inputs())
    dim = heads.spec.embedding_dim
    assert out.query.shape == (B, dim) and out.positive.shape == (B, dim) and out.negative.shape == (B, N, dim)
    has_predictor = heads.spec.predictor != "none"
    assert (out.prediction is not None) == has_predictor == (out.target is not None)
    assert (out.delta is not None) == (heads.spec.predictor == "residual")
    assert len(out.isotropy_sets) == (1 if heads.spec.ema_target else 2)
    assert out.isotropy_sets[0].shape == (B, dim)
    if not heads.spec.ema_target:
        assert out.isotropy_sets[1].shape == (B + B * N, dim)
    assert heads(*_inputs()[:2]).negative is None


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_retrieval_encoders_are_what_training_scores(name):
    heads = _heads(name).eval()
    q, p, neg = _inputs()
    out = heads(q, p, neg)
    torch.testing.assert_close(heads.encode_queries(q), out.query)
    torch.testing.assert_close(heads.encode_documents(p), out.positive)
    torch.testing.assert_close(heads.encode_documents(neg.reshape(-1, IN)).reshape(B, N, -1), out.negative)


def test_query_side_of_each_architecture():
    x = _inputs()[0]
    base = _heads("base")
    torch.testing.assert_close(base.encode_queries(x), x)
    torch.testing.assert_close(base.encode_documents(x), x)
    assert base.trainable_parameters() == 0

    shared = _heads("isotropic_predictor")
    torch.testing.assert_close(shared.encode_queries(x), shared.encode_documents(x))  # retrieval uses H both sides

    asym = _heads("asymmetric_predictor")
    assert asym.doc_head is not asym.query_head
    torch.testing.assert_close(asym.encode_queries(x), asym.predictor(asym.query_head(x)))
    torch.testing.assert_close(asym.encode_documents(x), asym.doc_head(x))
    assert not torch.allclose(asym.encode_queries(x), asym.encode_documents(x))

    residual = _heads("residual_gaussian", query_uses_predictor=True)
    h = residual.query_head(x)
    torch.testing.assert_close(residual.encode_queries(x), h + residual.predictor.alpha * torch.tanh(
        residual.predictor.mlp(h)))


def test_shared_head_gets_gradients_from_both_sides():
    heads = _heads("isotropic")
    q, p, neg = _inputs()
    heads(q, p, neg).query.sum().backward()
    assert not _grads_zero(heads.query_head)
    heads.zero_grad(set_to_none=True)
    heads(q, p, neg).positive.sum().backward()
    assert not _grads_zero(heads.query_head)
    assert heads.doc_head is None and heads.target_head is None


def test_asymmetric_heads_are_separate():
    heads = _heads("asymmetric_dual")
    assert not torch.equal(heads.query_head.net[0].weight, heads.doc_head.net[0].weight)
    q, p, neg = _inputs()
    heads(q, p, neg).query.sum().backward()
    assert not _grads_zero(heads.query_head) and _grads_zero(heads.doc_head)
    heads.zero_grad(set_to_none=True)
    heads(q, p, neg).positive.sum().backward()
    assert _grads_zero(heads.query_head) and not _grads_zero(heads.doc_head)


def test_predictive_target_is_stop_gradient():
    heads = _heads("isotropic_predictor")
    out = heads(*_inputs())
    assert not out.target.requires_grad
    torch.testing.assert_close(out.target, out.positive.detach())


def test_ema_target_gets_no_gradient_and_is_excluded_from_the_count():
    heads = _heads("lejepa_ema")
    assert all(not p.requires_grad for p in heads.target_head.parameters())
    online_count = sum(p.numel() for p in heads.query_head.parameters())
    predictor_count = sum(p.numel() for p in heads.predictor.parameters())
    assert heads.trainable_parameters() == online_count + predictor_count
    out = heads(*_inputs())
    _combine(out)["total"].backward()
    assert all(p.grad is None for p in heads.target_head.parameters())
    assert not _grads_zero(heads.query_head) and not _grads_zero(heads.predictor)
    assert not out.positive.requires_grad and out.target is not None


def test_ema_starts_as_a_copy_and_updates_by_the_formula():
    heads = _heads("lejepa_ema")
    for t, o in zip(heads.target_head.parameters(), heads.query_head.parameters()):
        assert torch.equal(t, o) and t is not o
    with torch.no_grad():
        for p in heads.query_head.parameters():
            p.add_(1.0)
    before_target = {k: v.clone() for k, v in heads.target_head.state_dict().items()}
    online = heads.query_head.state_dict()
    x = _inputs()[1]
    documents_before = heads.encode_documents(x)
    heads.update_ema()
    decay = heads.spec.ema_decay
    for key, value in heads.target_head.state_dict().items():
        torch.testing.assert_close(value, decay * before_target[key] + (1 - decay) * online[key])
    assert not torch.allclose(heads.encode_documents(x), documents_before)


def test_update_ema_without_target_is_an_error():
    with pytest.raises(ConfigError, match="ema_target"):
        _heads("isotropic").update_ema()


def test_ema_target_stays_in_eval_mode():
    heads = _heads("lejepa_ema", dropout=0.5).train()
    assert heads.query_head.training and not heads.target_head.training
    x = _inputs()[1]
    torch.testing.assert_close(heads.encode_documents(x), heads.encode_documents(x))


# --- combine_losses ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ARCHITECTURES)
@pytest.mark.parametrize("kind", ["covariance", "identity", "sigreg"])
def test_combine_losses_on_every_architecture(name, kind):
    heads = _heads(name)
    inputs = _inputs(requires_grad=True)  # stands in for a fine-tuned base encoder
    losses = _combine(heads(*inputs), kind=kind)
    expected_keys = {"contrastive", "isotropy", "reg", "total", "accuracy_at_1"}
    expected_keys |= {"predictive"} if heads.spec.predictor != "none" else set()
    expected_keys |= {"residual"} if heads.spec.predictor == "residual" else set()
    assert set(losses) == expected_keys
    assert all(torch.isfinite(v) for v in losses.values())
    weighted = sum(getattr(WEIGHTS, k) * v for k, v in losses.items() if k not in ("total", "accuracy_at_1"))
    assert losses["total"].item() == pytest.approx(weighted.item(), rel=1e-6)
    losses["total"].backward()
    assert inputs[0].grad is not None and torch.isfinite(inputs[0].grad).all()
    params = [p for p in heads.parameters() if p.requires_grad]
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in params)
    assert len(params) == 0 or any(p.grad.any() for p in params)


def test_isotropy_and_reg_are_means_over_the_sets():
    out = _heads("isotropic")(*_inputs())
    losses = _combine(out)
    queries, documents = out.isotropy_sets
    expected_iso = (identity_isotropy(queries) + identity_isotropy(documents)) / 2
    expected_reg = (std_regularization(queries, 1.0) + std_regularization(documents, 1.0)) / 2
    assert losses["isotropy"].item() == pytest.approx(expected_iso.item(), rel=1e-6)
    assert losses["reg"].item() == pytest.approx(expected_reg.item(), rel=1e-6)


def test_isotropy_sets_are_head_outputs_not_predictions():
    heads = _heads("asymmetric_predictor")
    q, p, neg = _inputs()
    out = heads(q, p, neg)
    torch.testing.assert_close(out.isotropy_sets[0], heads.query_head(q))
    torch.testing.assert_close(out.isotropy_sets[1], heads.doc_head(torch.cat([p, neg.reshape(-1, IN)])))
    assert not torch.allclose(out.isotropy_sets[0], out.query)  # the query side searches with P(H_q(q))


def test_zero_weight_components_are_reported_without_gradient():
    out = _heads("residual_gaussian")(*_inputs())
    weights = replace(WEIGHTS, isotropy=0.0, predictive=0.0, residual=0.0)
    losses = _combine(out, weights)
    for key in ("isotropy", "predictive", "residual"):
        assert losses[key].grad_fn is None and losses[key].item() > 0
    assert losses["total"].item() == pytest.approx(
        losses["contrastive"].item() + WEIGHTS.reg * losses["reg"].item(), rel=1e-6
    )


def test_accuracy_is_one_when_every_query_equals_its_positive():
    heads = _heads("isotropic")
    x = _inputs()[0]
    losses = _combine(heads(x, x.clone(), None))
    assert losses["accuracy_at_1"].item() == 1.0


# --- calibration: heads start at the target scale -------------------------------------------------------------


@pytest.fixture(scope="module")
def bundled_features(tmp_path_factory: pytest.TempPathFactory) -> tuple[torch.Tensor, torch.Tensor]:
    """The bundled all-MiniLM-L6-v2's embeddings of the sample's training passages and of its zero-shot
    evaluation documents (another domain)."""
    from ragcun.data.beir_layout import document_text, load_corpus
    from ragcun.config import SampleConfig
    from ragcun.data.sample import generate_sample
    from ragcun.encoder import BaseEncoder

    root = tmp_path_factory.mktemp("sample")
    generate_sample(root / "train", root / "beir", SampleConfig(train_passages=300, train_queries=20, dev_queries=10,
                    eval_documents=300, eval_queries=10))
    encoder = BaseEncoder.from_pretrained("sentence-transformers/all-MiniLM-L6-v2")
    features = []
    for folder, split in ((root / "train", "train"), (root / "beir" / "sample-eval", "sample-eval")):
        texts = [document_text(doc) for doc in load_corpus(folder, split).values()]
        features.append(torch.from_numpy(encoder.encode(texts, batch_size=64, progress=False)))
    return features[0], features[1]


def _mean_std(x: torch.Tensor) -> float:
    return float(x.detach().std(dim=0).mean())


@pytest.mark.parametrize("target_std", [1.0, 3.0])
def test_a_calibrated_head_starts_at_target_std_on_the_bundled_models_features(bundled_features, target_std):
    train_features, other_domain = bundled_features
    torch.manual_seed(0)
    head = ProjectionHead(train_features.shape[1], 384, dropout=0.1).eval()
    before = _mean_std(head(other_domain))
    assert before < 0.05 * target_std, "uncalibrated, the head's outputs are far below the target (std ~0.01)"
    head.calibrate(train_features, target_std)
    assert _mean_std(head(train_features)) == pytest.approx(target_std, rel=1e-4)
    # On texts it was not calibrated on, from another domain, still within 20 %.
    assert _mean_std(head(other_domain)) == pytest.approx(target_std, rel=0.2)


def test_calibration_centres_and_scales_the_inputs_with_one_scalar():
    torch.manual_seed(0)
    features = 0.05 * torch.randn(500, IN) @ torch.diag(torch.arange(1.0, IN + 1)) + 3.0
    head = ProjectionHead(IN, OUT, dropout=0.0)
    head.calibrate(features, 1.0)
    standardised = (features - head.input_mean) * head.input_scale
    assert standardised.mean(0).abs().max() < 1e-5
    assert float(standardised.square().mean()) == pytest.approx(1.0, rel=1e-4)
    # One scale for all dimensions: the input spectrum's shape is kept (no free whitening).
    stds = standardised.std(0)
    assert float(stds[-1] / stds[0]) == pytest.approx(float(features.std(0)[-1] / features.std(0)[0]), rel=1e-5)
    assert {"input_mean", "input_scale", "output_gain"} <= set(head.state_dict()), "saved with the checkpoint"


def test_retrieval_heads_calibrate_every_head_and_restart_the_ema_target_from_the_online_head():
    torch.manual_seed(0)
    features = 0.05 * torch.randn(200, IN)
    for name in ("asymmetric_dual", "lejepa_ema"):
        heads = _heads(name)
        heads.calibrate(features, 2.0)
        heads.eval()
        assert _mean_std(heads.encode_queries(features)) == pytest.approx(2.0, rel=1e-4)
        assert _mean_std(heads.encode_documents(features)) == pytest.approx(2.0, rel=1e-4)
    ema = _heads("lejepa_ema")
    ema.calibrate(features, 2.0)
    online, target = ema.query_head.state_dict(), ema.target_head.state_dict()
    assert all(torch.equal(online[key], target[key]) for key in online)
    base = _heads("base")
    base.calibrate(features, 2.0)  # the raw model has nothing to calibrate
    assert torch.equal(base.encode_queries(features), features)
