"""The sample's vocabulary: the attribute-value kinds, relations and domains, read from vocabulary.json.

The templates are data (ragcun/data/sample/vocabulary.json, shipped in the wheel as package data); this
module only gives them their types. Values are tagged in the JSON: {"choice": [...]}, {"number": {...}} or
{"named": kind}.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ragcun.data.sample.names import Names as _Names

# --------------------------------------------------------------------------------------------------
# Attribute values
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    """A value drawn from a closed list."""

    options: tuple[str, ...]

    def draw(self, rng: random.Random, names: "_Names") -> str:
        return rng.choice(self.options)


@dataclass(frozen=True)
class Number:
    """A number in [low, high] divided by `divisor`, written with `unit` ("{} metres").

    `thousands` marks a count: rounded to hundreds above 1,000 and written with separators.
    """

    low: int
    high: int
    unit: str = "{}"
    divisor: int = 1
    thousands: bool = False

    def draw(self, rng: random.Random, names: "_Names") -> str:
        raw = rng.randint(self.low, self.high)
        if self.divisor > 1:
            text = f"{raw / self.divisor:g}"
        elif self.thousands:
            # Large counts are rounded the way people quote them ("12,400 people", not "12,397").
            text = f"{round(raw, -2) if raw >= 1000 else raw:,}"
        else:
            text = str(raw)
        return self.unit.format(text)


@dataclass(frozen=True)
class Named:
    """A synthetic proper name: person, region, town, shipyard or musical work."""

    kind: str

    def draw(self, rng: random.Random, names: "_Names") -> str:
        return names.draw(self.kind)


Value = Choice | Number | Named


@dataclass(frozen=True)
class Relation:
    """One attribute of a domain with the templates that state it, ask for it and circle around it.

    Templates use ``{e}`` (entity), ``{v}`` (value), ``{n}`` (the entity's noun). Queries are lower-cased.
    ``asks`` reuse the wording of ``facts``; ``paraphrases`` avoid it; ``decoys[i]`` mentions the entity with the
    content words of ``paraphrases[i]`` but does not give the value (a lexical trap for that paraphrase);
    ``explainers`` discuss the relation without any entity; ``reverse`` asks which entity has the value.
    """

    key: str
    value: Value
    facts: tuple[str, ...]
    brief: str
    asks: tuple[str, ...]
    paraphrases: tuple[str, ...]
    decoys: tuple[str, ...]
    explainers: tuple[str, ...]
    reverse: tuple[str, ...] = ()


@dataclass(frozen=True)
class Domain:
    """A kind of entity with its relations and context sentences."""

    key: str
    heading: str  # title of entity-free passages in the titled collection
    nouns: tuple[str, ...]
    suffixes: tuple[str, ...]
    generic: str  # stands in for {e} in entity-free passages ("this compound")
    intros: tuple[str, ...]
    fillers: tuple[str, ...]
    relations: tuple[Relation, ...]
    person_entities: bool = False
    pronoun: str = "It"  # subject of the overview's second sentence; may use {n}


def _value(tagged: dict[str, Any]) -> Value:
    (kind, payload), = tagged.items()
    if kind == "choice":
        return Choice(tuple(payload))
    if kind == "number":
        return Number(**payload)
    return Named(payload)


def _relation(entry: dict[str, Any]) -> Relation:
    fields = {key: tuple(item) if isinstance(item, list) else item for key, item in entry.items() if key != "value"}
    return Relation(value=_value(entry["value"]), **fields)


def _domain(entry: dict[str, Any]) -> Domain:
    fields = {key: tuple(item) if isinstance(item, list) else item for key, item in entry.items() if key != "relations"}
    return Domain(relations=tuple(_relation(relation) for relation in entry["relations"]), **fields)


@dataclass(frozen=True)
class Vocabulary:
    train_domains: tuple[Domain, ...]  # the training collection's six domains
    eval_domains: tuple[Domain, ...]  # sample-eval's five different domains
    generic_fillers: tuple[str, ...]  # context sentences that fit an entity of any domain


@cache
def vocabulary() -> Vocabulary:
    raw = json.loads(resources.files(__package__).joinpath("vocabulary.json").read_text(encoding="utf-8"))
    return Vocabulary(
        train_domains=tuple(_domain(entry) for entry in raw["train_domains"]),
        eval_domains=tuple(_domain(entry) for entry in raw["eval_domains"]),
        generic_fillers=tuple(raw["generic_fillers"]),
    )
