"""The embedded sample: a synthetic, offline, deterministic retrieval benchmark (`data.source: sample`).

Two collections are generated from made-up entities (syllable names) and fact templates written for this
project; no text comes from any external dataset.

* A training collection in the style of MS MARCO passage ranking: passages without titles, training queries
  and a dev split of held-out queries (``qrels/train.tsv``, ``qrels/dev.tsv``).
* ``sample-eval``: a BEIR-layout evaluation set built from *different* domains (``qrels/test.tsv``), for
  zero-shot evaluation. Its documents carry titles, like most BEIR sets.

Every query asks for one attribute (a "relation") of one entity, or, in reverse, which entity has a given
attribute value. Relevance is graded in every split (train, dev and test): 2 for the passage that states the
fact, 1 for the entity's overview passage when it mentions the fact in passing; any score > 0 is a positive.

The difficulty comes from the ways lexical and semantic signals are made to disagree:

* "ask" queries reuse the words of the answering sentence (BM25's strength); "paraphrase" queries word the
  relation with synonyms the answering passage never uses, while a decoy passage about the same entity reuses
  those very words without answering (BM25 is drawn to it); "reverse" queries name a unique value (a made-up
  person or place) and ask which entity has it (exact rare-word matching, BM25 again);
* every entity has passages on its other attributes, and its siblings (entities whose names share a stem,
  like "Zarvexol" and "Zarvexine") have passages on the same attributes; context sentences compare an entity
  with its siblings by name (a dense model that sees sub-word pieces confuses them, BM25 does not);
* one passage in ten explains a relation in general without naming any entity (they attract dense models);
* attribute templates of one entity share words ("lives in" / "lives for", "was born in" a year / a town).
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ragcun.config import SampleConfig
from ragcun.data.beir_layout import write_dataset
from ragcun.data.sample.names import _FIRST_SUFFIXES, _REGION_FORMS, _TOKEN, _WORK_FORMS
from ragcun.data.sample.names import Names as _Names
from ragcun.data.sample.vocabulary import Choice, Domain, Relation, vocabulary
from ragcun.errors import ConfigError
from ragcun.io import atomic_path

EVAL_NAME = "sample-eval"
FACT_SCORE = 2
OVERVIEW_SCORE = 1

# Passage lengths in words, close to MS MARCO passages.
_MIN_WORDS, _MAX_WORDS = 40, 80
_DECOYS_PER_ENTITY = 2
_CONTEXT_RATE = 0.5  # share of fact passages that go on with a general sentence about the relation
_NAME_RATE = 0.35  # share of domain context sentences that name the entity rather than say "this compound"
# Query styles: ask (the answer's own words), paraphrase (other words), reverse (name the value, ask for the
# entity; only where the value belongs to one entity). Weights for [ask, paraphrase] and [ask, paraphrase, reverse].
_STYLE_WEIGHTS = {2: (0.45, 0.55), 3: (0.15, 0.25, 0.6)}
# Entities per family of look-alike names; large families make sub-word (dense) matching of names unreliable.
_FAMILY_SIZES = (1, 2, 3, 4, 5, 6)


# --------------------------------------------------------------------------------------------------
# Collections
# --------------------------------------------------------------------------------------------------


@dataclass
class Entity:
    name: str
    domain: Domain
    noun: str
    family: int
    facts: dict[str, str]  # relation key -> value, in the domain's relation order
    lures: dict[str, int] = field(default_factory=dict)  # relation key -> index of the decoy in the corpus
    wording: dict[str, int] = field(default_factory=dict)  # relation key -> index of the fact template used


@dataclass
class Collection:
    """One generated BEIR-layout collection before it is written."""

    corpus: list[dict[str, str]] = field(default_factory=list)
    queries: dict[str, list[dict[str, str]]] = field(default_factory=dict)  # split -> queries
    qrels: dict[str, list[tuple[str, str, int]]] = field(default_factory=dict)  # split -> rows
    entities: list[Entity] = field(default_factory=list)


@dataclass(frozen=True)
class _Answer:
    entity: Entity
    relation: Relation
    fact_index: int  # index of the fact passage in the draft corpus
    overview_index: int | None


_FUNCTION_WORDS = frozenset(
    "a an and are at be by did do does for from has have how in is it its of on the to was what when where "
    "which who with".split()
)


def _content_words(template: str) -> set[str]:
    """Lower-cased words of a template without placeholders and function words."""
    return set(_TOKEN.findall(re.sub(r"\{\w\}", " ", template).lower())) - _FUNCTION_WORDS


def _capitalise(sentence: str) -> str:
    return sentence[:1].upper() + sentence[1:]


def _words(sentences: Sequence[str]) -> int:
    return sum(len(sentence.split()) for sentence in sentences)


class _Writer:
    """Builds the passages of one collection."""

    def __init__(self, rng: random.Random, names: _Names) -> None:
        self.rng = rng
        self.names = names

    def slots(self, subject: str, noun: str, value: str = "", other: str = "") -> dict[str, str]:
        return {
            "e": subject,
            "o": other,
            "v": value,
            "n": noun,
            "p": self.names.pooled("person"),
            "r": self.names.pooled("region"),
            "t": self.names.pooled("town"),
            "y": str(self.rng.randint(1960, 2020)),  # context years are recent
            "k": str(self.rng.randint(2, 9)),
        }

    def sentence(self, template: str, subject: str, noun: str, value: str = "", other: str = "") -> str:
        return _capitalise(template.format(**self.slots(subject, noun, value, other)))

    def compose(
        self, core: list[str], domain: Domain, noun: str, name: str = "", others: Sequence[str] = ()
    ) -> str:
        """Surround the core sentences with context sentences up to a passage of 40-80 words.

        Context about an entity (`name`) comes from the domain's and the generic sentences, and names the
        entity only some of the time ("this compound" otherwise), as real text does. `others` are entities
        that a context sentence may compare it with. Without a name, only the domain's sentences are used.
        """
        generic = domain.generic.format(n=noun)
        fillers = list(domain.fillers) + (list(vocabulary().generic_fillers) if name else [])
        target = self.rng.randint(_MIN_WORDS + 5, _MAX_WORDS - 8)
        context: list[str] = []
        for template in self.rng.sample(fillers, len(fillers)):
            if _words(core) + _words(context) >= target:
                break
            if "{o}" in template and not others:
                continue
            subject = name if name and (template in vocabulary().generic_fillers or self.rng.random() < _NAME_RATE) else generic
            other = self.rng.choice(list(others)) if others else ""
            sentence = self.sentence(template, subject, noun, other=other)
            if _words(core) + _words(context) + _words([sentence]) <= _MAX_WORDS:
                context.append(sentence)
        # The answering sentence is not always first, as in real passages.
        position = self.rng.choice((0, 0, 1, 2))
        position = min(position, len(context))
        return " ".join(context[:position] + core + context[position:])


def _make_family(domain: Domain, family: int, size: int, rng: random.Random, names: _Names) -> list[Entity]:
    """Entities that share a name stem (or, for people, a surname) and all of the domain's relations."""
    stem = names.stem()
    members: list[Entity] = []
    suffixes = rng.sample(list(domain.suffixes), min(size, len(domain.suffixes)))
    if domain.person_entities:
        surname = (stem + suffixes[0]).capitalize()
        names.claim(surname)
        for _ in range(size):
            members.append(Entity(f"{names.word(1, rng.choice(_FIRST_SUFFIXES))} {surname}", domain, "", family, {}))
    else:
        for suffix in suffixes:
            if names.claim(stem + suffix):
                members.append(Entity((stem + suffix).capitalize(), domain, "", family, {}))
    for entity in members:
        entity.noun = rng.choice(domain.nouns)
        for relation in domain.relations:
            taken = {member.facts.get(relation.key) for member in members}
            value = relation.value.draw(rng, names)
            for _ in range(20):  # siblings differ on every attribute, or they would answer each other's queries
                if value not in taken:
                    break
                value = relation.value.draw(rng, names)
            entity.facts[relation.key] = value
    return members


