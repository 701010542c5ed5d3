"""The report as tables (for CSV/XLSX) and in words (the methods section)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date

import pandas as pd

from analysis.verdict import opening

from .report import Report

METHOD_WORDS = {
    "mixed_model": "a linear mixed model with a random intercept per team (REML), because reps in one team are "
                   "alike; model effects are tested on the between-team (containment) degrees of freedom, teams "
                   "minus team-level coefficients",
    "mixed_model_satterthwaite": "a linear mixed model with a random intercept per team (REML), because reps in "
                                 "one team are alike; with fewer than 40 teams model effects are tested on "
                                 "Satterthwaite's degrees of freedom (as R's lmerTest), which allow for unequal "
                                 "team sizes",
    "team_means": "Welch's ANOVA on team means (the mixed model could not be fitted)",
    "randomisation": "a randomisation test on team means, because fewer than six teams in a model are too few for "
                     "the mixed model: the study's own randomisation is re-run over the teams (every assignment it "
                     "can make when there are at most 20,000, else 5,000 drawn at random), and each pair's teams are "
                     "re-randomised for its p-value (Holm); intervals are t intervals on the team means",
    "ancova": "an analysis of covariance adjusting for the baseline",
    "welch": "Welch's ANOVA (no equal-variance assumption) with Games–Howell pairwise comparisons",
    "anova": "one-way ANOVA with Tukey's pairwise comparisons",
    "kruskal": "the Kruskal–Wallis rank test with Dunn's pairwise comparisons (Holm)",
}


DECISION_RULE = (
    "How the recommendation is reached: a wave measured before the coaching models started recommends nothing. "
    "What decides is the study's primary outcome and, where it was measured, sales performance (quota "
    "attainment, revenue, win rate). A model leads an outcome when it is above every other model there and each "
    "of those differences survives the correction for multiple outcomes; it trails when any model is above it in "
    "the same sense. The recommendation is the model that leads at least one deciding outcome and trails on none; "
    "if the leader of one trails on another, the answer is “not yet”. Only when nothing decides do the five "
    "responsibilities count: a model that leads on at least two of them and trails on none is recommended, at "
    "most as “likely”. The camps' claims (candour, expertise, availability, sessions logged) never decide; they "
    "are the trade-offs. “Very likely” means every difference behind the recommendation has an adjusted p-value "
    "below 0.01 with at least six teams per model and every model fit converged; “likely” that each is below "
    "0.05; “too close to call” that nothing decides. The next step for an outcome that did not differ is the "
    "number of teams per model a pilot would need to tell a gap as large as the one seen (80 % power).")


def _estimate(value):
    """A mean, difference or interval end: two decimals, three below 1 (win rates, sessions a month)."""
    if value is None or value != value:
        return None
    return round(float(value), 3 if abs(value) < 1 else 2)


def _p(value):
    """A p-value to four decimals; a very small one to three significant digits (never shown as 0)."""
    if value is None or value != value:
        return None
    return round(float(value), 4) if value >= 0.0001 else float(f"{value:.3g}")


def _ratio(value, digits: int = 3):
    """An effect size, α or a share."""
    return None if value is None or value != value else round(float(value), digits)


def about_rows(report: Report, created: date) -> list[dict]:
    """What a file of the report holds: study, organisation, wave, filters, anonymity threshold, date."""
    wave = report.wave if report.wave_closed else f"{report.wave} (still open: interim results)"
    rows = [("study", report.study_name), ("organisation", report.organisation), ("wave", wave),
            ("region", report.filters.region or "all regions"),
            ("team size", report.filters.band or "all team sizes"),
            ("anonymity", f"numbers only for groups of at least {report.k} responses"),
            ("created on", created.isoformat()),
            ("source", "CoachLab report tables: means, tests, Holm-adjusted p-values and pairs as on the report "
                       "page (rounded; report.json has every number unrounded)")]
    rows += [("message", message) for message in report.messages]
    return [{"item": item, "value": value} for item, value in rows]


def _verdict_rows(report: Report) -> list[dict]:
    """The decision (when the report has one) and the verdict, one statement a row, without bullet marks."""
    rows = []
    decision = report.to_dict().get("decision") or {}
    for key, part in (("recommendation", "recommendation"), ("certainty", "certainty"), ("headline", "decision")):
        if decision.get(key):
            rows.append((part, str(decision[key])))
    for key, part in (("reasons", "reason"), ("trade_offs", "trade-off"), ("next_steps", "next step")):
        for item in decision.get(key) or []:
            rows.append((part, str(item.get("text", item) if isinstance(item, dict) else item)))
    if report.analysis is not None:
        verdict = report.analysis.verdict
        rows.append(("headline", verdict.headline))
        rows += [("finding", f.text) for f in verdict.findings]
        rows += [("claim", f"{c.claim}: {c.status}. {c.text}") for c in verdict.claims]
        rows += [("caveat", c) for c in verdict.caveats]
    return [{"part": part, "text": text} for part, text in rows]


def _pair_intervals(comparison) -> dict[tuple[str, str], tuple[float, float]]:
    """The 95 % CI of each pair's difference b − a, from the same source as the headline pairs."""
    if comparison.chosen in ("mixed_model", "ancova") and comparison.model_contrasts:
        source = comparison.model_contrasts
    elif comparison.chosen == "team_means" and comparison.team_means:
        source = comparison.team_means
    elif comparison.chosen == "randomisation" and comparison.randomisation:
        source = comparison.randomisation.pairs
    elif comparison.chosen == "kruskal":
        return {}
    else:
        source = comparison.games_howell if comparison.chosen == "welch" and comparison.games_howell \
            else comparison.tukey
    return {(d.a, d.b): (d.ci_low, d.ci_high) for d in source or ()}


