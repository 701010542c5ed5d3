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
Scales (``scales``)
    reliability, cronbach_alpha, score_scale, reverse_score, Reliability
Which numbers may be shown (``disclosure``, ``suppression``)
    decide, all_views, Disclosure, View, suppress, audit, System, Pattern, Isolation
Planning (``planning``)
    Design, minimum_detectable_effect, teams_needed, sample_ratio_check, TeamsNeeded,
    SampleRatioCheck
The smallest difference a study could have detected, for its headline test (``detectable``)
    detectable_difference, Detectable
The verdict (``verdict``)
    write_verdict, format_p, Verdict, Finding, Difference, ClaimVerdict, DesignFacts
Files and JSON (``cli``, ``_result``)
    read_data_file, json_safe, Result
Simulated pilots (``simulate``)
    simulate_pilot, SimulatedPilot

The charts are a module of their own, ``from analysis import figures``: they need matplotlib,
which the statistics do not, so ``import analysis`` does not load it.
"""

from ._result import Result, json_safe
from .baseline import AdjustedMean, AncovaResult, DidPair, DidResult, ancova, difference_in_differences
from .cli import read_data_file
from .clustered import (
    ArmEffect,
    Coefficient,
    Correlation,
    MixedModelResult,
    TeamLink,
    correlation,
    mixed_model,
    team_link,
)
from .comparison import Analysis, OutcomeComparison, assemble, compare_models, compare_outcome
from .contrasts import Contrast
from .describe import AnswerShares, GroupDescriptives, SessionRates, describe_group, session_rates
from .detectable import Detectable, detectable_difference
from .disclosure import Disclosure, View, all_views, decide
from .effects import OmnibusEffects, PairEffect, delta_magnitude, hedges_g, magnitude
from .multiplicity import holm
from .omnibus import ChiSquareTest, FTest, LeveneTest
from .planning import (
    Design,
    SampleRatioCheck,
    TeamsNeeded,
    minimum_detectable_effect,
    sample_ratio_check,
    teams_needed,
)
from .posthoc import MeanDifference, PairTest
from .scales import Reliability, cronbach_alpha, reliability, reverse_score, score_scale
from .simulate import SimulatedPilot, simulate_pilot
from .suppression import Isolation, Pattern, System, audit, suppress
from .verdict import ClaimVerdict, DesignFacts, Difference, Finding, Verdict, format_p, write_verdict

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
    # scales
    "reliability", "cronbach_alpha", "score_scale", "reverse_score", "Reliability",
    # which numbers may be shown
    "decide", "all_views", "Disclosure", "View", "suppress", "audit", "System", "Pattern", "Isolation",
    # planning
    "Design", "minimum_detectable_effect", "teams_needed", "sample_ratio_check", "TeamsNeeded",
    "SampleRatioCheck",
    # detectable differences
    "detectable_difference", "Detectable",
    # the verdict
    "write_verdict", "format_p", "Verdict", "Finding", "Difference", "ClaimVerdict", "DesignFacts",
    # files and JSON
    "read_data_file", "json_safe", "Result",
    # simulated pilots
    "simulate_pilot", "SimulatedPilot",
]
