"""What part of a study's report the reader asked for: the wave, a region, a team-size band.

The band and region of a row are what the filters select on: in the survey frame those frozen on
each response when it was submitted, in the rep frames (CRM, sessions) the team's of today. The
bands are defined in ``surveys.teams``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from analysis.disclosure import View

from ..teams import BANDS, NO_REGION, band_of

__all__ = ["BANDS", "NO_REGION", "band_of", "Filters", "parse_filters", "team_bands", "in_view", "rep_view"]


@dataclass(frozen=True)
class Filters:
    """What the reader asked to see."""

    wave: str | None = None
    region: str | None = None
    band: str | None = None

    @property
    def view(self) -> View:
        return View(self.region, self.band)

    @property
    def filtered(self) -> bool:
        return self.region is not None or self.band is not None


def parse_filters(args: Mapping) -> tuple[Filters, list[str]]:
    """Read ``wave``, ``region`` and ``band`` from a query string; anything odd becomes a message."""
    messages, values = [], {}
    for name in ("wave", "region", "band"):
        given = args.getlist(name) if hasattr(args, "getlist") else ([args[name]] if name in args else [])
        given = [g for g in given if g is not None and str(g).strip() != ""]
        if len(given) > 1:
            messages.append(f"Only one {name} can be chosen; showing all instead.")
            continue
        if given:
            text = str(given[0]).strip()
            if len(text) > 120:
                messages.append(f"The {name} filter is too long; it was ignored.")
                continue
            values[name] = text
    return Filters(**values), messages


def team_bands(sizes: dict[int, int]) -> dict[int, str]:
    """The band of every team, from its number of active reps."""
    return {team: band_of(size) for team, size in sizes.items()}


def in_view(frame: pd.DataFrame, filters: Filters) -> pd.DataFrame:
    """The rows of ``frame`` in the region and band the reader chose."""
    selected = frame
    if filters.region is not None:
        selected = selected[selected["region"] == filters.region]
    if filters.band is not None:
        selected = selected[selected["band"] == filters.band]
    return selected


def rep_view(frame: pd.DataFrame, filters: Filters, sizes: dict[int, int]) -> pd.DataFrame:
    """A frame of one row per rep, labelled with band and region, restricted to the view."""
    # A frame of frozen study members brings each rep's band; otherwise it is the team's today.
    band = frame["band"] if "band" in frame else frame["team"].map(team_bands(sizes)).fillna(band_of(0))
    frame = frame.assign(band=band, region=frame["region"].fillna(NO_REGION))
    frame["coaching_model"] = frame["coaching_model"].astype("category")
    return in_view(frame, filters)
