"""Run the comparison on a consultant's own CSV or XLSX file: reading, JSON and a readable text report.

Used by ``flask --app app analyze`` and by ``python -m analysis`` (no server needed).
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import re
import zipfile
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from ._result import json_safe
from ._validate import group_labels, merge_label_spellings, numeric_column
from .comparison import Analysis, OutcomeComparison, compare_models
from .costs import cost_effectiveness, cost_per_rep, parse_costs
from .planning import sample_ratio_check
from .verdict import DesignFacts, format_p, model_name
from .worth import MIN_PRIOR_SCALE, QUOTA_OUTCOMES, outcome_worth, worth_json

METHOD_NAMES = {"welch": "Welch ANOVA", "anova": "one-way ANOVA", "kruskal": "Kruskal–Wallis",
                "ancova": "ANCOVA (adjusted for baseline)", "mixed_model": "mixed model (teams as random effect)",
                "team_means": "Welch ANOVA on team means", "randomisation": "randomisation test on team means"}
POSTHOC_FOR = {"welch": "Games–Howell", "anova": "Tukey HSD", "kruskal": "Dunn (Holm)",
               "ancova": "model contrasts (Holm)", "mixed_model": "model contrasts (Holm)",
               "team_means": "Games–Howell on team means",
               "randomisation": "re-randomising each pair's teams, Holm; t intervals on team means"}


def _sniff(path: Path, decimal: str | None) -> tuple[str, str]:
    """(separator, decimal mark) of a CSV from its first 64 kB: the separator most common on the header
    line (comma, semicolon or tab); a decimal comma when the file is not comma-separated and numbers
    such as ``3,92`` occur. ``decimal`` given wins (statistics review F8e)."""
    with open(path, encoding="utf-8-sig", errors="replace") as handle:
        head = handle.read(65536)
    first = head.splitlines()[0] if head else ""
    sep = max((";", "\t", ","), key=lambda mark: (first.count(mark), mark == ","))
    if first.count(sep) == 0:
        sep = ","
    if decimal is None:
        decimal = "," if sep != "," and re.search(r"(?<![\w.,])-?\d+,\d+(?![\w.,])", head) else "."
    return sep, decimal


def read_data_file(path: str | Path, decimal: str | None = None) -> pd.DataFrame:
    """Read a consultant's data file, CSV (UTF-8, comma, semicolon or tab separated) or XLSX, for the analysis.

    Columns get the types pandas infers (numbers are numbers); ``decimal`` is the decimal mark ("." or
    ","; default: sniffed, a comma only in files not separated by commas). ``ValueError`` says what is wrong.
    Not to be confused with ``surveys.tabular.read_table``, which reads uploads into the database:
    bytes from a browser, size and zip checks, every cell kept as text.
    """
    path = Path(path)
    if decimal not in (None, ".", ","):
        raise ValueError(f"--decimal: expected '.' or ',', not {decimal!r}")
    suffix = path.suffix.lower()
    if path.stat().st_size == 0:
        raise ValueError(f"{path.name}: the file is empty")
    try:
        if suffix == ".xlsx" or zipfile.is_zipfile(path):
            frame = pd.read_excel(path, engine="openpyxl")
        else:
            sep, mark = _sniff(path, decimal)
            if sep == mark:
                raise ValueError(f"{path.name}: the decimal mark {mark!r} is also the column separator; "
                                 "use --decimal .")
            frame = pd.read_csv(path, sep=sep, decimal=mark, encoding="utf-8-sig", engine="c")
    except UnicodeDecodeError:
        raise ValueError(f"{path.name}: not UTF-8 text; save the file as CSV UTF-8 or XLSX") from None
    except pd.errors.EmptyDataError:
        raise ValueError(f"{path.name}: the file is empty") from None
    except (pd.errors.ParserError, csv.Error, zipfile.BadZipFile, KeyError, OSError) as error:
        raise ValueError(f"{path.name}: not a readable CSV or XLSX file ({str(error).splitlines()[0]})") from None
    if frame.empty:
        raise ValueError(f"{path.name}: the file has a header but no rows")
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def parse_levels(text: str | None) -> list[str] | None:
    """``"manager,peer,external"`` → a list; None stays None."""
    if text is None:
        return None
    levels = [part.strip() for part in text.split(",") if part.strip()]
    if len(levels) < 2:
        raise ValueError("--levels: name at least two groups, separated by commas")
    return levels


MONEY = re.compile(r"revenue|sales|income|profit|amount|price|cost|spend|salary|bonus|deal|pipeline|"
                   r"booking|arr\b|mrr\b|eur|usd|gbp|dollar|euro|money", re.I)
RATE = re.compile(r"rate|ratio|share|pct|percent|proportion|attainment|conversion|%", re.I)


def column_unit(frame: pd.DataFrame, column: str) -> tuple[str, float]:
    """(unit, unit_scale) of an outcome from its name and values (statistics review F8f): money columns
    ("revenue", "deal_size") read "in revenue"; rates and 0/1 outcomes in percentage points (× 100
    when the values lie in 0–1); everything else in points."""
    try:
        values = numeric_column(frame, column).dropna()
    except (ValueError, KeyError):
        return "points", 1.0
    within_one = len(values) > 0 and values.between(0, 1).all()
    if within_one and values.isin((0, 1)).all():
        return "percentage points", 100.0
    if RATE.search(str(column)):
        return "percentage points", 100.0 if within_one else 1.0
    if MONEY.search(str(column)):
        return f"in {str(column).replace('_', ' ')}", 1.0
    return "points", 1.0


def parse_margins(text: str | None, outcomes: Sequence[str], primary: str | None) -> dict[str, float]:
    """``--margin``: ``"3"`` (the primary outcome's margin) or ``"quota_attainment=3,satisfaction=0.3"``."""
    if text is None or not str(text).strip():
        return {}
    margins: dict[str, float] = {}
    for part in str(text).split(","):
        name, _, value = part.rpartition("=")
        name = name.strip() or (primary or (outcomes[0] if outcomes else ""))
        if name not in outcomes:
            raise ValueError(f"--margin: {name!r} is not an outcome compared here "
                             f"({', '.join(outcomes) or 'none'})")
        try:
            margin = float(value)
        except ValueError:
            raise ValueError(f"--margin: {value.strip()!r} is not a number (write it like 3 or "
                             "quota_attainment=3)") from None
        if not math.isfinite(margin) or margin <= 0:
            raise ValueError(f"--margin: the margin of {name} must be a positive number, not {value.strip()}")
        if name in margins:
            raise ValueError(f"--margin: {name} is given twice")
        margins[name] = margin
    return margins


def parse_prior_scale(text) -> float | None:
    """``--prior-scale``: the sceptical prior's SD in SDs of the outcome (0 to 2), ``flat`` for none;
    None: the defaults of ``analysis.worth.default_prior_scale``."""
    if text is None:
        return None
    if str(text).strip().lower() == "flat":
        return 0.0
    try:
        scale = float(text)
    except ValueError:
        raise ValueError(f"--prior-scale: expected a number of SDs such as 0.2, or 'flat', not {text!r}") from None
    if not math.isfinite(scale) or not 0 <= scale <= 2 or 0 < scale < MIN_PRIOR_SCALE:
        raise ValueError(f"--prior-scale: {text} is outside {MIN_PRIOR_SCALE:g} to 2 SDs (0 or 'flat': no prior; "
                         "the coaching literature supports 0.1 to 0.2)")
    return scale


def worth_outcomes(analysis: Analysis, margins: dict[str, float]) -> list[OutcomeComparison]:
    """The outcomes whose margins and chances are read: the primary, quota attainment, and any with a margin."""
    wanted = {o.outcome for o in analysis.outcomes if o.primary or o.outcome in QUOTA_OUTCOMES
              or o.outcome in margins}
    if not any(o.primary for o in analysis.outcomes) and analysis.outcomes:
        wanted.add(analysis.outcomes[0].outcome)
    return [o for o in analysis.outcomes if o.outcome in wanted]


def run(path: str | Path, group: str, outcomes: Sequence[str] = (), levels: str | None = None,
        cluster: str | None = None, baseline: str | None = None, primary: str | None = None,
        decimal: str | None = None, df_method: str = "auto", margin: str | None = None,
        prior_scale: str | None = None, costs: str | None = None, minutes: str | None = None,
        revenue: str | None = None) -> Analysis:
    """Read ``path`` and compare the groups; raises ``ValueError`` with a one-line message on bad input.

    The parameters keep the names of the command's flags (``--group``, ``--outcome``, …), which users
    know; the library underneath calls them ``between`` and ``dvs``. Group labels that differ only
    in case or spaces are merged with a warning; without ``--outcome`` identifier columns are skipped.
    ``df_method`` (``--df``) is the mixed model's denominator df: "auto", "satterthwaite" or "containment".
    """
    frame = read_data_file(path, decimal)
    notes: list[str] = []
    if group in frame.columns:
        frame[group], notes = merge_label_spellings(frame[group], parse_levels(levels))
    design = None
    if cluster is not None and cluster in frame.columns and group in frame.columns:
        # With teams, check the allocation of teams to models against an equal split.
        teams = frame[[cluster, group]].dropna().drop_duplicates(cluster)
        counts = group_labels(teams[group]).value_counts()
        wanted = parse_levels(levels) or sorted(counts.index)
        if len(wanted) >= 2 and all(level in counts for level in wanted):
            design = DesignFacts(allocation=sample_ratio_check({level: int(counts[level]) for level in wanted}))
    units = {c: column_unit(frame, c) for c in (outcomes or frame.columns) if c in frame.columns}
    analysis = compare_models(frame, list(outcomes) or None, group, parse_levels(levels), cluster=cluster,
                              baseline=baseline, primary=primary, design=design, units=units,
                              df_method=df_method)
    scale = parse_prior_scale(prior_scale)
    compared = [o.outcome for o in analysis.outcomes]
    margins = parse_margins(margin, compared, primary or (compared[0] if compared else None))
    worths = [outcome_worth(o, frame, group, cluster, baseline, margins.get(o.outcome), scale)
              for o in worth_outcomes(analysis, margins)]
    notes += [note for w in worths for note in w.notes]
    extra = {**worth_json(worths), "cost_effectiveness": None, "fidelity": None}
    if costs:
        extra["cost_effectiveness"] = _cost_effectiveness(frame, analysis, group, cluster, baseline, costs, minutes,
                                                          revenue)
    analysis = dataclasses.replace(analysis, extra=extra, worth=tuple(worths))
    return dataclasses.replace(analysis, warnings=tuple(notes) + analysis.warnings) if notes else analysis


def _cost_effectiveness(frame, analysis, group, cluster, baseline, costs, minutes, revenue) -> dict:
    """``--costs``: cost-effectiveness on quota attainment when it is compared, else on the primary outcome."""
    inputs = parse_costs(costs, analysis.levels)
    if cluster is None:
        raise ValueError("--costs: the team bootstrap needs the team column (--cluster)")
    for flag, column in (("--minutes", minutes), ("--revenue", revenue)):
        if column is not None and column not in frame.columns:
            raise ValueError(f"{flag}: no column {column!r} in the file")
    names = [o.outcome for o in analysis.outcomes]
    target = next((o for o in analysis.outcomes if o.outcome in QUOTA_OUTCOMES), None) or next(
        (o for o in analysis.outcomes if o.primary), analysis.outcomes[0])
    per_point = None
    if revenue is not None and revenue == target.outcome:
        raise ValueError(f"--revenue: {revenue!r} is the outcome costed; name the column of revenue a rep a month")
    if revenue is not None:
        values = frame[[revenue, target.outcome]].apply(pd.to_numeric, errors="coerce").dropna()
        points = float(values[target.outcome].sum())
        if values.empty or points <= 0:
            raise ValueError(f"--revenue: no rep has both {revenue!r} and {target.outcome!r} to value a point with")
        per_point = float(values[revenue].sum()) / points
        if not per_point > 0:
            raise ValueError(f"--revenue: the revenue in {revenue!r} adds up to {values[revenue].sum():g}; a point of "
                             f"{target.outcome} must be worth more than nothing")
    base = baseline if baseline in frame.columns and target.outcome in names else None
    result = cost_effectiveness(frame, target.outcome, group, cluster, analysis.levels, inputs, minutes=minutes,
                                revenue_per_point=per_point, baseline=base, unit=target.unit)
    minutes_by = (frame.assign(_m=pd.to_numeric(frame[minutes], errors="coerce")).groupby(group)["_m"].mean()
                  .to_dict() if minutes else None)
    words = [c.text for c in result.comparisons]
    return {**result.to_dict(), "cost_per_rep_month": [c.to_dict() for c in cost_per_rep(inputs, minutes_by)],
            "words": words}


def to_json(analysis: Analysis) -> str:
    """The JSON of DESIGN.md section 6."""
    return json.dumps(json_safe(analysis.to_dict()), indent=2, ensure_ascii=False, allow_nan=False)


def _number(value: float | None, digits: int = 2) -> str:
    return "–" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def _outcome_text(o: OutcomeComparison) -> list[str]:
    lines = [f"{o.label}" + (" (primary outcome)" if o.primary else ""), "-" * len(o.label)]
    lines.append(f"{'model':<12}{'n':>6}{'mean':>8}{'sd':>8}{'median':>8}   95% CI")
    for d in o.descriptives:
        lines.append(f"{d.group:<12}{d.n:>6}{_number(d.mean):>8}{_number(d.sd):>8}{_number(d.median):>8}   "
                     f"{_number(d.ci_low)} to {_number(d.ci_high)}")
    if o.n_missing:
        lines.append(f"({o.n_missing} missing value(s) left out)")
    adjusted = "" if o.primary else f", Holm-adjusted {format_p(o.p_adjusted)}"
    lines.append(f"Headline test: {METHOD_NAMES[o.chosen]} — {format_p(o.p)}{adjusted}. Why: {o.chosen_reason}.")
    welch = f"Welch F({_number(o.welch.df1, 0)}, {_number(o.welch.df2, 1)}) = {_number(o.welch.statistic)}, " \
            f"{format_p(o.welch.p)}; " if o.welch else ""
    lines.append(f"All tests: ANOVA F({o.anova.df1:g}, {o.anova.df2:g}) = {_number(o.anova.statistic)}, "
                 f"{format_p(o.anova.p)}; {welch}Kruskal–Wallis H({o.kruskal.df:g}) = "
                 f"{_number(o.kruskal.statistic)}, {format_p(o.kruskal.p)}; Brown–Forsythe "
                 f"F = {_number(o.levene.statistic)}, {format_p(o.levene.p)}.")
    e = o.effect_sizes
    lines.append(f"Effect sizes: η² = {_number(e.eta_squared, 3)}, ω² = {_number(e.omega_squared, 3)}, "
                 f"ε² = {_number(e.epsilon_squared, 3)}.")
    lines.append(f"Pairs ({POSTHOC_FOR[o.chosen]}):")
    for pair in o.headline_pairs():
        effect = o.pair_effect(pair["a"], pair["b"])
        g = f", g = {_number(effect.hedges_g)} [{_number(effect.g_ci_low)}, {_number(effect.g_ci_high)}], " \
            f"Cliff's δ = {_number(effect.cliffs_delta)}" if effect else ""
        adjusted = o.adjusted_effect(pair["a"], pair["b"])
        if adjusted is not None:  # the g of the adjusted difference quoted (statistics review F3)
            sign = 1 if adjusted.a == pair["a"] else -1
            low, high = sorted((sign * adjusted.ci_low, sign * adjusted.ci_high))
            g += f", adjusted g = {_number(sign * adjusted.g)} [{_number(low)}, {_number(high)}]"
        amount = _number(pair["diff"]) if pair["diff"] is not None else ("ranks higher" if pair["direction"] > 0
                                                                          else "ranks lower")
        lines.append(f"  {model_name(pair['b'])} − {model_name(pair['a'])}: {amount}, "
                     f"adjusted {format_p(pair['p_adj'])}{g}")
    if o.randomisation is not None:
        r = o.randomisation
        teams = ", ".join(f"{arm} {n}" for arm, n in r.teams.items())
        smallest = f"; the smallest p it can give is {format_p(r.p_min)}" if r.p_min is not None else ""
        lines.append(f"Randomisation test on team means ({teams} teams): F = {_number(r.statistic)}, "
                     f"{format_p(r.p)}; {r.words()}{smallest}.")
    if o.mixed_model is not None and o.mixed_model.converged:
        m = o.mixed_model
        lines.append(f"Mixed model: {m.n_clusters} teams, ICC = {_number(m.icc, 3)}, design effect = "
                     f"{_number(m.design_effect)}, team variance {_number(m.var_cluster, 4)}, residual "
                     f"{_number(m.var_residual, 4)}; {_reps_used(m)}.")
        if m.arm_test is not None:
            lines.append(f"Mixed model arm test: F({m.arm_test.df1:g}, {_number(m.arm_test.df2, 1)}) = "
                         f"{_number(m.arm_test.statistic)}, {format_p(m.arm_test.p)}, on {df_words(m)}.")
    if o.ancova is not None:
        means = ", ".join(f"{a.group} {_number(a.mean)} (SE {_number(a.se)})" for a in o.ancova.adjusted_means)
        lines.append(f"ANCOVA: F({o.ancova.arm_test.df1:g}, {o.ancova.arm_test.df2:g}) = "
                     f"{_number(o.ancova.arm_test.statistic)}, {format_p(o.ancova.arm_test.p)}; "
                     f"adjusted means {means}; {_reps_used(o.ancova)}.")
    return lines


def df_words(model) -> str:
    """Which denominator df a mixed model's tests use, in words (for the text report and the methods)."""
    if model.df_method == "satterthwaite":
        return (f"Satterthwaite's degrees of freedom (as lmerTest; {model.n_clusters} teams, fewer than 40; "
                "each contrast has its own)")
    why = "a singular fit" if model.var_cluster == 0 else f"{model.n_clusters} teams"
    return f"the containment degrees of freedom (as nlme: teams minus team-level coefficients; {why})"


def _reps_used(model) -> str:
    """"reps used 155 (external 34, manager 62, peer 59)": the rows the model rests on, per arm."""
    per_arm = ", ".join(f"{arm} {count}" for arm, count in model.n_used.items())
    return f"reps used {model.n}" + (f" ({per_arm})" if per_arm else "")


def to_text(analysis: Analysis) -> str:
    """A readable report: the verdict first, then one section per outcome."""
    lines = ["VERDICT", "=======", analysis.verdict.text, ""]
    for outcome in analysis.outcomes:
        lines += _outcome_text(outcome) + [""]
    lines += worth_text(analysis)
    other = [w for w in analysis.warnings if w not in analysis.verdict.caveats]
    if other:
        lines += ["Warnings", "--------"] + [f"- {w}" for w in other]
    return "\n".join(lines).rstrip() + "\n"


def worth_text(analysis: Analysis) -> list[str]:
    """The text report's "Is it worth it" section: margins, chances of being best, costs."""
    lines = []
    for w in analysis.worth:
        if w.margin_tests:
            lines.append(f"No worse? {w.label}, margin {w.margin:g} {w.unit}:")
            lines += [f"  {t.words()}; p = {format_p(t.p_noninferiority).removeprefix('p ').lstrip('= ')}."
                      for t in w.margin_tests]
            seen: set = set()
            for t in w.margin_tests:
                if (t.vs, t.level) not in seen:
                    seen.add((t.level, t.vs))
                    lines.append(f"  Equivalence: {t.equivalence_words()}.")
        if w.bayes is not None:
            chances = ", ".join(f"{model_name(c.level)} {100 * c.probability_best:.0f} % (expected loss "
                                f"{_number(c.expected_loss)} {w.unit})" for c in w.bayes.chances)
            lines.append(f"Chance of being best on {w.label}: {chances}. {w.prior_words()}")
    ce = analysis.extra.get("cost_effectiveness")
    if ce:
        lines += [f"Cost: {line}" for line in ce.get("words", [])]
    return (["IS IT WORTH IT", "==============", *lines, ""]) if lines else []
