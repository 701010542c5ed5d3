"""The built-in Coaching Feedback Instrument, kept as data in ``coaching_feedback.json``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

BUILTIN_FILE = Path(__file__).with_name("coaching_feedback.json")

# Numeric range of each answer format that has one.
SCALE_RANGES = {"agree5": (1.0, 5.0), "agree7": (1.0, 7.0), "scale0_10": (0.0, 10.0)}


@dataclass(frozen=True)
class Item:
    """One question of the instrument."""

    key: str
    text: str
    kind: str
    dimension: str | None
    reverse: bool
    required: bool
    scale_min: float | None
    scale_max: float | None
    max_length: int | None = None


@dataclass(frozen=True)
class Dimension:
    """A scale of several items, and the camp of the debate whose claim it tests."""

    key: str
    label: str
    camp: str
    about: str
    item_keys: tuple[str, ...]


@dataclass(frozen=True)
class Instrument:
    """The whole instrument: items in order, their dimensions and how they are paged."""

    id: str
    version: int
    title: str
    intro: str
    scale_labels: tuple[str, ...]
    prefer_not_to_say: str
    dimensions: tuple[Dimension, ...]
    items: tuple[Item, ...]
    pages: tuple[tuple[str, tuple[str, ...]], ...]

    @property
    def tag(self) -> str:
        """``id@version``, stored with each question copied from the instrument."""
        return f"{self.id}@{self.version}"

    def item(self, key: str) -> Item:
        """The item called ``key``."""
        for item in self.items:
            if item.key == key:
                return item
        raise KeyError(key)


@cache
def builtin() -> Instrument:
    """Load the built-in instrument (once per process)."""
    raw = json.loads(BUILTIN_FILE.read_text(encoding="utf-8"))
    scale = raw["scale"]
    items: list[Item] = []
    dimensions: list[Dimension] = []
    for dim in raw["dimensions"]:
        keys = []
        for entry in dim["items"]:
            items.append(Item(key=entry["key"], text=entry["text"], kind=scale["kind"], dimension=dim["key"],
                              reverse=bool(entry.get("reverse", False)), required=True,
                              scale_min=float(scale["min"]), scale_max=float(scale["max"])))
            keys.append(entry["key"])
        dimensions.append(Dimension(dim["key"], dim["label"], dim["camp"], dim["about"], tuple(keys)))
    for entry in raw["overall"]:
        low, high = SCALE_RANGES.get(entry["kind"], (None, None))
        items.append(Item(key=entry["key"], text=entry["text"], kind=entry["kind"], dimension=entry["dimension"],
                          reverse=False, required=entry["required"], scale_min=low, scale_max=high,
                          max_length=entry.get("max_length")))
    pages = tuple((page["title"], tuple(page["dimensions"])) for page in raw["pages"])
    return Instrument(id=raw["id"], version=raw["version"], title=raw["title"], intro=raw["intro"],
                      scale_labels=tuple(scale["labels"]), prefer_not_to_say=scale["prefer_not_to_say"],
                      dimensions=tuple(dimensions), items=tuple(items), pages=pages)


PREFER_NOT_TO_SAY = "na"  # the stored answer of "prefer not to say" on agreement items


def _answer_labels() -> dict[str, object]:
    """Answer labels by answer format: the instrument's five, a seven-point extension, "prefer not to say"."""
    five = builtin().scale_labels
    seven = (five[0], five[1], "Somewhat disagree", five[2], "Somewhat agree", five[3], five[4])
    return {"agree5": five, "agree7": seven, "prefer_not_to_say": builtin().prefer_not_to_say}


ANSWER_LABELS = _answer_labels()
