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

import json
import random
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ragcun.errors import ConfigError
from ragcun.io import atomic_path

EVAL_NAME = "sample-eval"
QRELS_HEADER = "query-id\tcorpus-id\tscore"
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


def _rel(key: str, value: Value, **templates: tuple[str, ...] | str) -> Relation:
    return Relation(key=key, value=value, **templates)  # type: ignore[arg-type]


_COLOURS = Choice(
    (
        "pale green", "deep crimson", "dull grey", "bright yellow", "milky white", "dark violet",
        "rusty orange", "sky blue", "jet black", "rose pink", "olive brown", "golden",
    )
)

_MONTHS = Choice(
    (
        "January", "February", "March", "April", "May", "June", "July", "August", "September",
        "October", "November", "December",
    )
)

# --------------------------------------------------------------------------------------------------
# Vocabulary of the training collection (six domains)
# --------------------------------------------------------------------------------------------------

_COMPOUND = Domain(
    key="compound",
    heading="Chemistry",
    nouns=("compound",),
    suffixes=("ol", "ine", "ate", "ide", "ane", "ene", "ium"),
    generic="this compound",
    intros=(
        "is a synthetic compound made in small batches",
        "is an industrial chemical",
        "is a crystalline substance studied in many laboratories",
    ),
    fillers=(
        "Samples of {e} are stored in amber glass bottles away from direct light.",
        "A technical bulletin on {e} was published by the chemical society of {r}.",
        "Handling {e} requires gloves and goggles, as with most laboratory reagents.",
        "Chemists at {t} studied {e} for {k} years before its structure was settled.",
        "Prices for {e} rose sharply during the shortage of {y}.",
        "Several patents mention {e} as an intermediate in larger syntheses.",
        "Students often meet {e} in second-year practical classes.",
        "Waste containing {e} must be collected separately and never poured down a drain.",
        "{p} wrote a short review of the literature on {e}.",
        "Trade in {e} is regulated under the export rules of {r}.",
        "The structure of {e} was confirmed with modern spectroscopy.",
    ),
    relations=(
        _rel(
            "melting_point",
            Number(40, 950, "{} degrees Celsius"),
            facts=(
                "{e} melts at {v}.",
                "The melting point of {e} is about {v}.",
                "When heated, solid {e} turns into a liquid at {v}.",
                "Laboratory tests put the melting temperature of {e} at {v}.",
            ),
            brief="melts at {v}",
            asks=("melting point of {e}", "what is the melting point of {e}", "at what temperature does {e} melt"),
            paraphrases=(
                "how hot before {e} liquefies",
                "{e} fusion heat",
                "heat needed to liquefy {e}",
            ),
            decoys=(
                "Staff say the {e} store gets hot before noon, so the gas that liquefies in the cooler is checked daily.",
                "The {e} plant burns its waste for heat since the fusion of the two local firms.",
                "Extra heat is needed in winter to keep the {e} pipes clear, and a pump helps liquefy the waste gas.",
            ),
            explainers=(
                "The melting point of a substance is the temperature at which it changes from solid to liquid.",
                "Impurities usually lower the temperature at which a compound melts and widen the melting range.",
            ),
        ),
        _rel(
            "discoverer",
            Named("person"),
            facts=(
                "{e} was first synthesised by {v}.",
                "The chemist {v} discovered {e}.",
                "{v} is credited with the discovery of {e}.",
            ),
            brief="was first prepared by {v}",
            asks=("who discovered {e}", "who first synthesised {e}", "{e} discovery chemist"),
            paraphrases=(
                "which scientist came up with {e}",
                "who made {e} for the first time",
                "person behind the invention of {e}",
            ),
            reverse=("which compound did {v} discover", "compound discovered by {v}"),
            decoys=(
                "A scientist came up with a cheaper way to transport {e} by rail.",
                "Visiting scientists came to {t} for the first time to see how {e} is made at scale.",
                "The person behind the new {e} safety rules credits the invention of cheap sensors.",
            ),
            explainers=(
                "Many compounds were first synthesised by accident while chemists were looking for something else.",
                "Discovery credit in chemistry usually goes to whoever first published a reliable preparation.",
            ),
        ),
        _rel(
            "use",
            Choice(
                (
                    "as a solvent for paints", "to preserve timber", "in photographic film", "as a food colouring",
                    "to purify drinking water", "in battery electrolytes", "as a fertiliser additive",
                    "in the tanning of leather", "as a fuel stabiliser", "in the production of glass",
                )
            ),
            facts=(
                "{e} is mainly used {v}.",
                "Most of the {e} produced today is used {v}.",
                "Industry employs {e} {v}.",
            ),
            brief="is used {v}",
            asks=("what is {e} used for", "uses of {e}", "{e} main use"),
            paraphrases=(
                "what is {e} good for",
                "why do factories buy {e}",
                "{e} purpose in industry",
            ),
            decoys=(
                "Factories that buy {e} in bulk report that prices are good this year.",
                "Few factories buy {e} directly, and nobody in {t} can say why.",
                "The purpose of the new {e} plant near {t} puzzles residents, and the industry press has been silent.",
            ),
            explainers=(
                "Industrial chemicals are often sold for several applications at once, from cleaning to manufacturing.",
                "The purpose of an additive is usually to change one property of a product, such as colour or shelf life.",
            ),
        ),
        _rel(
            "colour",
            _COLOURS,
            facts=("{e} is a {v} powder.", "Pure {e} has a {v} colour.", "Crystals of {e} look {v}."),
            brief="has a {v} colour",
            asks=("what colour is {e}", "{e} colour", "colour of pure {e}"),
            paraphrases=(
                "what shade is {e}",
                "{e} hue",
                "what tint does {e} have",
            ),
            decoys=(
                "Drums of {e} are stored in the shade of the warehouse wall.",
                "A hue and cry followed the spill of {e} at the docks in {y}.",
                "Windows of the {e} laboratory have a tint that blocks sunlight.",
            ),
            explainers=(
                "The colour of a compound often comes from the way its electrons absorb visible light.",
                "Traces of metal can give an otherwise colourless crystal a strong hue.",
            ),
        ),
        _rel(
            "odour",
            Choice(
                (
                    "a faint smell of almonds", "a sharp vinegar smell", "no smell at all", "a sweet fruity odour",
                    "a smell like rotten eggs", "an earthy smell", "a strong smell of garlic", "a mild smell of pine",
                )
            ),
            facts=("{e} has {v}.", "People who handle {e} notice {v}.", "The vapour of {e} gives off {v}."),
            brief="has {v}",
            asks=("what does {e} smell like", "smell of {e}", "{e} odour"),
            paraphrases=(
                "does {e} have a scent",
                "what is the aroma of {e}",
                "how does {e} stink",
            ),
            decoys=(
                "Dogs trained to follow a scent were used to search the {e} warehouse after a break-in.",
                "The aroma of coffee from the canteen fills the {e} laboratory every morning.",
                "A stink about the {e} contract reached the newspapers in {y}.",
            ),
            explainers=(
                "The human nose can detect some compounds at extremely low concentrations.",
                "Many odourless gases are mixed with a strongly smelling additive so that leaks can be noticed.",
            ),
        ),
    ),
)

