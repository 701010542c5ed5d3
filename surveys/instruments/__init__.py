"""The built-in Coaching Feedback Instrument, kept as data in ``coaching_feedback.json``, and its wording in
other languages, one file per language (``coaching_feedback.<language>.json``).

A translation is versioned with the instrument: it names the instrument's id and version and the SHA-256 of
the English wording it was written from (:func:`english_wording`), so a change to an English item leaves
the translation stale, and ``tests/test_instrument_translations.py`` fails until it is translated again.
Only wording is translated: keys, answer values and scoring are the English instrument's.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

BUILTIN_FILE = Path(__file__).with_name("coaching_feedback.json")
SEVEN_POINT_EXTRAS = ("Somewhat disagree", "Somewhat agree")
SCALE0_10_ENDS = ("0 = not at all likely", "10 = extremely likely")
EXTRA_PAGE_TITLE = "A few more questions"

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





def english_wording() -> dict[str, str]:
    """Every string of the instrument a rep reads, by a stable key: what a translation translates."""
    instrument = builtin()
    wording = {"intro": instrument.intro}
    wording |= {f"scale.{i + 1}": label for i, label in enumerate(instrument.scale_labels)}
    wording |= {"scale.prefer_not_to_say": instrument.prefer_not_to_say,
                "scale7.somewhat_disagree": SEVEN_POINT_EXTRAS[0], "scale7.somewhat_agree": SEVEN_POINT_EXTRAS[1],
                "scale0_10.low": SCALE0_10_ENDS[0], "scale0_10.high": SCALE0_10_ENDS[1]}
    wording |= {f"page.{i + 1}": title for i, (title, _) in enumerate(instrument.pages)}
    wording["page.extra"] = EXTRA_PAGE_TITLE
    wording |= {f"item.{item.key}": item.text for item in instrument.items}
    return wording


def wording_digest(wording: dict[str, str]) -> str:
    """The SHA-256 of ``wording`` as canonical JSON: what a translation records of the English it translates."""
    canonical = json.dumps(wording, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Wording:
    """The instrument's wording in one language; ``text(key)`` falls back to English for a key it lacks."""

    language: str
    strings: dict

    def text(self, key: str) -> str:
        return self.strings.get(key) or english_wording()[key]

    def answer_labels(self, kind: str) -> tuple[str, ...]:
        five = tuple(self.text(f"scale.{i}") for i in range(1, 6))
        if kind == "agree7":
            return (five[0], five[1], self.text("scale7.somewhat_disagree"), five[2],
                    self.text("scale7.somewhat_agree"), five[3], five[4])
        return five

    def page_title(self, english_title: str) -> str:
        """A page's title in this language, from its English title (a study's own page included)."""
        if english_title == EXTRA_PAGE_TITLE:
            return self.text("page.extra")
        for i, (title, _) in enumerate(builtin().pages):
            if title == english_title:
                return self.text(f"page.{i + 1}")
        return english_title


def translation_file(language: str) -> Path:
    return BUILTIN_FILE.with_name(f"coaching_feedback.{language}.json")


@cache
def wording(language: str) -> Wording:
    """The instrument's wording in ``language`` (English for English or a language without a file).

    A file written for another version of the instrument, or from other English, is not used: the
    rep would read questions that are not the ones scored. The test suite keeps every file current.
    """
    path = translation_file(language)
    if language == "en" or not path.exists():
        return Wording("en", english_wording())
    raw = json.loads(path.read_text(encoding="utf-8"))
    instrument = builtin()
    if (raw.get("instrument"), raw.get("version"), raw.get("source_sha256")) != (
            instrument.id, instrument.version, wording_digest(english_wording())):
        return Wording("en", english_wording())
    return Wording(language, dict(raw["strings"]))