def _entity_passages(
    entity: Entity,
    others: Sequence[str],
    writer: _Writer,
    answers: list[_Answer],
    drafts: list[dict[str, str]],
    titled: bool,
) -> None:
    """Fact passages (one per stated relation), an overview and decoy passages for one entity."""
    rng = writer.rng
    domain = entity.domain
    title = entity.name if titled else ""
    relations = list(domain.relations)
    # Half of the entities leave one attribute undocumented, so entities differ in how many passages they have.
    silent = rng.choice(relations) if rng.random() < 0.5 else None
    stated = [relation for relation in relations if relation is not silent]
    in_overview = rng.sample(stated, 2)

    def compose(core: list[str]) -> str:
        return writer.compose(core, domain, entity.noun, entity.name, others)

    intro = _capitalise(f"{entity.name} " + rng.choice(domain.intros).format(n=entity.noun) + ".")
    briefs = [relation.brief.format(v=entity.facts[relation.key]) for relation in in_overview]
    overview_core = [intro, f"{domain.pronoun.format(n=entity.noun)} {briefs[0]}, and {briefs[1]}."]
    overview_index = len(drafts)
    drafts.append({"title": title, "text": compose(overview_core)})

    for relation in stated:
        entity.wording[relation.key] = rng.randrange(len(relation.facts))
        template = relation.facts[entity.wording[relation.key]]
        fact = writer.sentence(template, entity.name, entity.noun, entity.facts[relation.key])
        answers.append(
            _Answer(entity, relation, len(drafts), overview_index if relation in in_overview else None)
        )
        core = [fact]
        if rng.random() < _CONTEXT_RATE:
            # Some passages stay on topic after the fact, like encyclopaedia paragraphs.
            core.append(rng.choice(relation.explainers))
        drafts.append({"title": title, "text": compose(core)})

    # Two decoy passages, each setting lexical traps for two relations.
    decoy_relations = rng.sample(relations, min(_DECOYS_PER_ENTITY * 2, len(relations)))
    for start in range(0, len(decoy_relations), 2):
        core = []
        for relation in decoy_relations[start : start + 2]:
            entity.lures[relation.key] = rng.randrange(len(relation.decoys))
            core.append(writer.sentence(relation.decoys[entity.lures[relation.key]], entity.name, entity.noun))
        drafts.append({"title": title, "text": compose(core)})