_ANIMAL = Domain(
    key="animal",
    heading="Wildlife",
    nouns=("mammal", "bird", "fish", "frog", "lizard", "beetle"),
    suffixes=("ix", "us", "ora", "ella", "ops", "id", "on"),
    generic="this {n}",
    intros=("is a shy {n}", "is a small {n} rarely seen by visitors", "is a {n} known to few outside its range"),
    fillers=(
        "Field guides describe {e} as shy and hard to spot.",
        "Photographs of {e} are rare because it is active mostly at dusk.",
        "A survey led by {p} counted {e} at {k} separate sites.",
        "Local farmers around {t} have several folk names for {e}.",
        "Its call is a short, repeated note.",
        "Researchers fit small tags to {e} to track how far it travels.",
        "Museum collections in {t} hold a few preserved specimens of {e}.",
        "{e} appears on a postage stamp issued in {y}.",
        "Zoos rarely keep {e}, since it does poorly in captivity.",
        "{e} was given its scientific name after a long debate among taxonomists.",
    ),
    relations=(
        _rel(
            "habitat",
            Named("region"),
            facts=(
                "{e} is native to {v}.",
                "{e} lives in {v}.",
                "The natural range of {e} is limited to {v}.",
                "Wild populations of {e} are found only in {v}.",
            ),
            brief="is native to {v}",
            asks=("where does {e} live", "{e} native range", "where is {e} found"),
            paraphrases=(
                "natural home of the {e}",
                "what region is {e} from",
                "where can you see {e} outdoors",
            ),
            reverse=("which {n} is native to {v}",),
            decoys=(
                "A painted model of {e} stands near the home of the reptile collection, and it looks natural.",
                "Every region has its own folk tales, and one from the north features {e}.",
                "You can see {e} on posters outdoors all over the tourist office district.",
            ),
            explainers=(
                "A species' native range is the area where it occurs naturally, without help from people.",
                "Habitat loss is the main reason many small animals now live in scattered pockets.",
            ),
        ),
        _rel(
            "diet",
            Choice(
                (
                    "insects", "seeds and nuts", "small fish", "fallen fruit", "leaves and bark", "snails", "grass",
                    "nectar", "worms and grubs", "algae",
                )
            ),
            facts=(
                "{e} feeds mainly on {v}.",
                "The diet of {e} consists largely of {v}.",
                "{e} eats {v}.",
                "In the wild, {e} lives on a diet of {v}.",
            ),
            brief="feeds on {v}",
            asks=("what does {e} eat", "{e} diet", "what does the {n} {e} feed on"),
            paraphrases=(
                "favourite food of {e}",
                "what does {e} consume",
                "{e} prey or forage",
            ),
            decoys=(
                "Keepers say {e} refuses its food when it is moved, and a favourite toy calms it.",
                "Tracking {e} in the field can consume a whole summer for a student.",
                "{e} is prey for owls, which forage over the fields at night.",
            ),
            explainers=(
                "Small animals often change their diet with the seasons, eating whatever is most plentiful.",
                "Biologists study droppings to learn what a species eats.",
            ),
        ),
        _rel(
            "lifespan",
            Number(2, 40, "{} years"),
            facts=(
                "{e} lives for about {v}.",
                "The lifespan of {e} is roughly {v}.",
                "In the wild {e} can reach an age of {v}.",
            ),
            brief="can live for {v}",
            asks=("how long does {e} live", "{e} lifespan", "lifespan of the {n} {e}"),
            paraphrases=(
                "how old can {e} get",
                "{e} life expectancy",
                "maximum age of {e}",
            ),
            decoys=(
                "Old specimens of {e} can be seen in the museum at {t}, and visitors get a guided tour.",
                "Life at the field station is quiet, and the expectancy is that {e} will be found at new sites soon.",
                "Visitors of any age can join the walk, but the maximum group size for seeing {e} is ten.",
            ),
            explainers=(
                "Small animals usually have shorter lives than large ones, though there are many exceptions.",
                "Animals in captivity often live longer than their wild relatives.",
            ),
        ),
        _rel(
            "size",
            Number(5, 150, "{} centimetres"),
            facts=(
                "Adult {e} grow to about {v} long.",
                "{e} reaches a length of {v}.",
                "A fully grown {e} measures around {v}.",
            ),
            brief="grows to about {v}",
            asks=("how long is an adult {e}", "{e} length", "how big does {e} grow"),
            paraphrases=(
                "size of a full grown {e}",
                "how large is {e}",
                "{e} body dimensions",
            ),
            decoys=(
                "The size of the {e} population has halved since {y}, although the reserve is now full of grown trees.",
                "A large colony of {e} was counted near {t}, and nobody knows how it got there.",
                "A body of volunteers measures the dimensions of each pond where {e} breeds.",
            ),
            explainers=(
                "Body length in small animals is usually measured from the nose to the base of the tail.",
                "Males and females of many species differ in size.",
            ),
        ),
        _rel(
            "discoverer",
            Named("person"),
            facts=(
                "{e} was first described by the naturalist {v}.",
                "The naturalist {v} discovered {e}.",
                "{v} gave the first scientific account of {e}.",
            ),
            brief="was first described by {v}",
            asks=("who discovered {e}", "who first described {e}", "{e} discovered by"),
            paraphrases=(
                "which naturalist found the {e}",
                "who named the {n} {e}",
                "first scientist to record {e}",
            ),
            reverse=("which {n} did {v} discover", "{n} first described by {v}"),
            decoys=(
                "A naturalist found the {e} nest box empty after the storm.",
                "Children at the school in {t} named their team after {e}, the local {n}.",
                "A young scientist was the first to record the birdsong near the ponds where {e} lives.",
            ),
            explainers=(
                "In the nineteenth century naturalists described thousands of new species from museum specimens.",
                "A species is formally described when a scientist publishes its name and a description.",
            ),
        ),
    ),
)

_TOWN = Domain(
    key="town",
    heading="Places",
    nouns=("town",),
    suffixes=("by", "ton", "holm", "wick", "mere", "stad", "ford", "vik"),
    generic="this town",
    intros=("is a small market town", "is a quiet town in the countryside", "is a town on an old trade route"),
    fillers=(
        "The centre of {e} is built around a small square with a stone fountain.",
        "Buses connect {e} with {t} several times a day.",
        "A weekly market fills the main street of {e}.",
        "The local museum in {e} has a room on the history of the railway.",
        "{e} has {k} schools and a small hospital.",
        "Writers such as {p} have described the quiet streets of {e}.",
        "The town hall of {e} was rebuilt after a fire.",
        "Cyclists pass through {e} on the long route towards {t}.",
        "Many houses in {e} have tiled roofs.",
        "The football club of {e} plays in a regional league.",
    ),
    relations=(
        _rel(
            "population",
            Number(800, 95000, "{} people", thousands=True),
            facts=(
                "{e} has a population of {v}.",
                "About {v} live in {e}.",
                "The last census counted {v} in {e}.",
            ),
            brief="has about {v}",
            asks=("population of {e}", "how many people live in {e}", "{e} population"),
            paraphrases=(
                "how many inhabitants does {e} have",
                "number of residents in {e}",
                "how big is {e}",
            ),
            decoys=(
                "The inhabitants of {e} have a reputation for hospitality, and many keep bees.",
                "Residents in {e} voted for a new bridge, and a number of them volunteered to plant trees.",
                "How big the new sports hall in {e} should be is still debated.",
            ),
            explainers=(
                "A census counts everyone living in a place on a given day.",
                "Small towns often lose population as young people move to cities.",
            ),
        ),
        _rel(
            "founded",
            Number(1100, 1950),
            facts=(
                "{e} was founded in {v}.",
                "{e} dates back to {v}, when the first settlers arrived.",
                "The town of {e} received its charter in {v}.",
                "Records show that {e} was established in {v}.",
            ),
            brief="was founded in {v}",
            asks=("when was {e} founded", "{e} founded year", "what year was {e} established"),
            paraphrases=(
                "how old is {e}",
                "{e} origin date",
                "when did settlement begin at {e}",
            ),
            decoys=(
                "The old bakery in {e} is said to be the best in the region, and how it survived the fire is a local mystery.",
                "The date of the {e} summer fair is fixed, and its origin is a harvest custom.",
                "A settlement of the dispute over the {e} bypass was agreed, so work could begin.",
            ),
            explainers=(
                "Many towns in the region grew from villages that were granted market rights centuries ago.",
                "A town charter gave its citizens rights to trade and to govern themselves.",
            ),
        ),
        _rel(
            "region",
            Named("region"),
            facts=("{e} is located in {v}.", "{e} lies in {v}.", "The town of {e} is situated in {v}."),
            brief="lies in {v}",
            asks=("where is {e} located", "what region is {e} in", "{e} location"),
            paraphrases=(
                "which province contains {e}",
                "{e} on the map",
                "where would i find {e}",
            ),
            reverse=("which town is located in {v}",),
            decoys=(
                "Every province has a fund for flood defences, which contains a share for {e}.",
                "A map of {e} drawn in {y} hangs in the library, and visitors find it charming.",
                "Visitors often find {e} charming, and where they would stay is a problem in summer.",
            ),
            explainers=(
                "Provinces are usually divided into districts, each with a few towns.",
                "Road signs in rural areas often give the distance to the nearest town.",
            ),
        ),
        _rel(
            "industry",
            Choice(
                (
                    "fishing", "wool weaving", "paper making", "salt mining", "watch making", "boat building",
                    "brewing", "timber", "pottery", "cheese making",
                )
            ),
            facts=(
                "The main industry in {e} is {v}.",
                "{e} is known for {v}.",
                "Most jobs in {e} depend on {v}.",
                "The economy of {e} is built on {v}.",
            ),
            brief="is known for {v}",
            asks=("main industry of {e}", "what industry is {e} known for", "{e} economy"),
            paraphrases=(
                "how do people in {e} earn a living",
                "what work is there in {e}",
                "biggest employer in {e}",
            ),
            decoys=(
                "The people of {e} earn praise for their flower displays, and living costs are low.",
                "Work on the new road to {e} will start next spring, and there is a plan for a bypass.",
                "The biggest employer of seasonal guides in {e} is the tourist office.",
            ),
            explainers=(
                "Small towns often depend on a single industry, which makes them vulnerable when it declines.",
                "Traditional crafts are still an important source of work in rural areas.",
            ),
        ),
        _rel(
            "namesake",
            Named("person"),
            facts=("{e} is named after {v}.", "The town takes its name from {v}.", "{e} was named in honour of {v}."),
            brief="is named after {v}",
            asks=("who is {e} named after", "{e} named after whom", "origin of the name {e}"),
            paraphrases=(
                "why is the town called {e}",
                "{e} etymology",
                "which person does {e} commemorate",
            ),
            reverse=("which town is named after {v}",),
            decoys=(
                "A street in the town of {e} is called after a famous tree.",
                "A lecture on etymology given in {e} drew a large crowd.",
                "A plaque in {e} commemorates the flood of {y}, and every person who helped is listed.",
            ),
            explainers=(
                "Many towns take their names from a founder, a saint or a feature of the landscape.",
                "Place names often change slowly as spelling and pronunciation drift.",
            ),
        ),
    ),
)

