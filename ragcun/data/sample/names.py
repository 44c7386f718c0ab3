"""Pronounceable made-up names for the sample's entities, persons and places."""

from __future__ import annotations

import random
import re

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


class Names:
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

