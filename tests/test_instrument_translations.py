"""The built-in instrument in Spanish, German, French and Arabic, versioned with it (issue 18).

Each translation names the instrument's id and version and the SHA-256 of the English wording it was
written from; it is used only while all three match, so an edited English item cannot be shown in an old
translation. The review of each translation against the English is ``surveys/instruments/TRANSLATION_REVIEW.md``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from surveys import instruments
from surveys.instruments import builtin, english_wording, translation_file, wording, wording_digest

ROOT = Path(__file__).resolve().parent.parent
LANGUAGES = ["es", "de", "fr", "ar"]


def _raw(language: str) -> dict:
    return json.loads(translation_file(language).read_text(encoding="utf-8"))


def test_the_english_wording_is_every_string_a_rep_reads_of_the_instrument():
    english = english_wording()
    source = json.loads((ROOT / "surveys" / "instruments" / "coaching_feedback.json").read_text(encoding="utf-8"))
    items = [i["text"] for d in source["dimensions"] for i in d["items"]] + [i["text"] for i in source["overall"]]
    assert sorted(v for k, v in english.items() if k.startswith("item.")) == sorted(items)
    assert english["intro"] == source["intro"] and english["scale.3"] == source["scale"]["labels"][2]
    assert [english[f"page.{i}"] for i in range(1, 5)] == [p["title"] for p in source["pages"]]
    # The digest is of the canonical JSON, computed here independently of the module.
    canonical = json.dumps(english, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    assert wording_digest(english) == hashlib.sha256(canonical).hexdigest()


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_translation_is_of_this_version_of_the_instrument_and_complete(language):
    raw = _raw(language)
    assert (raw["instrument"], raw["version"], raw["language"]) == (builtin().id, builtin().version, language)
    assert raw["source_sha256"] == wording_digest(english_wording())
    assert set(raw["strings"]) == set(english_wording())
    for key, text in raw["strings"].items():
        assert text.strip(), key
        assert text != english_wording()[key] or key.startswith("scale0_10"), f"{language} {key} is English"
    assert raw["strings"]["scale0_10.low"].startswith("0") and raw["strings"]["scale0_10.high"].startswith("10")
    assert wording(language).language == language  # used, not fallen back to English


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_translation_was_reviewed_against_the_english(language):
    review = (ROOT / "surveys" / "instruments" / "TRANSLATION_REVIEW.md").read_text(encoding="utf-8")
    assert wording_digest(english_wording())[:12] in review
    names = {"es": "Spanish", "de": "German", "fr": "French", "ar": "Arabic"}
    assert names[language] in review


def test_a_translation_of_other_english_is_not_used(tmp_path, monkeypatch):
    """Edit one English item: every translation is stale, and reps read the English until it is translated."""
    stale = dict(english_wording(), **{"item.coaching_1": "My coach gives me feedback."})
    monkeypatch.setattr(instruments, "english_wording", lambda: stale)
    wording.cache_clear()
    try:
        for language in LANGUAGES:
            shown = wording(language)
            assert shown.language == "en" and shown.text("item.coaching_1") == "My coach gives me feedback."
    finally:
        monkeypatch.undo()
        wording.cache_clear()
    assert wording("es").language == "es"


def test_a_translation_of_another_version_is_not_used(tmp_path, monkeypatch):
    raw = _raw("es") | {"version": builtin().version + 1}
    path = tmp_path / "coaching_feedback.es.json"
    path.write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")
    monkeypatch.setattr(instruments, "translation_file", lambda language: path)
    wording.cache_clear()
    try:
        assert wording("es").language == "en"
    finally:
        monkeypatch.undo()
        wording.cache_clear()


def test_answer_labels_keep_the_order_of_the_english_scale():
    for language in LANGUAGES:
        shown = wording(language)
        five, seven = shown.answer_labels("agree5"), shown.answer_labels("agree7")
        assert len(five) == 5 and len(set(five)) == 5
        assert (seven[0], seven[1], seven[3], seven[5], seven[6]) == five and len(set(seven)) == 7