_DEVICE = Domain(
    key="device",
    heading="Technology",
    nouns=("device",),
    suffixes=("tron", "scope", "meter", "graph", "dyne", "plex", "vox"),
    generic="device",
    intros=("is a compact device", "is an instrument once common in workshops", "is a mechanical device"),
    fillers=(
        "The {e} was sold in a sturdy wooden case.",
        "Repair manuals for the {e} are still traded by collectors.",
        "An early {e} is on display at the technical museum in {t}.",
        "Reviewers praised the {e} for being easy to use.",
        "The {e} came with {k} interchangeable parts.",
        "Later models of the {e} added a small display.",
        "Schools in {r} bought the {e} for science lessons.",
        "{p} wrote an enthusiastic review of the {e} for a trade magazine.",
        "Production of the {e} ended after about {k} thousand units.",
    ),
    relations=(
        _rel(
            "inventor",
            Named("person"),
            facts=("The {e} was invented by {v}.", "{v} designed the {e}.", "The engineer {v} built the first {e}."),
            brief="was invented by {v}",
            asks=("who invented the {e}", "{e} inventor", "who designed the {e}"),
            paraphrases=(
                "who came up with the {e}",
                "creator of the {e}",
                "mind behind the {e}",
            ),
            reverse=("what device did {v} invent", "device created by {v}"),
            decoys=(
                "A collector came up with a clever way to display the {e}.",
                "The creator of a popular radio show owns three of the {e}.",
                "Collectors do not mind paying extra for a {e} with its box, and the one behind glass in {t} is the finest.",
            ),
            explainers=(
                "Many inventions of the period came from small workshops rather than large companies.",
                "Patent records help historians work out who first built a machine.",
            ),
        ),
        _rel(
            "introduced",
            Number(1870, 2015),
            facts=(
                "The {e} was introduced in {v}.",
                "The {e} first went on sale in {v}.",
                "The {e} appeared on the market in {v}.",
            ),
            brief="went on sale in {v}",
            asks=("when was the {e} introduced", "{e} release year", "what year did the {e} go on sale"),
            paraphrases=(
                "how old is the {e}",
                "when did the {e} come out",
                "{e} launch date",
            ),
            decoys=(
                "An old {e} can still fetch a good price at auctions, and how it is packed matters.",
                "Staff said the {e} would come out of storage when the new gallery opens.",
                "The date of the {e} club meeting was set at the launch of its newsletter.",
            ),
            explainers=(
                "New devices are often shown at trade fairs months before they go on sale.",
                "Early production runs of a machine were usually small and expensive.",
            ),
        ),
        _rel(
            "purpose",
            Choice(
                (
                    "measuring air pressure", "sorting mail", "testing soil moisture", "timing races",
                    "recording sound", "counting traffic", "cutting glass", "weighing letters", "tuning instruments",
                    "detecting metal",
                )
            ),
            facts=("The {e} is used for {v}.", "The {e} was built for {v}.", "Engineers rely on the {e} for {v}."),
            brief="is used for {v}",
            asks=("what is the {e} used for", "{e} use", "what does the {e} do"),
            paraphrases=(
                "purpose of the {e}",
                "why would someone need a {e}",
                "{e} function",
            ),
            decoys=(
                "The purpose of the {e} club is to keep old machines working.",
                "Someone would need a lot of patience to find a {e} in working order today.",
                "The function room in {t} hosted an exhibition with a {e} as its centrepiece.",
            ),
            explainers=(
                "Many measuring instruments were developed to replace slow manual methods.",
                "The purpose of a tool often changes as people find new uses for it.",
            ),
        ),
        _rel(
            "weight",
            Number(1, 60, "{} kilograms"),
            facts=("The {e} weighs {v}.", "The {e} has a weight of {v}.", "With its case, the {e} comes to {v}."),
            brief="weighs {v}",
            asks=("how much does the {e} weigh", "{e} weight", "weight of the {e}"),
            paraphrases=(
                "how heavy is the {e}",
                "is the {e} heavy to carry",
                "{e} mass",
            ),
            decoys=(
                "The heavy rains of {y} flooded the {e} factory.",
                "Porters carry crates of {e} manuals up the museum stairs, which is heavy work.",
                "A mass of paperwork surrounds every sale of the {e}.",
            ),
            explainers=(
                "Portable instruments became lighter as steel parts were replaced with aluminium.",
                "The weight of a device is usually listed without batteries or accessories.",
            ),
        ),
        _rel(
            "power",
            Choice(
                (
                    "a hand crank", "mains electricity", "two small batteries", "a clockwork spring", "a solar cell",
                    "a foot pedal", "a steam boiler", "compressed air",
                )
            ),
            facts=("The {e} runs on {v}.", "The {e} is powered by {v}.", "Power for the {e} comes from {v}."),
            brief="runs on {v}",
            asks=("what powers the {e}", "{e} power source", "what does the {e} run on"),
            paraphrases=(
                "how is the {e} driven",
                "how do you keep the {e} going",
                "{e} energy supply",
            ),
            decoys=(
                "Collectors have driven for hours to see a rare {e} at the fair.",
                "Volunteers keep the {e} exhibition going on weekends.",
                "The {e} factory had a poor supply of workers and little energy left for new designs.",
            ),
            explainers=(
                "Before batteries were common, many small machines were driven by springs or cranks.",
                "Energy supply was often the biggest problem in designing a portable instrument.",
            ),
        ),
    ),
)

