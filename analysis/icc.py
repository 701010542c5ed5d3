"""The intraclass correlation of an outcome within teams, with its 95 % interval (CONSORT 2010 cluster item 17a).

ICC(1) from the one-way analysis of variance of reps within teams, and the interval from the F
distribution (Searle 1971, for unequal team sizes through the adjusted mean team size n₀):

    ICC = (MSB − MSW) / (MSB + (n₀ − 1) MSW),  n₀ = (N − Σ nⱼ² / N) / (J − 1)
    F = MSB / MSW,  F_L = F / F_{1−α/2}(J − 1, N − J),  F_U = F · F_{1−α/2}(N − J, J − 1)
    ICC_L = (F_L − 1) / (F_L + n₀ − 1),  ICC_U = (F_U − 1) / (F_U + n₀ − 1)

Teams are the clusters pooled over the coaching models, after removing each model's mean (the
arms differ by design; their difference is not team variation). A negative estimate is kept as it
is (it says the teams vary less than chance would make them), and the bounds are not truncated.

References
----------
Searle, S. R. (1971). Linear models, sec. 9.7 (the interval for unbalanced data).
Donner, A. & Koval, J. J. (1980). The estimation of intraclass correlation in the analysis of family
    data. Biometrics 36, 19–25.
Campbell, M. K. et al. (2012). CONSORT 2010 statement: extension to cluster randomised trials. BMJ 345,
    e5661 (item 17a: report the ICC with its interval for each primary outcome).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from ._result import Result
from ._validate import require_columns


@dataclass(frozen=True)
class Icc(Result):
    """ICC(1) of ``outcome`` within ``teams`` teams of ``n`` reps, with its (1 − alpha) interval."""

    outcome: str
    icc: float
    ci_low: float
    ci_high: float
    teams: int
    n: int
    n0: float
    f: float
    df1: int
    df2: int
    alpha: float = 0.05

    def words(self) -> str:
        pct = round(100 * (1 - self.alpha))
        return (f"ICC of {self.outcome.replace('_', ' ')}: {self.icc:.3f} ({pct} % interval {self.ci_low:.3f} to "
                f"{self.ci_high:.3f}; {self.teams} teams, {self.n} reps)")


def icc_interval(data: pd.DataFrame, dv: str, cluster: str, between: str | None = None,
                 alpha: float = 0.05) -> Icc:
    """ICC(1) of ``dv`` within ``cluster`` (teams), each ``between`` group's mean removed first, with the
    F-based interval. ``ValueError`` when fewer than two teams, or no team of two reps, have values."""
    require_columns(data, dv, cluster, between)
    if not 0 < alpha < 1:
        raise ValueError(f"alpha: between 0 and 1, not {alpha!r}")
    frame = pd.DataFrame({"y": pd.to_numeric(data[dv], errors="coerce"), "team": data[cluster]})
    if between is not None:
        frame["arm"] = data[between].astype(str)
    frame = frame.dropna()
    if not np.isfinite(frame["y"]).all():
        raise ValueError(f"column {dv!r}: a value is infinite; an ICC needs finite numbers")
    if between is not None:
        frame["y"] = frame["y"] - frame.groupby("arm")["y"].transform("mean")
    sizes = frame.groupby("team")["y"].size()
    teams, n = len(sizes), int(sizes.sum())
    groups = len(frame["arm"].unique()) if between is not None else 1
    if teams < 2 or n - teams < 1:
        raise ValueError(f"column {dv!r}: an ICC needs two teams and a team of two reps at least, not {teams} "
                         f"team(s) of {n} rep(s)")
    means = frame.groupby("team")["y"].transform("mean")
    ssw = float(((frame["y"] - means) ** 2).sum())
    team_means = frame.groupby("team")["y"].mean()
    ssb = float((sizes * (team_means - frame["y"].mean()) ** 2).sum())
    df1, df2 = teams - groups, n - teams  # the arms' means were estimated from the teams
    total = float(((frame["y"] - frame["y"].mean()) ** 2).sum())
    if df1 < 1 or ssw <= 1e-12 * max(total, np.finfo(float).tiny):  # no variation within teams (or rounding only)
        raise ValueError(f"column {dv!r}: too few teams per model, or no variation within teams, for an ICC")
    msb, msw = ssb / df1, ssw / df2
    n0 = (n - float((sizes ** 2).sum()) / n) / (teams - 1)
    icc = (msb - msw) / (msb + (n0 - 1) * msw)
    f = msb / msw
    f_low = f / stats.f.ppf(1 - alpha / 2, df1, df2)
    f_high = f * stats.f.ppf(1 - alpha / 2, df2, df1)
    return Icc(dv, float(icc), float((f_low - 1) / (f_low + n0 - 1)), float((f_high - 1) / (f_high + n0 - 1)),
               int(teams), n, float(n0), float(f), int(df1), int(df2), float(alpha))


__all__ = ["Icc", "icc_interval"]
