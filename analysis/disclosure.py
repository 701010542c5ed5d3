"""Which numbers may be shown: the anonymity threshold k with complementary suppression.

A report can be filtered by region and by team-size band. Each *view* is a choice of both
(``None`` = all). A *cell* is one coaching model in one view for one outcome; it rests on the
responses of that model in that view that answered the outcome.

A cell is shown only when

1. it rests on at least k responses;
2. compared with every cell already shown (views are decided from the coarsest to the finest),
   neither side has between 1 and k − 1 responses that the other lacks — so no two shown
   numbers can be subtracted to reveal fewer than k people; and
3. wherever a shown cell is split by a filter (all regions → North, South, …), the children
   that stay hidden together hold 0 or at least k responses — otherwise the parent minus the
   shown siblings would reveal them; the smallest shown sibling is hidden until that holds.

Counts for any view come from one table of counts per (region, band), so the rules cost
nothing beyond a group-by, whatever the number of respondents.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import pandas as pd


@dataclass(frozen=True, order=True)
class View:
    """A filter choice: a region and a team-size band, each ``None`` for all."""

    region: str | None = None
    band: str | None = None

    @property
    def depth(self) -> int:
        return (self.region is not None) + (self.band is not None)

    def contains(self, region: str, band: str) -> bool:
        return (self.region is None or self.region == region) and (self.band is None or self.band == band)

    def intersect(self, other: View) -> View | None:
        """The view both select, or None when they exclude each other."""
        if self.region is not None and other.region is not None and self.region != other.region:
            return None
        if self.band is not None and other.band is not None and self.band != other.band:
            return None
        return View(self.region if self.region is not None else other.region,
                    self.band if self.band is not None else other.band)

    def label(self) -> str:
        parts = [self.region or "all regions", self.band or "all team sizes"]
        return ", ".join(parts)


def all_views(regions: Sequence[str], bands: Sequence[str]) -> list[View]:
    """Every view, coarsest first (all; each region; each band; each region × band)."""
    views = [View()]
    views += [View(region=r) for r in regions]
    views += [View(band=b) for b in bands]
    views += [View(r, b) for r in regions for b in bands]
    return views


@dataclass
class Disclosure:
    """The decision for every (view, model, outcome) cell, with the counts it rests on."""

    k: int
    views: list[View]
    counts: dict[tuple[View, str, str], int] = field(default_factory=dict)
    shown: dict[tuple[View, str, str], bool] = field(default_factory=dict)

    def is_shown(self, view: View, model: str, outcome: str) -> bool:
        return self.shown.get((view, model, outcome), False)

    def n(self, view: View, model: str, outcome: str) -> int:
        return self.counts.get((view, model, outcome), 0)

    def shown_models(self, view: View, outcome: str, models: Iterable[str]) -> list[str]:
        return [m for m in models if self.is_shown(view, m, outcome)]


def decide(data: pd.DataFrame, dvs: Sequence[str], k: int, between: str = "coaching_model",
           region: str = "region", band: str = "band", regions: Sequence[str] | None = None,
           bands: Sequence[str] | None = None) -> Disclosure:
    """Decide every cell of ``data`` (one row per response; NaN where an outcome was not answered).

    Parameters
    ----------
    data : DataFrame
        One row per response, with the ``between``, ``region`` and ``band`` columns.
    dvs : sequence of str
        The outcome columns; a response counts towards an outcome's cells where it answered it.
    k : int
        The anonymity threshold.
    between : str
        The coaching-model column: its values are the models of the cells.
    region, band : str
        The filter columns.
    regions, bands : sequence of str, optional
        Every region and band a view can select (default: those in ``data``, sorted).

    Returns
    -------
    Disclosure
    """
    if k < 1:
        raise ValueError("k: must be at least 1")
    regions = list(regions) if regions is not None else sorted(data[region].dropna().astype(str).unique())
    bands = list(bands) if bands is not None else sorted(data[band].dropna().astype(str).unique())
    views = all_views(regions, bands)
    result = Disclosure(k=k, views=views)
    rows = data[[between, region, band]].astype(str)
    for dv in dvs:
        answered = data[dv].notna()
        table = rows[answered].groupby([between, region, band]).size()
        for name in sorted(rows[between].unique()):
            cells = {(r, b): int(n) for (m, r, b), n in table.items() if m == name}

            def n_of(view: View | None, cells=cells) -> int:
                if view is None:
                    return 0
                return sum(n for (r, b), n in cells.items() if view.contains(r, b))

            counts = {view: n_of(view) for view in views}
            shown = _greedy(views, counts, n_of, k)
            _suppress_complements(views, counts, shown, regions, bands, k)
            for view in views:
                result.counts[(view, name, dv)] = counts[view]
                result.shown[(view, name, dv)] = shown[view]
    return result


def _greedy(views: list[View], counts: dict[View, int], n_of, k: int) -> dict[View, bool]:
    """Rules 1 and 2: show a view's cell unless it is small or differs from a shown one by 1..k−1."""
    shown: dict[View, bool] = {}
    accepted: list[View] = []
    for view in views:
        ok = counts[view] >= k
        for other in accepted if ok else ():
            common = n_of(view.intersect(other))
            if 0 < counts[view] - common < k or 0 < counts[other] - common < k:
                ok = False
                break
        shown[view] = ok
        if ok:
            accepted.append(view)
    return shown


def _suppress_complements(views, counts, shown, regions, bands, k) -> None:
    """Rule 3, to a fixed point: hidden children of a shown parent hold 0 or ≥ k responses together."""
    changed = True
    while changed:
        changed = False
        for parent in views:
            if not shown[parent]:
                continue
            families = []
            if parent.region is None:
                families.append([View(r, parent.band) for r in regions])
            if parent.band is None:
                families.append([View(parent.region, b) for b in bands])
            for children in families:
                hidden = sum(counts[c] for c in children if not shown[c])
                while 0 < hidden < k:
                    visible = [c for c in children if shown[c]]
                    if not visible:
                        break
                    smallest = min(visible, key=lambda c: (counts[c], views.index(c)))
                    shown[smallest] = False
                    hidden += counts[smallest]
                    changed = True