_COMPANY = Domain(
    key="company",
    heading="Business",
    nouns=("company",),
    suffixes=("ra", "ex", "co", "ia", "um", "on"),
    generic="this company",
    intros=("is a family-owned company", "is a mid-sized manufacturer", "is a company with a loyal customer base"),
    fillers=(
        "{e} publishes a short annual report each spring.",
        "Shares in {e} are traded on the exchange in {t}.",
        "{e} sponsors a youth sports league in {r}.",
        "{e} opened a second office in {t} in {y}.",
        "Critics have questioned how {e} treats its suppliers.",
        "The logo of {e} is a simple circle.",
        "{p} served on the board of {e} for {k} years.",
        "{e} has won several awards for its advertising.",
        "Customer reviews of {e} are mostly positive.",
    ),
    relations=(
        _rel(
            "founder",
            Named("person"),
            facts=("{e} was founded by {v}.", "{v} started {e}.", "The company {e} was set up by {v}."),
            brief="was founded by {v}",
            asks=("who founded {e}", "{e} founder", "who started {e}"),
            paraphrases=(
                "who is behind {e}",
                "which entrepreneur created {e}",
                "person who established {e}",
            ),
            reverse=("which company did {v} found", "company started by {v}"),
            decoys=(
                "Who is behind the graffiti on the {e} warehouse is unknown.",
                "An entrepreneur created a rival to {e} in {t}, which closed within a year.",
                "The {e} canteen is run by a person who established a small bakery nearby.",
            ),
            explainers=(
                "Many family firms are still run by the descendants of the person who started them.",
                "Entrepreneurs often found several businesses before one succeeds.",
            ),
        ),
        _rel(
            "founded",
            Number(1850, 2015),
            facts=(
                "{e} was founded in {v}.",
                "{e} has been in business since {v}.",
                "The company {e} opened its doors in {v}.",
            ),
            brief="dates from {v}",
            asks=("when was {e} founded", "{e} year founded", "what year did {e} start"),
            paraphrases=(
                "how old is {e}",
                "{e} date of establishment",
                "how long has {e} been around",
            ),
            decoys=(
                "An old warehouse owned by {e} was turned into flats, and how it was done won a prize.",
                "The date of the {e} staff party is set by a committee, and the establishment of a new canteen is planned.",
                "{e} has been in talks with unions for a long time, and rumours have been going around.",
            ),
            explainers=(
                "Company registers record the date on which a business was legally incorporated.",
                "Older firms often mention their founding year in their logo.",
            ),
        ),
        _rel(
            "headquarters",
            Named("town"),
            facts=("{e} is headquartered in {v}.", "The head office of {e} is in {v}.", "{e} is based in {v}."),
            brief="is based in {v}",
            asks=("where is {e} headquartered", "{e} head office", "{e} headquarters location"),
            paraphrases=(
                "which city is home to {e}",
                "where is the main base of {e}",
                "where does {e} keep its main offices",
            ),
            reverse=("which company is headquartered in {v}",),
            decoys=(
                "{e} sponsors a football team whose home ground is in the city centre.",
                "The main customer base of {e} is in rural areas.",
                "{e} moved its warehouse near the motorway, and its main offices got new furniture to keep staff happy.",
            ),
            explainers=(
                "Large companies often keep their head office in a capital even when factories are elsewhere.",
                "Moving a headquarters can bring hundreds of jobs to a small city.",
            ),
        ),
        _rel(
            "product",
            Choice(
                (
                    "bicycles", "garden tools", "kitchen scales", "winter coats", "printing ink", "toy trains",
                    "ceramic tiles", "fishing nets", "roofing slate", "office chairs",
                )
            ),
            facts=("{e} makes {v}.", "{e} is best known for its {v}.", "The main products of {e} are {v}."),
            brief="makes {v}",
            asks=("what does {e} make", "{e} products", "what is {e} known for"),
            paraphrases=(
                "what does {e} sell",
                "what goods come from {e}",
                "{e} merchandise",
            ),
            decoys=(
                "{e} sells its old delivery vans at auction.",
                "Goods trains come through the yard next to the {e} car park.",
                "Fans of the football club sponsored by {e} buy merchandise at the stadium.",
            ),
            explainers=(
                "Manufacturers often start with one product and expand into related goods.",
                "Brand recognition can matter more than price for household goods.",
            ),
        ),
        _rel(
            "employees",
            Number(40, 18000, "{} people", thousands=True),
            facts=("{e} employs {v}.", "{e} has a workforce of {v}.", "About {v} work for {e}."),
            brief="employs {v}",
            asks=("how many people work at {e}", "{e} number of employees", "how many employees does {e} have"),
            paraphrases=(
                "{e} staff size",
                "headcount at {e}",
                "how big is the team at {e}",
            ),
            decoys=(
                "The size of the {e} car park has been a source of complaints from staff.",
                "A headcount at the {e} summer picnic showed that more families came than expected.",
                "The football team sponsored by {e} had a big win last season.",
            ),
            explainers=(
                "Headcount figures usually include part-time staff.",
                "Firms with fewer than fifty people are usually counted as small businesses.",
            ),
        ),
    ),
)

_PLANT = Domain(
    key="plant",
    heading="Botany",
    nouns=("shrub", "herb", "vine", "fern", "tree"),
    suffixes=("ia", "wort", "ella", "anth", "is", "ora", "um"),
    generic="this {n}",
    intros=("is a hardy {n}", "is a slow-growing {n}", "is a {n} grown in many gardens"),
    fillers=(
        "Gardeners in {r} grow {e} along walls and fences.",
        "The leaves of {e} are narrow and slightly hairy.",
        "Seeds of {e} are sold by specialist nurseries.",
        "{e} was a favourite of the gardener {p}.",
        "{e} needs little water once it is established.",
        "A painting of {e} hangs in the botanical garden at {t}.",
        "Bees visit {e} throughout the warm months.",
        "Cuttings of {e} root easily in damp sand.",
        "{e} is rarely troubled by pests.",
    ),
    relations=(
        _rel(
            "flowering",
            Choice(("early spring", "late spring", "midsummer", "late summer", "autumn", "winter")),
            facts=("{e} flowers in {v}.", "The blossoms of {e} open in {v}.", "{e} is in bloom during {v}."),
            brief="flowers in {v}",
            asks=("when does {e} flower", "{e} flowering season", "when does {e} bloom"),
            paraphrases=(
                "what month does {e} produce petals",
                "{e} blossom time",
                "time of year to see {e} petals",
            ),
            decoys=(
                "Local farms produce compost each month for the {e} beds, and dried petals are sold at the gate.",
                "It takes time for {e} cuttings to root, and the blossom of nearby cherries often arrives first.",
                "Visitors come to see the {e} collection at any time of year, and children collect fallen petals from the roses.",
            ),
            explainers=(
                "Many plants flower when the days reach a certain length.",
                "A mild winter can make spring flowers open weeks early.",
            ),
        ),
        _rel(
            "height",
            Number(10, 900, "{} centimetres"),
            facts=("{e} grows to a height of {v}.", "A mature {e} stands about {v} tall.", "{e} reaches {v}."),
            brief="grows to {v}",
            asks=("how tall does {e} grow", "{e} height", "height of a mature {e}"),
            paraphrases=(
                "how big does {e} get",
                "maximum size of {e}",
                "{e} plant dimensions",
            ),
            decoys=(
                "Gardeners get big harvests when {e} is planted next to beans.",
                "The size of the {e} seed harvest depends on the weather, and nurseries set a maximum order.",
                "Every plant in the {e} bed is labelled, and the dimensions of the bed are shown on a sign.",
            ),
            explainers=(
                "Plant height depends strongly on soil, light and water.",
                "Nurseries list the expected height of a plant after ten years of growth.",
            ),
        ),
        _rel(
            "native_region",
            Named("region"),
            facts=("{e} is native to {v}.", "{e} grows wild in {v}.", "{e} originates from {v}."),
            brief="comes from {v}",
            asks=("where is {e} native to", "{e} native region", "where does {e} grow wild"),
            paraphrases=(
                "what part of the world does {e} come from",
                "homeland of {e}",
                "{e} origin",
            ),
            reverse=("which plant is native to {v}",),
            decoys=(
                "The world's largest collection of {e} is kept in a private garden, and part of it is open in summer.",
                "A poem about a lost homeland mentions {e} in its last verse.",
                "The origin of the {e} label design at the nursery is a children's drawing.",
            ),
            explainers=(
                "Native plants are adapted to the local climate and soil.",
                "Many garden plants were brought from distant regions by plant hunters.",
            ),
        ),
        _rel(
            "medicinal_use",
            Choice(
                (
                    "to soothe coughs", "to treat burns", "as a mild sleeping aid", "to ease stomach pain",
                    "to clean wounds", "to reduce fever", "to calm headaches",
                )
            ),
            facts=("{e} was traditionally used {v}.", "Herbalists use {e} {v}.", "In folk medicine {e} is taken {v}."),
            brief="is used {v}",
            asks=("what is {e} used for in medicine", "{e} medicinal uses", "is {e} used in herbal medicine"),
            paraphrases=(
                "health benefits of {e}",
                "can {e} cure illness",
                "{e} remedy",
            ),
            decoys=(
                "The health of {e} plants suffers in heavy clay, which benefits weeds.",
                "Illness among gardeners in {t} was blamed on sprays used on {e}, and there was no cure for the damage.",
                "The only remedy for aphids on {e} is patience.",
            ),
            explainers=(
                "Folk remedies are rarely tested in clinical trials.",
                "Herbal medicine uses leaves, roots and flowers, often dried or brewed as tea.",
            ),
        ),
        _rel(
            "flower_colour",
            _COLOURS,
            facts=("{e} has {v} flowers.", "The petals of {e} are {v}.", "{e} produces small {v} blossoms."),
            brief="has {v} flowers",
            asks=("what colour are {e} flowers", "{e} flower colour", "colour of {e} petals"),
            paraphrases=(
                "what shade are the blooms of {e}",
                "{e} blossom hue",
                "what tint are {e} blooms",
            ),
            decoys=(
                "Painters like the shade under {e} on hot afternoons, when nearby blooms fade.",
                "A hue and cry followed the theft of {e} cuttings just before the blossom show.",
                "The glasshouse where {e} grows has panes with a light tint, and the blooms of orchids fill the corner.",
            ),
            explainers=(
                "Flower colour attracts particular pollinators, such as bees or moths.",
                "Soil acidity can change the colour of some flowers.",
            ),
        ),
    ),
)

# --------------------------------------------------------------------------------------------------
# Vocabulary of the evaluation set (five different domains)
# --------------------------------------------------------------------------------------------------

