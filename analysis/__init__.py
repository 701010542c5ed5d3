"""CoachLab's statistics: pure functions on pandas DataFrames, returning frozen result objects.

Nothing here imports Flask, SQLAlchemy or ``surveys``, so the library works on a consultant's
own CSV file or in a notebook as well as behind the web report. Every function that takes a
table says ``(data, dv, between, …)`` as pingouin does: ``data`` first, then the column(s)
analysed (``dv``, or ``dvs`` for several), then the coaching-model column ``between``, then
options such as ``levels``, ``cluster`` and ``baseline``.

>>> from analysis import compare_models, read_data_file
>>> analysis = compare_models(read_data_file("analysis/examples/coaching_pilot.csv"),
...                           ["candour"], "model", cluster="team")  # doctest: +SKIP

The public API, re-exported here from the modules that define it:

Comparing the coaching models (``comparison``)
    compare_models, compare_outcome, assemble, Analysis, OutcomeComparison
Omnibus and pairwise results (``omnibus``, ``posthoc``, ``contrasts``, ``effects``)
    FTest, ChiSquareTest, LeveneTest, MeanDifference, PairTest, Contrast, OmnibusEffects,
    PairEffect, hedges_g, magnitude, delta_magnitude
Descriptives (``describe``)
    describe_group, session_rates, GroupDescriptives, AnswerShares, SessionRates
Baseline and teams (``baseline``, ``clustered``)
    ancova, difference_in_differences, mixed_model, correlation, team_link, AncovaResult,
    AdjustedMean, DidResult, DidPair, MixedModelResult, ArmEffect, Coefficient, Correlation,
    TeamLink
Multiplicity (``multiplicity``)
    holm
Few teams: re-running the randomisation (``randomisation``)
    randomisation_test, permuted_blocks, RandomisationPlan, RandomisationTest, RandomisationPair
Scales (``scales``)
    reliability, cronbach_alpha, score_scale, reverse_score, Reliability
Which numbers may be shown (``disclosure``, ``suppression``)
    decide, all_views, Disclosure, View, suppress, audit, System, Pattern, Isolation
Planning (``planning``)
    Design, minimum_detectable_effect, teams_needed, sample_ratio_check, TeamsNeeded,
    SampleRatioCheck
Margins: non-inferiority and equivalence (``margins``)
    margin_tests, margin_test, MarginTest
The chance that each model is best, and its expected loss (``bayes``)
    probability_best, probability_best_from_model, prior_sd_from, BayesResult, ArmChance,
    SURVEY_PRIOR_SD_UNITS, QUOTA_PRIOR_SD_UNITS
Costs and cost-effectiveness (``costs``)
    parse_costs, cost_per_rep, cost_effectiveness, bootstrap_teams, CostInputs, ModelCost,
    CostEffectiveness, CostComparison
Fidelity: was each model delivered (``fidelity``)
    fidelity, per_protocol, Fidelity, ArmFidelity, TeamFidelity, PerProtocol, ProtocolEffect
Margins and chances read off a comparison (``worth``)
    outcome_worth, worth_json, OutcomeWorth
The ICC with its interval (``icc``); group-sequential boundaries for interim looks (``sequential``)
    icc_interval, Icc, boundaries, interim_decision, information_rate, spending_obf, Boundaries, Look
Segments declared in advance: the arm effect per segment and the model × segment interaction (``segments``)
    segment_effects, SegmentAnalysis, SegmentEffect
The smallest difference a study could have detected, for its headline test (``detectable``)
    detectable_difference, Detectable
The verdict (``verdict``)
    write_verdict, format_p, Verdict, Finding, Difference, ClaimVerdict, DesignFacts
Files and JSON (``cli``, ``_result``)
    read_data_file, json_safe, Result
Simulated pilots (``simulate``); checking a design by simulating it (``planning_simulation``)
    simulate_pilot, SimulatedPilot, simulate_design, DesignSimulation, TeamCount

The charts are a module of their own, ``from analysis import figures``: they need matplotlib,
which the statistics do not, so ``import analysis`` does not load it.
"""