def aggregate_tables(report: Report, created: date | None = None) -> dict[str, pd.DataFrame]:
    """What the report says as tables: about (study, wave, filters), the decision and verdict, means per
    model and outcome, the tests with their Holm-adjusted p-values, the pairs, performance, sessions,
    reliability and response rates. Numbers are rounded for reading; ``report.json`` has them unrounded."""
    named = set() if report.analysis is None else {
        (f.outcome, d.higher, d.lower) for f in report.analysis.verdict.findings for d in f.differences}
    means, tests, pairs = [], [], []
    for row in report.rows:
        comparison = row.comparison
        if comparison is None:
            tests.append({"outcome": row.key, "label": row.label, "primary": None, "test": None, "p": None,
                          "p_adjusted": None, "eta_squared": None, "omega_squared": None, "finding": None,
                          "note": row.note})
            continue
        for d in comparison.descriptives:
            # A CRM row "adjusted for" the quarter before carries the adjusted mean its differences are
            # differences of, next to the raw one (ux review D6, in the files too).
            a = (row.adjusted or {}).get(d.group)
            means.append({"outcome": row.key, "label": row.label, "model": d.group, "n": d.n,
                          "mean": _estimate(d.mean), "sd": _estimate(d.sd), "ci_low": _estimate(d.ci_low),
                          "ci_high": _estimate(d.ci_high),
                          "adjusted_mean": _estimate(a.mean) if a else None,
                          "adjusted_ci_low": _estimate(a.ci_low) if a else None,
                          "adjusted_ci_high": _estimate(a.ci_high) if a else None})
        tests.append({"outcome": row.key, "label": row.label, "primary": "yes" if comparison.primary else "no",
                      "test": comparison.chosen.replace("_", " "), "p": _p(comparison.p),
                      "p_adjusted": _p(comparison.p_adjusted),
                      "eta_squared": _ratio(comparison.effect_sizes.eta_squared),
                      "omega_squared": _ratio(comparison.effect_sizes.omega_squared), "finding": row.finding,
                      "note": row.note})
        intervals = _pair_intervals(comparison)
        for pair in comparison.headline_pairs():
            effect = comparison.pair_effect(pair["a"], pair["b"])
            adjusted = comparison.adjusted_effect(pair["a"], pair["b"])
            low, high = intervals.get((pair["a"], pair["b"]), (None, None))
            survives = (row.key, pair["b"], pair["a"]) in named or (row.key, pair["a"], pair["b"]) in named
            pairs.append({"outcome": row.key, "label": row.label, "a": pair["a"], "b": pair["b"],
                          "difference_b_minus_a": _estimate(pair["diff"]), "ci_low": _estimate(low),
                          "ci_high": _estimate(high), "p_adjusted": _p(pair["p_adj"]),
                          "survives_correction": "yes" if survives else "no",
                          "hedges_g": _ratio(effect.hedges_g if effect else None, 2),
                          "cliffs_delta": _ratio(effect.cliffs_delta if effect else None, 2),
                          # The g that goes with an adjusted difference (statistics review F3).
                          "adjusted_g": _ratio(None if adjusted is None else
                                               adjusted.g if adjusted.a == pair["a"] else -adjusted.g, 2),
                          "adjusted_g_over": adjusted.sd_kind if adjusted else None})
    sheets = {"about": pd.DataFrame(about_rows(report, created or date.today()))}
    verdict = _verdict_rows(report)
    if verdict:
        sheets["verdict"] = pd.DataFrame(verdict)
    sheets.update({"outcomes": pd.DataFrame(means), "tests": pd.DataFrame(tests), "pairs": pd.DataFrame(pairs)})
    if report.performance is not None:
        sheets["performance"] = pd.DataFrame([
            {"metric": metric.replace("_", " "), "model": model, "n": v.n, "before": _estimate(v.before.mean),
             "after": _estimate(v.after.mean), "period_before": report.performance.before,
             "period_after": report.performance.after}
            for metric, values in report.performance.metrics.items() for model, v in values.items()])
    if report.sessions:
        sheets["sessions"] = pd.DataFrame([
            {"model": s.group, "n": s.reps, "sessions_per_rep_month": _estimate(s.sessions_per_rep_month),
             "minutes_per_rep_month": _ratio(s.minutes_per_rep_month, 0),
             "share_without_session": _ratio(s.share_without_session, 2)} for s in report.sessions])
    sheets["reliability"] = pd.DataFrame([{"scale": r.scale, "alpha": _ratio(r.alpha, 2), "n": r.n, **{
        f"alpha_{m}": _ratio(a, 2) for m, a in r.by_group.items()}} for r in report.reliabilities])
    sheets["response_rates"] = pd.DataFrame([asdict(rate) for rate in report.rates])
    if report.flow is not None and report.flow.baseline:  # the baseline table (printed reports leave it out)
        sheets["baseline"] = pd.DataFrame([{**asdict(b), "size_mean": _estimate(b.size_mean),
                                            "quota_before": _estimate(b.quota_before),
                                            "primary_baseline": _estimate(b.primary_baseline),
                                            "baseline_wave": report.flow.baseline_wave}
                                           for b in report.flow.baseline])
    if report.segments:  # the heatmaps, long: one row per segment, model and outcome
        sheets["segments"] = pd.DataFrame([
            {"dimension": family.dimension, "segment": row.segment, "model": model, "outcome": key,
             "difference_from_overall": _estimate(row.differences[model].get(key)),
             "models_differ_p_holm": _p(row.p_holm.get(key)),
             "interaction_p": _p(family.interactions[key].p) if family.interactions.get(key) else None}
            for family in report.segments for row in family.rows for model in report.models
            for key in family.outcomes])
    return sheets