_MINERAL = Domain(
    key="mineral",
    heading="Geology",
    nouns=("mineral",),
    suffixes=("ite", "ase", "ine", "ene", "ar", "yte", "on"),
    generic="this mineral",
    intros=("is a rare mineral", "is a mineral prized by collectors", "is a common rock-forming mineral"),
    fillers=(
        "Collectors value well-formed crystals of {e}.",
        "{e} was described in a survey of the mines near {t}.",
        "Samples of {e} are kept in the geology museum in {t}.",
        "Under a microscope, {e} shows fine parallel lines.",
        "{p} wrote the standard reference on {e}.",
        "Good specimens of {e} sell for high prices at mineral fairs.",
        "{e} forms in veins alongside quartz.",
        "Geologists use {e} as an indicator of ancient hot springs.",
        "The crystal structure of {e} was worked out in {y}.",
    ),
    relations=(
        _rel(
            "hardness",
            Number(4, 19, "{}", divisor=2),
            facts=(
                "{e} has a Mohs hardness of {v}.",
                "{e} rates {v} on the Mohs scale.",
                "{e} can be scratched by a steel knife, with a hardness of {v}.",
            ),
            brief="has a hardness of {v}",
            asks=("how hard is {e}", "{e} hardness", "mohs hardness of {e}"),
            paraphrases=(
                "how easily does {e} get marked",
                "{e} scratch resistance",
                "is {e} soft or tough",
            ),
            decoys=(
                "Trails to the {e} outcrop are easily lost, so the path is now marked with posts.",
                "A scratch on the glass case of the {e} display was repaired, and there was resistance to moving it.",
                "Miners had a tough time reaching the {e} seams through soft clay.",
            ),
            explainers=(
                "The Mohs scale ranks minerals from talc, the softest, to diamond, the hardest.",
                "Hardness is tested by seeing which minerals can scratch a sample.",
            ),
        ),
        _rel(
            "colour",
            _COLOURS,
            facts=("{e} is usually {v}.", "Crystals of {e} are {v}.", "{e} has a {v} colour."),
            brief="is {v} in colour",
            asks=("what colour is {e}", "{e} colour", "colour of {e} crystals"),
            paraphrases=(
                "what shade is {e}",
                "what does {e} look like",
                "{e} hue",
            ),
            decoys=(
                "The doors of the {e} gallery were painted a new shade last year.",
                "Guides at the mine look after visitors who come to see {e}, and they like questions.",
                "A hue and cry followed the theft of a {e} specimen from the museum.",
            ),
            explainers=(
                "Many minerals occur in several colours because of tiny impurities.",
                "The streak of a mineral, the colour of its powder, is more reliable than its surface colour.",
            ),
        ),
        _rel(
            "locality",
            Named("region"),
            facts=("{e} is found in {v}.", "{e} was first discovered in {v}.", "The main deposits of {e} are in {v}."),
            brief="occurs in {v}",
            asks=("where is {e} found", "{e} locality", "where are {e} deposits"),
            paraphrases=(
                "where can {e} be mined",
                "which region produces {e}",
                "where do collectors dig for {e}",
            ),
            reverse=("which mineral is found in {v}",),
            decoys=(
                "Licences say {e} can be mined only by hand, and only in summer.",
                "The region's museum produces a guide to {e} for school groups.",
                "Collectors who dig at old quarries mostly find quartz rather than {e}.",
            ),
            explainers=(
                "Mineral deposits form where hot fluids move through cracks in rock.",
                "Old mine dumps are a favourite place for collectors to search.",
            ),
        ),
        _rel(
            "use",
            Choice(
                (
                    "in glass making", "as a gemstone", "in ceramic glazes", "as a source of zinc", "in water filters",
                    "as a polishing powder", "in paint pigments", "in electronics",
                )
            ),
            facts=("{e} is used {v}.", "Most mined {e} ends up {v}.", "Industry values {e} {v}."),
            brief="is used {v}",
            asks=("what is {e} used for", "uses of {e}", "{e} industrial use"),
            paraphrases=(
                "what is {e} good for",
                "why is {e} mined",
                "{e} application",
            ),
            decoys=(
                "The weather is good for field trips to the {e} pits in spring.",
                "Nobody knows why the mined {e} was left on the dump for decades.",
                "An application to reopen the old {e} pit was refused by the council.",
            ),
            explainers=(
                "Industrial minerals are valued for physical properties such as hardness or heat resistance.",
                "Many minerals mined for industry are never seen by the people who use the products.",
            ),
        ),
        _rel(
            "namesake",
            Named("person"),
            facts=("{e} is named after {v}.", "{e} takes its name from {v}.", "{e} honours {v}."),
            brief="is named after {v}",
            asks=("who is {e} named after", "{e} name origin", "{e} named for"),
            paraphrases=(
                "why is {e} called that",
                "who does {e} commemorate",
                "{e} etymology",
            ),
            reverse=("which mineral is named after {v}",),
            decoys=(
                "Dealers called the {e} auction a success, and that surprised nobody.",
                "A plaque at the mine commemorates the workers who first dug {e} there.",
                "A dictionary of mineral etymology leaves out {e} by mistake.",
            ),
            explainers=(
                "Minerals are often named after the place they were found or the person who described them.",
                "New mineral names must be approved by an international commission.",
            ),
        ),
    ),
)

_SHIP = Domain(
    key="ship",
    heading="Ships",
    nouns=("ship",),
    suffixes=("a", "ia", "ora", "elle", "ine", "etta", "ona"),
    generic="ship",
    intros=("was a cargo ship", "was a passenger steamer", "was a coastal trading ship"),
    fillers=(
        "The {e} carried both cargo and passengers.",
        "A model of the {e} is on show in the maritime museum at {t}.",
        "{p} served as captain of the {e} for several years.",
        "Letters written aboard the {e} are kept in the archive at {t}.",
        "The {e} made regular crossings along the coast of {r}.",
        "Storms damaged the {e} more than once.",
        "The {e} had cabins for about {k} dozen passengers.",
        "Paintings of the {e} were popular with sailors' families.",
    ),
    relations=(
        _rel(
            "launched",
            Number(1820, 1980),
            facts=(
                "The {e} was launched in {v}.",
                "The {e} first took to the water in {v}.",
                "The {e} entered service in {v}.",
            ),
            brief="was launched in {v}",
            asks=("when was the {e} launched", "{e} launch year", "what year was the {e} launched"),
            paraphrases=(
                "how old is the {e}",
                "when did the {e} first sail",
                "{e} maiden voyage date",
            ),
            decoys=(
                "Sailors on the {e} kept an old custom of sharing bread, and how it started is unknown.",
                "Passengers on the {e} were taught how to sail a dinghy on their first day aboard.",
                "A novel set on the {e} tells of a maiden who fell in love on a long voyage, though it gives no date.",
            ),
            explainers=(
                "A ship is launched when its hull first slides into the water, often long before it enters service.",
                "Launch ceremonies traditionally include naming the ship.",
            ),
        ),
        _rel(
            "builder",
            Named("yard"),
            facts=("The {e} was built by {v}.", "{v} constructed the {e}.", "The {e} came from {v}."),
            brief="was built by {v}",
            asks=("who built the {e}", "{e} shipyard", "which yard built the {e}"),
            paraphrases=(
                "where was the {e} made",
                "{e} manufacturer",
                "maker of the {e}",
            ),
            reverse=("which ship was built by {v}",),
            decoys=(
                "Sailors on the {e} made friends in every port where she called.",
                "A toy manufacturer sold a tin model of the {e} in the shops of {t}.",
                "The maker of the famous {e} model was a retired teacher.",
            ),
            explainers=(
                "Shipyards of the period often built several ships to the same design.",
                "A builder's plate on the hull records the yard and the year of construction.",
            ),
        ),
        _rel(
            "length",
            Number(30, 250, "{} metres"),
            facts=("The {e} was {v} long.", "The {e} measured {v} from bow to stern.", "The hull of the {e} had a length of {v}."),
            brief="was {v} long",
            asks=("how long was the {e}", "{e} length", "length of the {e}"),
            paraphrases=(
                "how big was the {e}",
                "size of the {e}",
                "{e} dimensions",
            ),
            decoys=(
                "The {e} had a big reputation, and how she handled storms was legendary.",
                "The size of the {e} crew changed from voyage to voyage.",
                "A painting of the {e} with odd dimensions hangs in the harbour office.",
            ),
            explainers=(
                "Ship length is usually given between the bow and the stern at the waterline.",
                "Larger ships needed deeper harbours, which limited where they could call.",
            ),
        ),
        _rel(
            "home_port",
            Named("town"),
            facts=("The home port of the {e} was {v}.", "The {e} was registered in {v}.", "The {e} sailed from her base at {v}."),
            brief="was registered in {v}",
            asks=("home port of the {e}", "where was the {e} registered", "{e} port of registry"),
            paraphrases=(
                "which harbour did the {e} belong to",
                "where did the {e} usually dock",
                "where was the {e} stationed",
            ),
            reverse=("which ship had its home port at {v}",),
            decoys=(
                "Crew of the {e} said their hearts belong to the sea, not to any harbour.",
                "Workers at the dock usually painted the {e} every spring.",
                "A lookout was stationed on the {e} mast during fog.",
            ),
            explainers=(
                "A ship's home port is painted on its stern below its name.",
                "Ships were often registered in one port while working from another.",
            ),
        ),
        _rel(
            "fate",
            Choice(
                (
                    "sank in a storm", "was broken up for scrap", "became a museum ship", "was lost in a fire",
                    "ran aground on a reef", "was sold abroad and renamed", "was sunk during a war",
                    "now serves as a floating hotel",
                )
            ),
            facts=("The {e} {v}.", "In the end the {e} {v}.", "After her working life, the {e} {v}."),
            brief="{v}",
            asks=("what happened to the {e}", "fate of the {e}", "{e} final fate"),
            paraphrases=(
                "is the {e} still afloat",
                "how did the career of the {e} end",
                "where is the {e} now",
            ),
            decoys=(
                "The {e} fund is still afloat thanks to donations from former crew.",
                "The career of the {e} captain ended when he retired to {t}.",
                "Letters from the {e} now sit in an archive, where anyone can read them.",
            ),
            explainers=(
                "Most ships of the period were broken up for scrap when they became too old to insure.",
                "Only a few old ships survive today, usually as museums.",
            ),
        ),
    ),
)

