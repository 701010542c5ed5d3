"""The report as tables (for CSV/XLSX) and in words (the methods section)."""

from __future__ import annotations

from dataclasses import asdict

import pandas as pd

from analysis.verdict import opening

from .report import Report

METHOD_WORDS = {
    "mixed_model": "a linear mixed model with a random intercept per team (REML), because reps in one team are "
                   "alike; model effects are tested on the between-team degrees of freedom",
    "team_means": "Welch's ANOVA on team means (the mixed model could not be fitted)",
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


def aggregate_tables(report: Report) -> dict[str, pd.DataFrame]:
    """Means per model and outcome, the tests, the pairs, performance, reliability and response rates."""
    means, tests, pairs = [], [], []
    for row in report.rows:
        comparison = row.comparison
        if comparison is None:
            tests.append({"outcome": row.key, "label": row.label, "test": None, "p": None, "p_adjusted": None,
                          "note": row.note})
            continue
        for d in comparison.descriptives:
            means.append({"outcome": row.key, "label": row.label, "model": d.group, "n": d.n, "mean": d.mean,
                          "sd": d.sd, "ci_low": d.ci_low, "ci_high": d.ci_high})
        tests.append({"outcome": row.key, "label": row.label, "test": comparison.chosen, "p": comparison.p,
                      "p_adjusted": comparison.p_adjusted, "eta_squared": comparison.effect_sizes.eta_squared,
                      "omega_squared": comparison.effect_sizes.omega_squared, "note": row.note})
        for pair in comparison.headline_pairs():
            effect = comparison.pair_effect(pair["a"], pair["b"])
            pairs.append({"outcome": row.key, "a": pair["a"], "b": pair["b"], "difference_b_minus_a": pair["diff"],
                          "p_adjusted": pair["p_adj"], "hedges_g": effect.hedges_g if effect else None,
                          "cliffs_delta": effect.cliffs_delta if effect else None})
    sheets = {"outcomes": pd.DataFrame(means), "tests": pd.DataFrame(tests), "pairs": pd.DataFrame(pairs)}
    if report.performance is not None:
        sheets["performance"] = pd.DataFrame([
            {"metric": metric, "model": model, "n": v.n, "before": v.before.mean, "after": v.after.mean,
             "period_before": report.performance.before, "period_after": report.performance.after}
            for metric, values in report.performance.metrics.items() for model, v in values.items()])
    sheets["reliability"] = pd.DataFrame([{"scale": r.scale, "alpha": r.alpha, "n": r.n, **{
        f"alpha_{m}": a for m, a in r.by_group.items()}} for r in report.reliabilities])
    sheets["response_rates"] = pd.DataFrame([asdict(rate) for rate in report.rates])
    if report.analysis is not None:
        sheets["verdict"] = pd.DataFrame({"verdict": report.analysis.verdict.text.splitlines()})
    return sheets


def methods_text(report: Report) -> list[str]:
    """Which tests were used for what, and why — in sentences."""
    used: dict[str, list[str]] = {}
    for row in report.compared:
        used.setdefault(row.comparison.chosen, []).append(row.label)
    paragraphs = [f"{opening(', '.join(labels))}: {METHOD_WORDS.get(method, method)}."
                  for method, labels in used.items()]
    paragraphs.append(
        "For every outcome all of one-way ANOVA, Welch's ANOVA, Kruskal–Wallis and the Brown–Forsythe test of "
        "spread were computed (see the JSON); a fixed rule picks the headline test: teams known → mixed model; a "
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