# The names are loaded from their modules on first use (PEP 562), so that ``python -m analysis``
# and ``import analysis`` start without the modules a run does not need (suppression and
# disclosure need scipy.optimize's MILP, simulate and decision more code): start-up is most of the
# command's time (README, "Speed").
_EXPORTS = {
    "_result": ("Result", "json_safe"),
    "bayes": ("ArmChance", "BayesResult", "QUOTA_PRIOR_SD_UNITS", "SURVEY_PRIOR_SD_UNITS", "prior_sd_from",
              "probability_best", "probability_best_from_model"),
    "baseline": ("AdjustedMean", "AncovaResult", "DidPair", "DidResult", "ancova", "difference_in_differences"),
    "cli": ("read_data_file",),
    "clustered": ("ArmEffect", "Coefficient", "Correlation", "MixedModelResult", "TeamLink", "correlation",
                  "mixed_model", "team_link"),
    "comparison": ("Analysis", "OutcomeComparison", "assemble", "compare_models", "compare_outcome"),
    "contrasts": ("Contrast",),
    "costs": ("CostComparison", "CostEffectiveness", "CostInputs", "ModelCost", "bootstrap_teams",
              "cost_effectiveness", "cost_per_rep", "parse_costs"),
    "fidelity": ("ArmFidelity", "Fidelity", "PerProtocol", "ProtocolEffect", "TeamFidelity", "fidelity",
                 "per_protocol"),
    "worth": ("OutcomeWorth", "outcome_worth", "worth_json"),
    "icc": ("Icc", "icc_interval"),
    "sequential": ("Boundaries", "Look", "boundaries", "information_rate", "interim_decision", "spending_obf"),
    "describe": ("AnswerShares", "GroupDescriptives", "SessionRates", "describe_group", "session_rates"),
    "detectable": ("Detectable", "detectable_difference"),
    "disclosure": ("Disclosure", "View", "all_views", "decide"),
    "effects": ("OmnibusEffects", "PairEffect", "delta_magnitude", "hedges_g", "magnitude"),
    "margins": ("MarginTest", "margin_test", "margin_tests"),
    "multiplicity": ("holm",),
    "omnibus": ("ChiSquareTest", "FTest", "LeveneTest"),
    "planning": ("Design", "SampleRatioCheck", "TeamsNeeded", "minimum_detectable_effect", "sample_ratio_check",
                 "teams_needed"),
    "posthoc": ("MeanDifference", "PairTest"),
    "randomisation": ("RandomisationPair", "RandomisationPlan", "RandomisationTest", "permuted_blocks",
                      "randomisation_test"),
    "scales": ("Reliability", "cronbach_alpha", "reliability", "reverse_score", "score_scale"),
    "segments": ("SegmentAnalysis", "SegmentEffect", "segment_effects"),
    "simulate": ("SimulatedPilot", "simulate_pilot"),
    "planning_simulation": ("DesignSimulation", "TeamCount", "simulate_design"),
    "suppression": ("Isolation", "Pattern", "System", "audit", "suppress"),
    "verdict": ("ClaimVerdict", "DesignFacts", "Difference", "Finding", "Verdict", "format_p", "write_verdict"),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}


def __getattr__(name: str):
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'analysis' has no attribute {name!r}")
    import importlib
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_MODULE_OF))


__all__ = [
    # comparing the coaching models
    "compare_models", "compare_outcome", "assemble", "Analysis", "OutcomeComparison",
    # omnibus and pairwise results
    "FTest", "ChiSquareTest", "LeveneTest", "MeanDifference", "PairTest", "Contrast", "OmnibusEffects",
    "PairEffect", "hedges_g", "magnitude", "delta_magnitude",
    # descriptives
    "describe_group", "session_rates", "GroupDescriptives", "AnswerShares", "SessionRates",
    # baseline and teams
    "ancova", "difference_in_differences", "mixed_model", "correlation", "team_link", "AncovaResult",
    "AdjustedMean", "DidResult", "DidPair", "MixedModelResult", "ArmEffect", "Coefficient", "Correlation",
    "TeamLink",
    # multiplicity
    "holm",
    # few teams: re-running the randomisation
    "randomisation_test", "permuted_blocks", "RandomisationPlan", "RandomisationTest", "RandomisationPair",
    # scales
    "reliability", "cronbach_alpha", "score_scale", "reverse_score", "Reliability",
    # which numbers may be shown
    "decide", "all_views", "Disclosure", "View", "suppress", "audit", "System", "Pattern", "Isolation",
    # planning
    "Design", "minimum_detectable_effect", "teams_needed", "sample_ratio_check", "TeamsNeeded",
    "SampleRatioCheck",
    # margins; the chance of being best
    "margin_tests", "margin_test", "MarginTest",
    "probability_best", "probability_best_from_model", "prior_sd_from", "BayesResult", "ArmChance",
    "SURVEY_PRIOR_SD_UNITS", "QUOTA_PRIOR_SD_UNITS",
    # costs, fidelity, and the margins and chances of a comparison
    "parse_costs", "cost_per_rep", "cost_effectiveness", "bootstrap_teams", "CostInputs", "ModelCost",
    "CostEffectiveness", "CostComparison",
    "fidelity", "per_protocol", "Fidelity", "ArmFidelity", "TeamFidelity", "PerProtocol", "ProtocolEffect",
    "outcome_worth", "worth_json", "OutcomeWorth",
    "icc_interval", "Icc", "boundaries", "interim_decision", "information_rate", "spending_obf", "Boundaries", "Look",
    # segments declared in the plan: the arm effect per segment, the interaction
    "segment_effects", "SegmentAnalysis", "SegmentEffect",
    # detectable differences
    "detectable_difference", "Detectable",
    # the verdict
    "write_verdict", "format_p", "Verdict", "Finding", "Difference", "ClaimVerdict", "DesignFacts",
    # files and JSON
    "read_data_file", "json_safe", "Result",
    # simulated pilots
    "simulate_pilot", "SimulatedPilot",
    # checking a design by simulation
    "simulate_design", "DesignSimulation", "TeamCount",
]

assert set(__all__) == set(_MODULE_OF), "every exported name has a module, and the other way round"