_FESTIVAL = Domain(
    key="festival",
    heading="Festivals",
    nouns=("festival",),
    suffixes=("ani", "eda", "ora", "illa", "aro", "ena", "ivo"),
    generic="this festival",
    intros=("is a lively local festival", "is a traditional festival", "is a festival with a long history"),
    fillers=(
        "Visitors to {e} are advised to book rooms early.",
        "Street food stalls line the roads during {e}.",
        "Volunteers spend weeks preparing the decorations for {e}.",
        "{e} ends with a parade through the old town.",
        "Local radio broadcasts live from {e}.",
        "{p} has written a children's book about {e}.",
        "Tickets for the concerts at {e} sell out quickly.",
        "{e} was shown in a television documentary in {y}.",
    ),
    relations=(
        _rel(
            "month",
            _MONTHS,
            facts=("{e} takes place in {v}.", "{e} is held every {v}.", "Each year {e} falls in {v}."),
            brief="takes place in {v}",
            asks=("when is {e} held", "what month is {e}", "{e} festival dates"),
            paraphrases=(
                "what time of year is {e}",
                "when can i attend {e}",
                "{e} season",
            ),
            decoys=(
                "Every year {e} volunteers spend a lot of time on the decorations.",
                "Anyone who wants to attend {e} can buy a ticket online, and children can go free.",
                "Season tickets for the {e} concerts are popular with families.",
            ),
            explainers=(
                "Many traditional festivals follow the farming calendar.",
                "Festival dates are sometimes moved to a weekend to attract more visitors.",
            ),
        ),
        _rel(
            "location",
            Named("town"),
            facts=("{e} is held in {v}.", "{e} takes place in the town of {v}.", "{v} hosts {e}."),
            brief="is held in {v}",
            asks=("where is {e} held", "{e} location", "where does {e} take place"),
            paraphrases=(
                "where do people go for {e}",
                "{e} venue",
                "which town is home to {e}",
            ),
            reverse=("which festival is held in {v}",),
            decoys=(
                "People who go to {e} often bring folding chairs.",
                "The venue for the {e} press conference changes every year.",
                "Visitors who come to {e} take home souvenirs from the old town.",
            ),
            explainers=(
                "Small towns can double their population during a popular festival.",
                "Festivals are often held in the main square or on the fields outside town.",
            ),
        ),
        _rel(
            "first_held",
            Number(1500, 1995),
            facts=("{e} was first held in {v}.", "{e} began in {v}.", "{e} has taken place since {v}."),
            brief="began in {v}",
            asks=("when did {e} start", "{e} first held year", "since when has {e} been held"),
            paraphrases=(
                "how old is {e}",
                "{e} origins",
                "when was the very first {e}",
            ),
            decoys=(
                "The old costumes worn at {e} are stored in the town hall, and how they survived is a mystery.",
                "Stories about the origins of the dances at {e} differ from village to village.",
                "The very first stall to open at {e} each morning sells coffee.",
            ),
            explainers=(
                "Many festivals claim an ancient origin, but records often begin much later.",
                "Some old festivals lapsed for decades and were revived by local societies.",
            ),
        ),
        _rel(
            "celebrates",
            Choice(
                (
                    "the grape harvest", "the return of migrating geese", "the longest day of the year",
                    "the end of the fishing season", "a local saint", "the first snow", "the founding of the town",
                    "the birth of spring lambs",
                )
            ),
            facts=("{e} celebrates {v}.", "{e} marks {v}.", "{e} is held in honour of {v}."),
            brief="celebrates {v}",
            asks=("what does {e} celebrate", "what is {e} celebrating", "{e} festival meaning"),
            paraphrases=(
                "why do people hold {e}",
                "what is the reason for {e}",
                "what does {e} commemorate",
            ),
            decoys=(
                "People hold lanterns during the last night of {e}.",
                "The reason {e} moved to a bigger field was safety.",
                "A statue near the {e} grounds commemorates a local poet.",
            ),
            explainers=(
                "Harvest festivals are among the oldest celebrations in farming communities.",
                "Many festivals mark a turning point of the year, such as a solstice or the first frost.",
            ),
        ),
        _rel(
            "attendance",
            Number(500, 250000, "{} visitors", thousands=True),
            facts=("{e} attracts about {v} each year.", "Around {v} come to {e}.", "Attendance at {e} reaches {v}."),
            brief="draws about {v}",
            asks=("how many people attend {e}", "{e} attendance", "how many visitors does {e} attract"),
            paraphrases=(
                "how big is the {e} crowd",
                "how crowded is {e}",
                "{e} crowd size",
            ),
            decoys=(
                "How big the {e} fireworks will be is kept secret, and the crowd waits until the night.",
                "The car park at {e} gets crowded quickly, so organisers suggest cycling.",
                "The crowd at the first concert of {e} was delayed by rain, and the size of the stage was blamed.",
            ),
            explainers=(
                "Festival attendance is usually estimated from ticket sales and counts at the gates.",
                "Large crowds require careful planning of transport and first aid.",
            ),
        ),
    ),
)

