"""The built-in Coaching Feedback Instrument is well-formed data."""

from collections import Counter

from surveys.instruments import builtin

RESPONSIBILITIES = {"coaching", "mentoring", "motivating", "accountability", "onboarding"}
COUNTER_CLAIMS = {"candour", "expertise", "availability"}


def test_instrument_has_an_id_a_version_and_unique_item_keys():
    instrument = builtin()
    assert instrument.id == "cfi" and instrument.version >= 1
    assert instrument.tag == f"cfi@{instrument.version}"
    keys = [item.key for item in instrument.items]
    assert len(keys) == len(set(keys))
    assert len({item.text for item in instrument.items}) == len(keys)


def test_every_dimension_of_the_debate_has_three_or_four_items_mostly_with_a_reverse_key():
    instrument = builtin()
    dimensions = {d.key: d for d in instrument.dimensions}
    assert set(dimensions) == RESPONSIBILITIES | COUNTER_CLAIMS
    for dimension in dimensions.values():
        assert 3 <= len(dimension.item_keys) <= 4, dimension.key
    with_reverse = [d for d in dimensions.values() if any(instrument.item(k).reverse for k in d.item_keys)]
    assert len(with_reverse) > len(dimensions) / 2


def test_items_are_worded_for_my_coach_on_a_five_point_agreement_scale():
    instrument = builtin()
    scale_items = [i for i in instrument.items if i.dimension in RESPONSIBILITIES | COUNTER_CLAIMS]
    assert all(i.kind == "agree5" and (i.scale_min, i.scale_max) == (1, 5) for i in scale_items)
    assert all("coach" in i.text.lower() for i in scale_items)
    assert len(instrument.scale_labels) == 5 and instrument.prefer_not_to_say


def test_overall_items_satisfaction_recommend_and_an_optional_comment():
    instrument = builtin()
    assert instrument.item("satisfaction").kind == "agree5"
    recommend = instrument.item("recommend")
    assert (recommend.kind, recommend.scale_min, recommend.scale_max) == ("scale0_10", 0, 10)
    comment = instrument.item("comment")
    assert comment.kind == "text" and not comment.required and comment.max_length == 2000
    assert 28 <= len(instrument.items) <= 34


def test_pages_cover_every_dimension_once():
    instrument = builtin()
    paged = Counter(d for _, dims in instrument.pages for d in dims)
    wanted = {i.dimension or i.key for i in instrument.items}
    assert set(paged) == wanted and set(paged.values()) == {1}