def methods_text(report: Report) -> list[str]:
    """Which tests were used for what, and why — in sentences."""
    used: dict[str, list[str]] = {}
    for row in report.compared:
        method = row.comparison.chosen
        fit = row.comparison.mixed_model
        if method == "mixed_model" and fit is not None and fit.df_method == "satterthwaite":
            method = "mixed_model_satterthwaite"
        used.setdefault(method, []).append(row.label)
    paragraphs = [f"{opening(', '.join(labels))}: {METHOD_WORDS.get(method, method)}."
                  for method, labels in used.items()]
    procedures = dict.fromkeys(row.comparison.randomisation.words() for row in report.compared
                               if row.comparison.chosen == "randomisation" and row.comparison.randomisation)
    if procedures:
        paragraphs.append("The randomisation re-run: " + "; ".join(procedures) + ".")
    paragraphs.append(
        "For every outcome all of one-way ANOVA, Welch's ANOVA, Kruskal–Wallis and the Brown–Forsythe test of "
        "spread were computed (see the JSON); a fixed rule picks the headline test: teams known → mixed model "
        "(fewer than six teams in a model → randomisation test on team means); a "
        "baseline → ANCOVA; a single rating item or heavy outliers → rank test; otherwise Welch.")
    paragraphs.append(
        "The primary outcome is tested on its own; the others are corrected with Holm's method, and a pair of "
        "models is named only when its adjusted p-value also passes its outcome's Holm level. Effect sizes: "
        "Hedges' g (0.2 small, 0.5 medium, 0.8 large) or Cliff's δ for rank tests.")
    paragraphs.append(
        f"Anonymity: no number rests on fewer than {report.k} responses, comments need at least "
        f"{report.comment_threshold} per model, and a number is also hidden when any combination of the figures "
        "one can request — every wave, region, team size and model, the tables, charts and the consultant's export "
        f"— would single out fewer than {report.k} people (decided once over all views and checked exactly). "
        "Rating items show their answers as disagree / neither / agree, each held by none or at least "
        f"{report.k} people. Regions and team sizes are those a team had when its members answered. "
        "Performance (CRM) figures follow the same rules, counted in reps, and are joined to the survey only at "
        "team level.")
    paragraphs.append(DECISION_RULE)
    paragraphs += [f"Deviation from the plan: on {d.changed_on} {d.changed_by or 'a former user'} changed the "
                   f"{d.setting} from {d.old} to {d.new}, because: {d.reason}" for d in report.deviations]
    return paragraphs