_MUSICIAN = Domain(
    key="musician",
    heading="Music",
    nouns=("musician", "composer"),
    suffixes=("ak", "ov", "ini", "sen", "ard", "elli"),
    generic="this {n}",
    intros=("was a {n} of the romantic era", "was a {n} admired by critics", "was a travelling {n}"),
    fillers=(
        "{e} toured widely across {r}.",
        "Recordings of {e} are rare and sought after.",
        "Critics praised {e} for a warm, careful style.",
        "{e} gave a famous concert in {t}.",
        "Letters from {e} to {p} were published after their death.",
        "{e} taught summer courses for young musicians.",
        "A statue of {e} stands outside the concert hall in {t}.",
        "{e} rarely gave interviews.",
    ),
    relations=(
        _rel(
            "instrument",
            Choice(
                (
                    "the violin", "the cello", "the harp", "the organ", "the flute", "the piano", "the oboe", "the lute",
                    "the clarinet", "the accordion",
                )
            ),
            facts=("{e} played {v}.", "{e} was a celebrated performer on {v}.", "The main instrument of {e} was {v}."),
            brief="played {v}",
            asks=("what instrument did {e} play", "{e} instrument", "which instrument did {e} play"),
            paraphrases=(
                "what could {e} perform with",
                "{e} main musical skill",
                "what did {e} specialise in",
            ),
            decoys=(
                "{e} could perform for hours without a break, friends said.",
                "Musical skill ran in the family of {e}, and the main family trait was patience.",
                "Later in life {e} chose to specialise in teaching children.",
            ),
            explainers=(
                "Many performers of the period played several instruments before choosing one.",
                "Instrument makers often built special models for famous performers.",
            ),
        ),
        _rel(
            "birthplace",
            Named("town"),
            facts=("{e} was born in {v}.", "{e} grew up in {v}, where the family lived.", "{v} is the birthplace of {e}."),
            brief="was born in {v}",
            asks=("where was {e} born", "{e} birthplace", "birthplace of {e}"),
            paraphrases=(
                "hometown of {e}",
                "where did {e} come from",
                "{e} native town",
            ),
            reverse=("which musician was born in {v}",),
            decoys=(
                "The hometown newspaper of the wife of {e} ran a long obituary.",
                "Friends would come from far away to hear {e}.",
                "A native of the town, the conductor who hired {e} ran the local orchestra.",
            ),
            explainers=(
                "Many musicians left their home towns young to study in larger cities.",
                "Birth records of the period are often incomplete.",
            ),
        ),
        _rel(
            "birth_year",
            Number(1700, 1960),
            facts=("{e} was born in {v}.", "{e} came into the world in {v}.", "The year {v} saw the birth of {e}."),
            brief="was born in {v}",
            asks=("when was {e} born", "{e} birth year", "what year was {e} born"),
            paraphrases=(
                "how old would {e} be today",
                "{e} date of birth",
                "what century did {e} live in",
            ),
            decoys=(
                "Critics today would call {e} old-fashioned, and how the music is played has changed.",
                "The date of the last concert by {e} is disputed, as is the birth of the legend around it.",
                "{e} did not live in one place for long, and a century later biographers still argue about the moves.",
            ),
            explainers=(
                "Baptism records are often the only evidence of a musician's birth date.",
                "Biographers sometimes disagree about the year a composer was born.",
            ),
        ),
        _rel(
            "teacher",
            Named("person"),
            facts=("{e} studied with {v}.", "{e} was a pupil of {v}.", "{v} taught {e}."),
            brief="studied with {v}",
            asks=("who taught {e}", "{e} teacher", "who did {e} study with"),
            paraphrases=(
                "who was the mentor of {e}",
                "{e} trained under whom",
                "who instructed {e}",
            ),
            reverse=("which musician studied with {v}", "student of {v}"),
            decoys=(
                "Later in life {e} was the mentor of a choir of schoolchildren.",
                "{e} trained a choir under difficult conditions.",
                "Doctors instructed {e} to rest for a month after the tour.",
            ),
            explainers=(
                "Young musicians often moved to study with a famous teacher.",
                "Lessons with a great performer could last for many years.",
            ),
        ),
        _rel(
            "work",
            Named("work"),
            facts=("{e} is best known for {v}.", "{e} wrote {v}.", "The most famous piece by {e} is {v}."),
            brief="wrote {v}",
            asks=("what is {e} best known for", "{e} famous work", "most famous piece by {e}"),
            paraphrases=(
                "{e} masterpiece",
                "what did {e} compose",
                "best loved music of {e}",
            ),
            reverse=("who wrote {v}", "composer of {v}"),
            decoys=(
                "A masterpiece of portrait painting shows {e} as a young man.",
                "{e} always took a moment to compose a letter to the family before a concert.",
                "The best loved anecdote about {e} concerns a lost umbrella and a shop that sold music.",
            ),
            explainers=(
                "Some composers are remembered for a single piece while the rest of their music is forgotten.",
                "A masterpiece was originally the work an apprentice made to become a master.",
            ),
        ),
    ),
    person_entities=True,
    pronoun="The {n}",
)

_DISH = Domain(
    key="dish",
    heading="Food",
    nouns=("dish",),
    suffixes=("ska", "etti", "ouli", "ara", "ak", "ada", "ini"),
    generic="this dish",
    intros=("is a traditional dish", "is a hearty country dish", "is a dish found on many family tables"),
    fillers=(
        "{e} is often served with fresh bread.",
        "Recipes for {e} vary from family to family.",
        "Restaurants in {t} compete over who serves {e} at its best.",
        "Cookbooks by {p} include a version of {e}.",
        "{e} keeps well for several days in a cool place.",
        "Children in {r} grow up eating {e}.",
        "Food writers call {e} simple but satisfying.",
        "{e} became fashionable in city restaurants in {y}.",
    ),
    relations=(
        _rel(
            "ingredient",
            Choice(
                (
                    "lentils", "smoked fish", "chestnuts", "lamb", "barley", "river crayfish", "beetroot",
                    "wild mushrooms", "goat cheese", "cabbage",
                )
            ),
            facts=("The main ingredient of {e} is {v}.", "{e} is made mostly from {v}.", "{e} is based on {v}."),
            brief="is made from {v}",
            asks=("what is {e} made of", "main ingredient in {e}", "{e} ingredients"),
            paraphrases=(
                "what goes into {e}",
                "what do you need to cook {e}",
                "what is in {e}",
            ),
            decoys=(
                "A lot of care goes into serving {e}, and guests notice.",
                "You need a big table when you cook {e} for the whole family.",
                "Interest in {e} is growing abroad.",
            ),
            explainers=(
                "Country dishes were built around whatever grew or could be caught nearby.",
                "Many traditional recipes replace expensive ingredients with cheaper ones.",
            ),
        ),
        _rel(
            "origin",
            Named("region"),
            facts=("{e} comes from {v}.", "{e} originated in {v}.", "{e} is a traditional dish of {v}."),
            brief="comes from {v}",
            asks=("where does {e} come from", "{e} origin", "where did {e} originate"),
            paraphrases=(
                "home of {e} cuisine",
                "birthplace of {e}",
                "which part of the country is {e} from",
            ),
            reverse=("traditional dish of {v}",),
            decoys=(
                "The best {e} is cooked at home, not in restaurants, says a famous critic of cuisine.",
                "Every cook claims a different birthplace for {e}, so food historians stay out of the argument.",
                "Part of the charm of {e} is that cooks from every country adapt it.",
            ),
            explainers=(
                "Regional dishes often spread with migrants and change on the way.",
                "Food historians trace dishes through old cookbooks and market records.",
            ),
        ),
        _rel(
            "method",
            Choice(
                (
                    "baked in a clay oven", "slowly simmered", "grilled over charcoal", "steamed in leaves",
                    "fried in butter", "smoked overnight", "boiled in broth",
                )
            ),
            facts=("{e} is {v}.", "To make {e}, the ingredients are {v}.", "{e} is traditionally {v}."),
            brief="is {v}",
            asks=("how is {e} cooked", "{e} cooking method", "how do you cook {e}"),
            paraphrases=(
                "how is {e} prepared",
                "{e} recipe technique",
                "what is the way to make {e}",
            ),
            decoys=(
                "{e} is prepared for guests only on special days in some villages.",
                "A recipe book with a chapter on {e} teaches knife technique.",
                "Cooks who make {e} like to chat, and the way they set the table matters.",
            ),
            explainers=(
                "Slow cooking makes tough cuts of meat tender.",
                "Clay ovens keep an even heat for hours after the fire goes out.",
            ),
        ),
        _rel(
            "occasion",
            Choice(
                (
                    "at weddings", "on winter holidays", "at harvest feasts", "for breakfast", "at funerals",
                    "on market days", "at christenings",
                )
            ),
            facts=("{e} is served {v}.", "People eat {e} {v}.", "{e} is a favourite dish {v}."),
            brief="is served {v}",
            asks=("when is {e} served", "when do people eat {e}", "{e} occasion"),
            paraphrases=(
                "what event is {e} for",
                "is {e} a festive meal",
                "{e} tradition",
            ),
            decoys=(
                "A charity event in {t} raised money for a kitchen where {e} is cooked.",
                "Meal prices rose in {t}, though {e} stayed cheap at the festive market stall.",
                "The tradition of sharing {e} with neighbours is fading.",
            ),
            explainers=(
                "Special dishes mark weddings, funerals and holidays in most food cultures.",
                "Some dishes are eaten only once a year, which keeps them special.",
            ),
        ),
        _rel(
            "taste",
            Choice(("sour", "smoky", "sweet and spicy", "salty", "bitter", "mild and creamy", "tangy", "peppery")),
            facts=("{e} tastes {v}.", "{e} has a {v} flavour.", "The taste of {e} is {v}."),
            brief="tastes {v}",
            asks=("what does {e} taste like", "{e} taste", "flavour of {e}"),
            paraphrases=(
                "what is {e} like to eat",
                "{e} seasoning profile",
                "is {e} sweet or savoury",
            ),
            decoys=(
                "Most guests like to eat {e} with a glass of cold water.",
                "Seasoning {e} is left to each diner, and a profile of the cook appeared in a magazine.",
                "A sweet shop in {t} sells biscuits shaped like a bowl of {e}, next to savoury pies.",
            ),
            explainers=(
                "Sour and smoky flavours helped preserve food before refrigeration.",
                "Spices were once expensive, so everyday food was often plain.",
            ),
        ),
    ),
)

TRAIN_DOMAINS: tuple[Domain, ...] = (_COMPOUND, _ANIMAL, _TOWN, _DEVICE, _COMPANY, _PLANT)
EVAL_DOMAINS: tuple[Domain, ...] = (_MINERAL, _SHIP, _FESTIVAL, _MUSICIAN, _DISH)

_GENERIC_FILLERS: tuple[str, ...] = (
    "More details can be found in the regional archive at {t}.",
    "A short article about {e} appeared in a popular magazine in {y}.",
    "{p} mentioned {e} in a lecture on local history.",
    "Opinions about {e} differ among specialists.",
    "There is a small online community devoted to {e}.",
    "Photographs of {e} from {y} show little change from today.",
    "A local society in {r} organises an annual talk about {e}.",
    "{e} is often mentioned alongside {o}.",
    "Specialists sometimes confuse {e} with {o}.",
    "Unlike {o}, {e} is rarely discussed in the press.",
)

