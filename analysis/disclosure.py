"""Which numbers may be shown: one suppression pattern over the whole cube of views, audited exactly.

A report can be filtered by region and by team-size band. Each *view* is a choice of both
(``None`` = all). A *cell* is one coaching model in one view for one outcome; it rests on the
responses of that model in that view that answered the outcome, and it shows their n, mean and
sd (so their sum and sum of squares follow).

:func:`decide` takes the responses of one wave (one row each) and decides every cell of every
view at once, so that no linear combination of shown cells — a total minus its parts, across
filter families, against the export — reveals a small group (``analysis.suppression`` says how
the audit works). The atoms are the finest groups any view or the export tells apart: model ×
region × band (× team, when the export is part of the cube). Cells of different models never
share an atom, so each model is decided on its own; so is each wave (call it per wave).

A cell is shown only when all of these hold, for the cell itself and for every set of responses
that shown cells isolate (their indicator lies in the span of the shown cells):

1. **counts** — it does not hold 1 to k − 1 responses that answered the outcome;
2. **the export** (``export=True``; ``team`` names the team column): the response-level export
   is part of the cube. A team it names for a model is a cell, and so is each model's whole set
   of rows (always shown, since the rows are); no combination of those and the report's cells
   may isolate 1 to k − 1 responses, counted as rows — else pooled rows could be matched to a
   team (security review F5). A (team, model) with fewer than k responses is pooled, so under
   rep-level randomisation team × model never singles out fewer than k (F4); a model with fewer
   than k responses in the wave is not exported at all;
3. **answer categories** of a rating item (``scales``; security review F17): the answers are
   collapsed to three categories — below the scale's midpoint, the midpoint, above it (1–2, 3,
   4–5 on a five-point scale; 0–4, 5, 6–10 on 0–10) — and no cell or isolated set may hold 1 to
   k − 1 responses in a category, nor have all its responses in one category. Means and sds of
   a small rating cell pin its answers down, so the rule covers the cell, not only its shares;
4. **one value** (other outcomes): no cell or isolated set of k or more responses has a single
   value (an sd of 0 would tell each member's score);
5. **reliability** (``complete``: a column per scale flagging responses that answered every
   item): Cronbach's α of a model in a view rests on its complete responses, which must pass
   rule 1 as a cell of its own (it is shown only where the scale's own cell is).

The pattern is greedy (the smallest cell of a disclosing combination is hidden first), not
minimal; the exact audit is what guarantees it, and :meth:`Disclosure.audit` runs it again.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .suppression import Isolation, System, audit_pattern, suppress


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


CATEGORIES = ("below", "middle", "above")


def answer_category(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """The collapsed category of each answer on a ``low``..``high`` scale: below, at or above its midpoint."""
    middle = (low + high) / 2
    return np.where(values < middle, CATEGORIES[0], np.where(values > middle, CATEGORIES[2], CATEGORIES[1]))


@dataclass
class Disclosure:
    """The decision for every cell, with the counts it rests on and the cube it was audited over.

    ``shown[(view, model, outcome)]`` and ``counts[…]`` are the report's cells;
    ``teams[(model, team)]`` says whether the export may name a team for a model (else its rows
    are pooled) and ``exported[model]`` whether the model's rows may be exported at all;
    ``alpha[(view, model, scale)]`` whether Cronbach's α may be shown, ``alpha_counts`` its n.
    """

    k: int
    views: list[View]
    counts: dict[tuple[View, str, str], int] = field(default_factory=dict)
    shown: dict[tuple[View, str, str], bool] = field(default_factory=dict)
    teams: dict[tuple[str, Hashable], bool] = field(default_factory=dict)
    exported: dict[str, bool] = field(default_factory=dict)
    alpha: dict[tuple[View, str, str], bool] = field(default_factory=dict)
    alpha_counts: dict[tuple[View, str, str], int] = field(default_factory=dict)
    cells: dict = field(default_factory=dict, repr=False)
    systems: list[System] = field(default_factory=list, repr=False)
    hidden: frozenset = frozenset()

    def is_shown(self, view: View, model: str, outcome: str) -> bool:
        return self.shown.get((view, model, outcome), False)

    def n(self, view: View, model: str, outcome: str) -> int:
        return self.counts.get((view, model, outcome), 0)

    def shown_models(self, view: View, outcome: str, models: Iterable[str]) -> list[str]:
        return [m for m in models if self.is_shown(view, m, outcome)]

    def team_shown(self, model: str, team: Hashable) -> bool:
        return self.teams.get((model, team), False)

    def alpha_shown(self, view: View, model: str, scale: str) -> bool:
        return self.alpha.get((view, model, scale), False)

    def audit(self, method: str = "auto") -> tuple[Hashable, Isolation] | None:
        """Audit the shown cells again, exactly: the first system that some combination defeats, or None."""
        return audit_pattern(self.cells, self.systems, self.hidden, method=method)


def _cost(key) -> tuple:
    """Among equally small cells, hide the most specific first (a region × band before a region)."""
    depth = key[0].depth if isinstance(key[0], View) else 3 if key[0] == "team" else 0
    return (-depth, repr(key))


def decide(data: pd.DataFrame, dvs: Sequence[str], k: int, between: str = "coaching_model",
           region: str = "region", band: str = "band", regions: Sequence[str] | None = None,
           bands: Sequence[str] | None = None, *, team: str | None = None, export: bool = False,
           scales: Mapping[str, tuple[float, float]] | None = None,
           complete: Mapping[str, str] | None = None, homogeneity: bool = True) -> Disclosure:
    """Decide every cell of ``data`` (one row per response of one wave; NaN where an outcome was not answered).

    Parameters
    ----------
    data : DataFrame
        One row per response, with the ``between``, ``region`` and ``band`` columns (and ``team``).
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
    team : str, optional
        The team column; needed for ``export``.
    export : bool
        Make the response-level export, with its team labels, part of the cube (rule 2).
    scales : mapping outcome -> (min, max), optional
        The rating items among ``dvs`` and their scales: rule 3 instead of rule 4.
    complete : mapping scale -> column, optional
        For Cronbach's α: a column per scale, true where the response answered all its items.
    homogeneity : bool
        Apply rules 3 and 4 (on by default).

    Returns
    -------
    Disclosure
    """
    if k < 1:
        raise ValueError("k: must be at least 1")
    if export and team is None:
        raise ValueError("export: needs the team column")
    scales = dict(scales or {})
    complete = dict(complete or {})
    regions = list(regions) if regions is not None else sorted(data[region].dropna().astype(str).unique())
    bands = list(bands) if bands is not None else sorted(data[band].dropna().astype(str).unique())
    views = all_views(regions, bands)
    result = Disclosure(k=k, views=views)
    dvs = list(dict.fromkeys(dvs))
    if data.empty:
        return result

    fine_columns = [between, region, band] + ([team] if team is not None else [])
    # Categorical columns group fastest as they are; anything else is compared as text.
    labels = pd.DataFrame({column: data[column] if isinstance(data[column].dtype, pd.CategoricalDtype)
                           else data[column].astype(str) for column in (between, region, band)})
    if team is not None:
        labels[team] = data[team].to_numpy()
    fine_codes, fine_atoms = _atoms(labels, fine_columns)
    coarse_codes, coarse_atoms = _atoms(labels, [between, region, band])
    # Report cells never split a (model, region, band) group, so the systems they alone enter use
    # those coarse atoms (a few dozen); only the export's team cells need the fine ones.
    coarse_of_fine = pd.Series(coarse_codes).groupby(fine_codes).first().to_numpy()
    models = sorted(coarse_atoms[between].unique())

    coarse_cells: dict[tuple[View, str], frozenset] = {}
    fine_cells: dict[tuple[View, str], frozenset] = {}
    for model in models:
        for view in views:
            mask = (coarse_atoms[between] == model).to_numpy() & np.array(
                [view.contains(r, b) for r, b in zip(coarse_atoms[region], coarse_atoms[band], strict=True)])
            members = frozenset(np.flatnonzero(mask).tolist())
            if members:
                coarse_cells[(view, model)] = members
                fine_cells[(view, model)] = frozenset(np.flatnonzero(np.isin(coarse_of_fine, list(members))).tolist())

    answered = data[dvs].notna() if dvs else pd.DataFrame(index=data.index)
    n_coarse = answered.groupby(coarse_codes).sum().astype(int)
    cells: dict = {}
    hidden: set = set()
    systems: list[System] = []

    def weights_of(series: pd.Series) -> dict[int, int]:
        return {int(a): int(w) for a, w in series.items() if w > 0}

    # The export: a cell per (model, team) and per model (forced: its rows are all there).
    forced: set = set()
    rows = pd.Series(1, index=data.index).groupby(fine_codes).sum().astype(int)
    if export:
        model_rows = rows.groupby(fine_atoms[between].to_numpy()).sum()
        for model in models:
            result.exported[model] = int(model_rows.get(model, 0)) >= k
        teams_of: dict[tuple, list[int]] = {}
        for atom, key in enumerate(zip(fine_atoms[between].tolist(), fine_atoms[team].tolist(), strict=True)):
            teams_of.setdefault(key, []).append(atom)
        for (model, team_id), members in sorted(teams_of.items(), key=lambda item: repr(item[0])):
            if result.exported[model]:
                cells[("team", model, team_id)] = frozenset(members)
        for model in models:
            if result.exported[model]:
                cells[("model", model)] = frozenset(np.flatnonzero((fine_atoms[between] == model).to_numpy()).tolist())
                forced.add(("model", model))
        export_keys = tuple(key for key in cells if key[0] in ("team", "model"))
        systems.append(System("export rows", weights_of(rows), export_keys, 1, k - 1))
    else:
        export_keys = ()

    for dv in dvs:
        for (view, model), members in coarse_cells.items():
            cells[(view, model, dv)] = members
    if export:
        hidden = set(suppress(cells, systems, forced).hidden)  # teams with fewer than k responses are pooled
    # Rules 1 and 2. Outcomes answered by the same responses share one decision.
    n_fine = answered.groupby(fine_codes).sum().astype(int)
    groups: dict[bytes, list[str]] = {}
    for dv in dvs:
        groups.setdefault(n_coarse[dv].to_numpy().tobytes() + (n_fine[dv].to_numpy() > 0).tobytes(), []).append(dv)
    for members in groups.values():
        lead = members[0]
        keys = tuple((view, model, lead) for view, model in coarse_cells)
        counts_system = System(("responses", lead), weights_of(n_coarse[lead]), keys, 1, k - 1, pairwise=True)
        hidden = set(suppress(cells, [counts_system], forced, hidden, cost=_cost).hidden)
        systems.append(counts_system)
        if export:
            # The report's cells again, in fine atoms, beside the export's: counted as rows (rule 2).
            # A cell of an outcome leaves out the atoms where nobody answered it: the rows there
            # carry nothing of it, so a difference with the export could tell them apart.
            fine_keys = []
            answering = set(np.flatnonzero(n_fine[lead].to_numpy() > 0).tolist())
            for (view, model), atoms in fine_cells.items():
                cells[("fine", view, model, lead)] = frozenset(a for a in atoms if a in answering)
                fine_keys.append(("fine", view, model, lead))
                if (view, model, lead) in hidden:
                    hidden.add(("fine", view, model, lead))
            linked = System(("export", lead), weights_of(rows), tuple(fine_keys) + export_keys, 1, k - 1)
            hidden = set(suppress(cells, [linked], forced, hidden, cost=_cost).hidden)
            hidden |= {(v, m, lead) for v, m in fine_cells if ("fine", v, m, lead) in hidden}
            systems.append(linked)
        for dv in members[1:]:
            hidden |= {(v, m, dv) for v, m in coarse_cells if (v, m, lead) in hidden}
            systems.append(System(("responses", dv), weights_of(n_coarse[dv]),
                                  tuple((view, model, dv) for view, model in coarse_cells), 1, k - 1, pairwise=True))

    # Rules 3 and 4, per outcome, on the coarse atoms.
    for dv in dvs:
        if not homogeneity:
            break
        keys = tuple((view, model, dv) for view, model in coarse_cells)
        n_weights = weights_of(n_coarse[dv])
        outcome_systems = []
        values = pd.to_numeric(data[dv], errors="coerce")
        present = values.notna().to_numpy()
        if dv in scales:
            low, high = scales[dv]
            category = pd.Series(answer_category(values.to_numpy(), low, high), index=data.index)
            for name in CATEGORIES:
                in_category = (category == name) & values.notna()
                counts = in_category.groupby(coarse_codes).sum().astype(int)
                weights = {a: int(counts.get(a, 0)) for a in n_weights}
                outcome_systems.append(System(("category", dv, name), weights, keys, 1, k - 1))
                whole = frozenset(a for a in n_weights if weights[a] == n_weights[a])
                if sum(n_weights[a] for a in whole) >= k:
                    outcome_systems.append(System(("one category", dv, name), n_weights, keys, k, None, whole))
        else:
            spread = values[present].groupby(coarse_codes[present]).agg(["min", "max"])
            single = spread[spread["min"] == spread["max"]]
            for value, atoms in single.groupby("min").groups.items():
                whole = frozenset(int(a) for a in atoms)
                if sum(n_weights.get(a, 0) for a in whole) >= k:
                    outcome_systems.append(System(("one value", dv, float(value)), n_weights, keys, k, None, whole))
        if outcome_systems:
            hidden = set(suppress(cells, outcome_systems, forced, hidden, cost=_cost).hidden)
            systems.extend(outcome_systems)

    # Rule 5: α of a scale per model and view, on its complete responses.
    for scale, column in complete.items():
        if scale not in dvs:
            continue
        flags = pd.to_numeric(data[column], errors="coerce").fillna(0) > 0
        counts = flags.groupby(coarse_codes).sum().astype(int)
        keys = tuple(("alpha", view, model, scale) for view, model in coarse_cells)
        for (view, model), members in coarse_cells.items():
            cells[("alpha", view, model, scale)] = members
            if (view, model, scale) in hidden:
                hidden.add(("alpha", view, model, scale))
        alpha_system = System(("alpha", scale), weights_of(counts), keys, 1, k - 1)
        hidden = set(suppress(cells, [alpha_system], forced, hidden, cost=_cost).hidden)
        systems.append(alpha_system)
        for (view, model), members in coarse_cells.items():
            result.alpha[(view, model, scale)] = ("alpha", view, model, scale) not in hidden
            result.alpha_counts[(view, model, scale)] = int(counts.to_numpy()[list(members)].sum())

    answers = {dv: n_coarse[dv].to_numpy() for dv in dvs}
    for dv in dvs:
        for view in views:
            for model in models:
                members = coarse_cells.get((view, model), frozenset())
                result.counts[(view, model, dv)] = int(answers[dv][list(members)].sum()) if members else 0
                result.shown[(view, model, dv)] = result.counts[(view, model, dv)] > 0 and (
                    view, model, dv) not in hidden
    # The report's cells in fine atoms stand for the same numbers: hidden with them.
    hidden |= {("fine", *key) for key in list(hidden) if isinstance(key[0], View) and ("fine", *key) in cells}
    for key in export_keys:
        if key[0] == "team":
            result.teams[(key[1], key[2])] = key not in hidden
    result.cells, result.systems, result.hidden = cells, systems, frozenset(hidden)
    return result


def _atoms(labels: pd.DataFrame, columns: list[str]) -> tuple[np.ndarray, pd.DataFrame]:
    """Each row's atom (an integer code) and the table of atoms, one row per code."""
    grouped = labels.groupby(columns, sort=True, observed=True, dropna=False)
    codes = grouped.ngroup().to_numpy()
    table = grouped.size().reset_index()[columns]
    return codes, table