def _background_passage(domain: Domain, writer: _Writer, titled: bool) -> dict[str, str]:
    """A passage about one relation in general (sometimes touching a second one), naming no entity."""
    rng = writer.rng
    relation, aside = rng.sample(list(domain.relations), 2)
    core = rng.sample(list(relation.explainers), len(relation.explainers))
    if rng.random() < 0.5:
        core.append(rng.choice(aside.explainers))
    text = writer.compose(core, domain, domain.nouns[0])
    return {"title": domain.heading if titled else "", "text": text}


def _build_corpus(
    domains: Sequence[Domain], size: int, rng: random.Random, names: _Names, titled: bool
) -> tuple[list[dict[str, str]], list[_Answer], list[Entity]]:
    writer = _Writer(rng, names)
    drafts: list[dict[str, str]] = []
    answers: list[_Answer] = []
    entities: list[Entity] = []
    # One passage in ten explains a relation in general, as definitions do in web collections; they draw
    # dense retrievers (same topic) more than BM25 (no entity name).
    background = max(len(domains), size // 10)
    family = 0
    while True:
        domain = domains[family % len(domains)]
        members = _make_family(domain, family, rng.choice(_FAMILY_SIZES), rng, names)
        needed = sum(len(domain.relations) + 1 + _DECOYS_PER_ENTITY for _ in members)
        if len(drafts) + needed > size - background:
            break
        entities.extend(members)
        for entity in members:
            # Comparisons name siblings (look-alike names) and other entities of the same domain.
            kin = [member.name for member in members if member is not entity]
            strangers = [other.name for other in entities if other.domain is domain and other.family != family]
            others = kin + rng.sample(strangers, min(2, len(strangers)))
            _entity_passages(entity, others, writer, answers, drafts, titled)
        family += 1
    while len(drafts) < size:
        drafts.append(_background_passage(domains[len(drafts) % len(domains)], writer, titled))
    return drafts, answers, entities


def _query_text(answer: _Answer, style: str, rng: random.Random) -> str:
    relation, entity = answer.relation, answer.entity
    templates = {"ask": relation.asks, "paraphrase": relation.paraphrases, "reverse": relation.reverse}[style]
    template = rng.choice(templates)
    if style == "ask":
        # Reuse the words of the answering sentence: these are the queries lexical matching gets right.
        fact = relation.facts[entity.wording[relation.key]].format(e="", n="", v=entity.facts[relation.key])
        fact_words = _content_words(fact)
        overlaps = [len(_content_words(ask) & fact_words) for ask in relation.asks]
        template = rng.choice([ask for ask, overlap in zip(relation.asks, overlaps) if overlap == max(overlaps)])
    if style == "paraphrase" and relation.key in entity.lures:
        # Word the query like the decoy the corpus holds for it, so that its words point at the wrong passage.
        template = relation.paraphrases[entity.lures[relation.key]]
    return template.format(e=entity.name, v=entity.facts[relation.key], n=entity.noun).lower()


def _make_queries(
    answers: list[_Answer],
    entities: list[Entity],
    counts: dict[str, int],
    rng: random.Random,
    prefix: str,
    corpus_ids: list[str],
) -> tuple[dict[str, list[dict[str, str]]], dict[str, list[tuple[str, str, int]]]]:
    """Pick distinct facts to ask about and split them into the requested query splits, in order."""
    # A reverse query ("which mineral is named after X") has one answer only if X is nobody else's value.
    value_counts = Counter(value for entity in entities for value in entity.facts.values())
    order = rng.sample(range(len(answers)), len(answers))
    queries: dict[str, list[dict[str, str]]] = {split: [] for split in counts}
    qrels: dict[str, list[tuple[str, str, int]]] = {split: [] for split in counts}
    seen: set[str] = set()
    position = 0
    for split, wanted in counts.items():
        while len(queries[split]) < wanted:
            if position == len(answers):
                raise ConfigError(f"only {position} distinct queries could be written; ask for fewer queries")
            answer = answers[order[position]]
            position += 1
            unique_value = value_counts[answer.entity.facts[answer.relation.key]] == 1
            styles = ["ask", "paraphrase"] + (["reverse"] if answer.relation.reverse and unique_value else [])
            style = rng.choices(styles, _STYLE_WEIGHTS[len(styles)])[0]
            text = _query_text(answer, style, rng)
            if text in seen:
                continue
            seen.add(text)
            query_id = f"{prefix}{position}"
            queries[split].append({"_id": query_id, "text": text})
            qrels[split].append((query_id, corpus_ids[answer.fact_index], FACT_SCORE))
            if answer.overview_index is not None:
                qrels[split].append((query_id, corpus_ids[answer.overview_index], OVERVIEW_SCORE))
    return queries, qrels


def _build_collection(
    domains: Sequence[Domain],
    documents: int,
    query_counts: dict[str, int],
    rng: random.Random,
    names: _Names,
    *,
    titled: bool,
    prefix: str,
    label: str,
) -> Collection:
    # Pools large enough that some places are one entity's value only (reverse queries need that) while
    # most recur across entities and context sentences.
    names.fill_pools({"region": 120, "town": 250, "person": 150})
    drafts, answers, entities = _build_corpus(domains, documents, rng, names, titled)
    wanted = sum(query_counts.values())
    if wanted > len(answers):
        raise ConfigError(
            f"{label}: {wanted} queries were asked for but {documents} passages hold only {len(answers)} "
            "answerable facts; ask for more passages or fewer queries"
        )
    # Shuffle so that passage ids say nothing about which entity or role a passage has.
    order = rng.sample(range(len(drafts)), len(drafts))
    corpus_ids = [""] * len(drafts)
    corpus: list[dict[str, str]] = []
    for new_index, old_index in enumerate(order):
        corpus_ids[old_index] = f"{prefix}d{new_index}"
        corpus.append({"_id": corpus_ids[old_index], **drafts[old_index]})
    queries, qrels = _make_queries(answers, entities, query_counts, rng, f"{prefix}q", corpus_ids)
    return Collection(corpus=corpus, queries=queries, qrels=qrels, entities=entities)


def _reserved_words() -> set[str]:
    """Every word of the templates, so that no made-up name collides with ordinary vocabulary."""
    words: set[str] = set()
    for domain in vocabulary().train_domains + vocabulary().eval_domains:
        texts = list(domain.fillers) + list(domain.intros) + list(domain.nouns)
        for relation in domain.relations:
            texts += [*relation.facts, relation.brief, *relation.asks, *relation.paraphrases, *relation.decoys]
            texts += [*relation.explainers, *relation.reverse]
            if isinstance(relation.value, Choice):
                texts += relation.value.options
        words.update(token for text in texts for token in _TOKEN.findall(text.lower()))
    texts = list(vocabulary().generic_fillers) + list(_REGION_FORMS) + list(_WORK_FORMS)
    words.update(token for text in texts for token in _TOKEN.findall(text.lower()))
    return words


@dataclass
class Sample:
    """Both collections of one sample, in memory."""

    train: Collection
    evaluation: Collection


def build_sample(sizes: SampleConfig = SampleConfig()) -> Sample:
    """Generate both collections in memory; the same sizes always give the same sample. The sizes' defaults
    and bounds are config.SampleConfig's (params.yaml data.sample), validated there."""
    seed = sizes.seed
    names = _Names(random.Random(f"{seed}:names"), _reserved_words())
    train = _build_collection(
        vocabulary().train_domains,
        sizes.train_passages,
        {"train": sizes.train_queries, "dev": sizes.dev_queries},
        random.Random(f"{seed}:train"),
        names,
        titled=False,
        prefix="t",
        label="training collection",
    )
    evaluation = _build_collection(
        vocabulary().eval_domains,
        sizes.eval_documents,
        {"test": sizes.eval_queries},
        random.Random(f"{seed}:eval"),
        names,
        titled=True,
        prefix="e",
        label=EVAL_NAME,
    )
    return Sample(train=train, evaluation=evaluation)


def generate_sample(train_dir: Path, eval_root: Path, sizes: SampleConfig = SampleConfig()) -> dict[str, int]:
    """Write the training collection to `train_dir` and the evaluation set to `eval_root`/sample-eval.

    Both folders are replaced atomically. Returns the number of passages, queries and qrels written.
    """
    train_dir, eval_dir = Path(train_dir), Path(eval_root) / EVAL_NAME
    if train_dir.resolve() == eval_dir.resolve():
        raise ConfigError(f"train_dir and the evaluation folder are the same path: {train_dir}")
    sample = build_sample(sizes)
    with atomic_path(train_dir) as staging:
        write_dataset(staging, sample.train.corpus, sample.train.queries, sample.train.qrels)
    with atomic_path(eval_dir) as staging:
        write_dataset(staging, sample.evaluation.corpus, sample.evaluation.queries, sample.evaluation.qrels)
    return {
        "train_passages": len(sample.train.corpus),
        "train_queries": len(sample.train.queries["train"]),
        "dev_queries": len(sample.train.queries["dev"]),
        "train_qrels": len(sample.train.qrels["train"]),
        "dev_qrels": len(sample.train.qrels["dev"]),
        "eval_documents": len(sample.evaluation.corpus),
        "eval_queries": len(sample.evaluation.queries["test"]),
        "eval_qrels": len(sample.evaluation.qrels["test"]),
    }