# --------------------------------------------------------------------------------------------------
# Synthetic names
# --------------------------------------------------------------------------------------------------

_ONSETS = (
    "b", "br", "d", "dr", "f", "g", "gr", "k", "kr", "l", "m", "n", "p", "r", "s", "st", "t", "tr", "v", "z",
    "th", "sh", "h", "j", "kl", "vr", "zh", "q",
)
_VOWELS = ("a", "e", "i", "o", "u", "ae", "ai", "ou", "y", "ei")
_CODAS = ("", "", "", "n", "r", "l", "s", "th", "x", "k", "m", "nd", "rn", "sk", "v")
_FIRST_SUFFIXES = ("a", "o", "en", "is", "ar", "ine", "el", "ia")
_REGION_FORMS = (
    "the {} Valley", "the {} Highlands", "the {} Coast", "the {} Basin", "the {} Plateau", "{} Province",
    "the {} Marshes", "the {} Hills",
)
_WORK_FORMS = ("the {} Suite", "the {} Sonata", "the {} Nocturnes", "the {} Variations", "the {} Overture")
_TOKEN = re.compile(r"\w+")


class _Names:
    """Draws pronounceable made-up names, never the same word twice in one sample.

    One instance serves both collections, so no name (entity, person, place) is shared between the training
    collection and the evaluation set. Regions, towns and filler persons come from a fixed pool per collection
    so that they recur across passages, as real place names do.
    """

    def __init__(self, rng: random.Random, reserved: set[str]) -> None:
        self._rng = rng
        self._used: set[str] = set(reserved)
        self._pools: dict[str, list[str]] = {}

    def word(self, syllables: int, suffix: str = "") -> str:
        for _ in range(1000):
            stem = "".join(
                self._rng.choice(_ONSETS) + self._rng.choice(_VOWELS) + self._rng.choice(_CODAS)
                for _ in range(syllables)
            )
            candidate = stem + suffix
            if candidate not in self._used and 4 <= len(candidate) <= 14:
                self._used.add(candidate)
                return candidate.capitalize()
        raise RuntimeError("the name space is exhausted")  # unreachable at the sizes generate_sample allows

    def stem(self) -> str:
        """A two-syllable stem reserved for one family of entities (suffixes are added by the caller)."""
        for _ in range(1000):
            stem = "".join(
                self._rng.choice(_ONSETS) + self._rng.choice(_VOWELS) + self._rng.choice(_CODAS) for _ in range(2)
            )
            if stem not in self._used:
                self._used.add(stem)
                return stem
        raise RuntimeError("the name space is exhausted")

    def claim(self, word: str) -> bool:
        """Reserve `word`; False when it is already taken."""
        if word.lower() in self._used:
            return False
        self._used.add(word.lower())
        return True

    def person(self) -> str:
        return f"{self.word(1, self._rng.choice(_FIRST_SUFFIXES))} {self.word(2)}"

    def fresh(self, kind: str) -> str:
        if kind == "person":
            return self.person()
        if kind == "region":
            return self._rng.choice(_REGION_FORMS).format(self.word(2))
        if kind == "town":
            return self.word(2, self._rng.choice(("by", "ton", "holm", "wick", "stad", "ford")))
        if kind == "yard":
            return f"the {self.word(2)} yard"
        if kind == "work":
            return self._rng.choice(_WORK_FORMS).format(self.word(2))
        raise ValueError(f"unknown name kind {kind!r}")

    def fill_pools(self, sizes: dict[str, int]) -> None:
        """Draw the recurring names of one collection; `sizes` maps a kind ("region", "town", "person") to a count."""
        self._pools = {kind: [self.fresh(kind) for _ in range(size)] for kind, size in sizes.items()}

    def pooled(self, kind: str) -> str:
        return self._rng.choice(self._pools[kind])

    def draw(self, kind: str) -> str:
        """A value for a relation: towns and regions recur, persons, yards and works are new every time."""
        return self.pooled(kind) if kind in ("region", "town") else self.fresh(kind)


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
        fillers = list(domain.fillers) + (list(_GENERIC_FILLERS) if name else [])
        target = self.rng.randint(_MIN_WORDS + 5, _MAX_WORDS - 8)
        context: list[str] = []
        for template in self.rng.sample(fillers, len(fillers)):
            if _words(core) + _words(context) >= target:
                break
            if "{o}" in template and not others:
                continue
            subject = name if name and (template in _GENERIC_FILLERS or self.rng.random() < _NAME_RATE) else generic
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
    for domain in TRAIN_DOMAINS + EVAL_DOMAINS:
        texts = list(domain.fillers) + list(domain.intros) + list(domain.nouns)
        for relation in domain.relations:
            texts += [*relation.facts, relation.brief, *relation.asks, *relation.paraphrases, *relation.decoys]
            texts += [*relation.explainers, *relation.reverse]
            if isinstance(relation.value, Choice):
                texts += relation.value.options
        words.update(token for text in texts for token in _TOKEN.findall(text.lower()))
    texts = list(_GENERIC_FILLERS) + list(_REGION_FORMS) + list(_WORK_FORMS)
    words.update(token for text in texts for token in _TOKEN.findall(text.lower()))
    return words


@dataclass
class Sample:
    """Both collections of one sample, in memory."""

    train: Collection
    evaluation: Collection


def _positive_int(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


def build_sample(
    *,
    seed: int = 13,
    train_passages: int = 6000,
    train_queries: int = 2400,
    dev_queries: int = 300,
    eval_documents: int = 3000,
    eval_queries: int = 300,
) -> Sample:
    """Generate both collections in memory; the same arguments always give the same sample."""
    _positive_int("seed", seed, 0)
    _positive_int("train_passages", train_passages, 100)
    _positive_int("train_queries", train_queries, 1)
    _positive_int("dev_queries", dev_queries, 1)
    _positive_int("eval_documents", eval_documents, 100)
    _positive_int("eval_queries", eval_queries, 1)
    names = _Names(random.Random(f"{seed}:names"), _reserved_words())
    train = _build_collection(
        TRAIN_DOMAINS,
        train_passages,
        {"train": train_queries, "dev": dev_queries},
        random.Random(f"{seed}:train"),
        names,
        titled=False,
        prefix="t",
        label="training collection",
    )
    evaluation = _build_collection(
        EVAL_DOMAINS,
        eval_documents,
        {"test": eval_queries},
        random.Random(f"{seed}:eval"),
        names,
        titled=True,
        prefix="e",
        label=EVAL_NAME,
    )
    return Sample(train=train, evaluation=evaluation)


def _write_collection(folder: Path, collection: Collection) -> None:
    """Write BEIR layout: corpus.jsonl, queries.jsonl and qrels/<split>.tsv."""
    folder.mkdir(parents=True)
    with (folder / "corpus.jsonl").open("w", encoding="utf-8") as handle:
        for document in collection.corpus:
            handle.write(json.dumps(document, ensure_ascii=False) + "\n")
    with (folder / "queries.jsonl").open("w", encoding="utf-8") as handle:
        for split_queries in collection.queries.values():
            for query in split_queries:
                handle.write(json.dumps(query, ensure_ascii=False) + "\n")
    (folder / "qrels").mkdir()
    for split, rows in collection.qrels.items():
        lines = [QRELS_HEADER] + [f"{query_id}\t{doc_id}\t{score}" for query_id, doc_id, score in rows]
        (folder / "qrels" / f"{split}.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")


def generate_sample(
    train_dir: Path,
    eval_root: Path,
    *,
    seed: int = 13,
    train_passages: int = 6000,
    train_queries: int = 2400,
    dev_queries: int = 300,
    eval_documents: int = 3000,
    eval_queries: int = 300,
) -> dict[str, int]:
    """Write the training collection to `train_dir` and the evaluation set to `eval_root`/sample-eval.

    Both folders are replaced atomically. Returns the number of passages, queries and qrels written.
    """
    train_dir, eval_dir = Path(train_dir), Path(eval_root) / EVAL_NAME
    if train_dir.resolve() == eval_dir.resolve():
        raise ConfigError(f"train_dir and the evaluation folder are the same path: {train_dir}")
    sample = build_sample(
        seed=seed,
        train_passages=train_passages,
        train_queries=train_queries,
        dev_queries=dev_queries,
        eval_documents=eval_documents,
        eval_queries=eval_queries,
    )
    with atomic_path(train_dir) as staging:
        _write_collection(staging, sample.train)
    with atomic_path(eval_dir) as staging:
        _write_collection(staging, sample.evaluation)
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
