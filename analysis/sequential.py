"""Group-sequential boundaries for interim looks at a pilot's open waves, keeping the error rate.

Looking at a pilot's results every few weeks and stopping as soon as one model "wins" raises the
chance of a false winner well above the 5 % a single analysis has (three looks at 5 % each give
about 11 %). A group-sequential design spends the 5 % over the planned looks: early looks need a
much larger difference, the last one about what a single analysis would. The spending here is
Lan and DeMets' O'Brien–Fleming type, whose boundaries depend only on the *information rates* of
the looks (the share of the planned responses or teams in so far), so a look taken a little early
or late still keeps the error rate.

Spending (the convention of rpact and gsDesign). One-sided at level α, the error spent by
information rate t is

    α(t) = 2 − 2 Φ(z_{α/2} / √t),   z_q = Φ⁻¹(1 − q),   α(1) = α;

a two-sided test at level α spends α/2 on each side by that same function, so its total is
2·[2 − 2 Φ(z_{α/4} / √t)]. (Reading the two-sided total as 2 − 2 Φ(z_{α/2} / √t), as some texts
do, gives a first of three bounds of 3.39 instead of rpact's 3.71.) Futility bounds, optional and
one-sided only, spend β (the type II error) in the same way, β(t) = 2 − 2 Φ(z_{β/2} / √t), under
the drift that gives power 1 − β; they are non-binding: the efficacy bounds are computed as if
futility never stopped a pilot, so ignoring a futility advice keeps the error rate.

Computation: recursive numerical integration of the density of the z statistic from look to look
(Armitage, McPherson & Rowe 1969; the grid of Jennison & Turnbull 2000, ch. 19, with r = 64, about
760 Simpson nodes per look), the z statistics forming a Brownian motion with corr(Z_i, Z_j) =
√(t_i / t_j); each bound is solved by Brent's method to 1e-12. A grid 2.5 times finer moves the
bounds by at most 1e-8 and the cumulative alpha by less than 1e-15. Against rpact 3.3.4
(``tests/analysis/reference/sequential.R``, 15 designs) critical and futility bounds agree to
1.1e-8 and cumulative alpha and beta to 1e-8 (rpact stops its own iteration at 1e-8).

References
----------
Lan, K. K. G. & DeMets, D. L. (1983). Discrete sequential boundaries for clinical trials.
    Biometrika 70, 659–663.
O'Brien, P. C. & Fleming, T. R. (1979). A multiple testing procedure for clinical trials.
    Biometrics 35, 549–556.
Armitage, P., McPherson, C. K. & Rowe, B. C. (1969). Repeated significance tests on accumulating
    data. J. R. Stat. Soc. A 132, 235–244.
Jennison, C. & Turnbull, B. W. (2000). Group Sequential Methods with Applications to Clinical
    Trials. Chapman & Hall/CRC (ch. 7 spending functions, ch. 19 numerical computations).
Wassmer, G. & Brannath, W. (2016). Group Sequential and Confirmatory Adaptive Designs in Clinical
    Trials. Springer (beta spending and non-binding futility, as in rpact).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy import special

from ._result import Result
from ._roots import brentq
from ._validate import finite_number as _check_number

ADVICE = ("continue", "stop: clear winner", "stop: futility")
_GRID_R = 64  # Jennison & Turnbull's grid parameter: 6r − 1 points before trimming
_FAR = 3 + 4 * math.log(_GRID_R)  # the grid reaches this far either side of the mean (19.6)
_TINY = 1e-15  # a look that may spend less than this cannot stop: its bound is infinite
_Z_MAX = 37.0  # beyond this Φ̄ underflows; bounds are searched below it


@dataclass(frozen=True)
class Boundaries(Result):
    """Efficacy (and optional futility) bounds for planned looks at ``information_rates``.

    ``z_upper[k]`` is the z a look must reach to stop for a clear winner (two-sided: |z|; ``inf``
    when the look is too early to spend any error). ``cumulative_alpha[k]`` is the chance, with no
    true difference, of stopping for a winner at or before look k (two-sided: on either side) and
    ``alpha_spent[k]`` the part spent at look k. ``nominal_p[k]`` is the p-value (two-sided when
    ``sided`` is 2) a single test at look k must go below, the same bound on the p scale.
    With ``futility="obf-beta"`` (one-sided only), ``z_futility[k]`` is the non-binding bound below
    which a look stops for futility (the last equals the last efficacy bound), ``cumulative_beta``
    the chance under the design alternative of stopping for futility by look k and ``drift`` that
    alternative: the expected z at the last look (rpact's shift is its square). ``method`` names
    the computation.
    """

    information_rates: tuple[float, ...]
    alpha: float
    sided: int
    z_upper: tuple[float, ...]
    cumulative_alpha: tuple[float, ...]
    alpha_spent: tuple[float, ...]
    nominal_p: tuple[float, ...]
    futility: str | None = None
    beta: float | None = None
    z_futility: tuple[float, ...] | None = None
    cumulative_beta: tuple[float, ...] | None = None
    drift: float | None = None
    method: str = "recursive numerical integration (Jennison & Turnbull 2000, ch. 19, r = 64)"

    @property
    def looks(self) -> int:
        return len(self.information_rates)


@dataclass(frozen=True)
class Look(Result):
    """The advice at one interim look: ``z`` against ``bound`` (the efficacy bound of that look,
    |z| when two-sided) and ``futility_bound`` (None without futility bounds; at the last look a z
    short of the bound means the pilot ends without a winner, "stop: futility"). ``advice`` is one
    of "continue", "stop: clear winner", "stop: futility"; ``words`` says it for a sales leader."""

    look: int
    looks: int
    z: float
    bound: float
    futility_bound: float | None
    advice: str
    words: str

    def to_dict(self) -> dict:
        return asdict(self)


def spending_obf(t, alpha: float, sided: int = 2):
    """Lan–DeMets O'Brien–Fleming-type error spent by information rate ``t`` (scalar or array).

    One-sided: α(t) = 2 − 2 Φ(z_{α/2} / √t). Two-sided (``sided=2``): α/2 a side, total
    2·[2 − 2 Φ(z_{α/4} / √t)]. α(0) = 0, α(1) = ``alpha``; rates above 1 give ``alpha``.
    """
    alpha = _check_probability("alpha", alpha, upper=0.5)
    sided = _check_sided(sided)
    t_arr = np.asarray(t, dtype=float)
    if np.any(~np.isfinite(t_arr)) or np.any(t_arr < 0):
        raise ValueError(f"t: expected information rates of 0 or more, not {t!r}")
    side = alpha / sided
    with np.errstate(divide="ignore"):
        spent = 2.0 * special.ndtr(-special.ndtri(1 - side / 2) / np.sqrt(np.minimum(t_arr, 1.0)))
    spent = sided * np.where(t_arr > 0, spent, 0.0)
    return float(spent) if np.ndim(spent) == 0 else spent


def boundaries(information_rates, alpha: float = 0.05, sided: int = 2, futility: str | None = None,
               beta: float = 0.2) -> Boundaries:
    """Lan–DeMets O'Brien–Fleming-type bounds for looks at ``information_rates``.

    Parameters
    ----------
    information_rates : sequence of float
        The share of the planned information at each look, strictly increasing in (0, 1], the last 1.
    alpha : float
        The error rate kept over all looks (two-sided total when ``sided`` is 2).
    sided : {1, 2}
        One-sided (a winner in the expected direction only) or two-sided.
    futility : None or "obf-beta"
        Add non-binding futility bounds by O'Brien–Fleming-type beta spending (``sided=1`` only).
    beta : float
        The type II error the futility bounds spend (power 1 − beta at the last look).

    Returns
    -------
    Boundaries
    """
    rates = _check_rates(information_rates)
    alpha = _check_probability("alpha", alpha, upper=0.5)
    sided = _check_sided(sided)
    if futility not in (None, "obf-beta"):
        raise ValueError(f"futility: expected None or 'obf-beta', not {futility!r}")
    if futility is not None:
        if sided != 1:
            raise ValueError("futility: bounds by beta spending are one-sided; use sided=1 (rpact too calls "
                             "its two-sided beta spending experimental)")
        beta = _check_probability("beta", beta, upper=0.5)
        if beta >= 1 - alpha:
            raise ValueError(f"beta: expected less than 1 − alpha ({1 - alpha:g}), not {beta}")

    spend = np.diff(np.concatenate(([0.0], spending_obf(np.array(rates), alpha, sided))))
    walk = _Walk(rates)
    upper: list[float] = []
    crossed: list[float] = []
    state = None
    for k in range(len(rates)):
        bound = _solve_upper(walk, state, k, sided, spend[k])
        lower = -bound if sided == 2 else -math.inf
        upper.append(bound)
        crossed.append(sum(walk.cross(state, k, bound, lower, drift=0.0)))
        state = walk.advance(state, k, lower, bound, drift=0.0)
    cumulative = np.cumsum(crossed)
    nominal = [float(sided * special.ndtr(-c)) for c in upper]

    z_fut = cum_beta = drift = None
    if futility is not None:
        z_fut, cum_beta, drift = _futility(walk, upper, beta)
    return Boundaries(information_rates=rates, alpha=alpha, sided=sided, z_upper=tuple(upper),
                      cumulative_alpha=tuple(float(c) for c in cumulative),
                      alpha_spent=tuple(float(c) for c in crossed), nominal_p=tuple(nominal),
                      futility=futility, beta=beta if futility else None, z_futility=z_fut,
                      cumulative_beta=cum_beta, drift=drift)


def information_rate(n_now, n_planned) -> float:
    """The share of the planned responses (or teams) in so far, capped at 1."""
    now = _check_number("n_now", n_now)
    planned = _check_number("n_planned", n_planned)
    if now < 0:
        raise ValueError(f"n_now: expected 0 or more, not {n_now}")
    if planned <= 0:
        raise ValueError(f"n_planned: expected more than 0, not {n_planned}")
    return min(now / planned, 1.0)


def interim_decision(z, look, bounds: Boundaries, labels: tuple[str, str] | None = None) -> Look:
    """The advice at look ``look`` (1 = the first) for the statistic ``z`` (level − vs, standardised).

    Two-sided bounds stop for a winner when |z| reaches the bound (the sign says which model);
    one-sided ones when z does. With futility bounds a z below the look's futility bound stops for
    futility. At the last look there is no "continue": short of the bound, no winner.
    ``labels`` (level, vs), e.g. ("peer", "manager"), name the winner in the words.
    """
    if not isinstance(bounds, Boundaries):
        raise ValueError(f"bounds: expected the Boundaries of boundaries(), not {type(bounds).__name__}")
    z = _check_number("z", z)
    if isinstance(look, bool) or not isinstance(look, int | np.integer) or not 1 <= look <= bounds.looks:
        raise ValueError(f"look: expected a whole number from 1 to {bounds.looks}, not {look!r}")
    if labels is not None and (isinstance(labels, str) or len(labels) != 2
                               or not all(isinstance(x, str) and x.strip() for x in labels)):
        raise ValueError(f"labels: expected two model names (level, vs), not {labels!r}")
    look = int(look)
    k = look - 1
    bound = bounds.z_upper[k]
    fut = bounds.z_futility[k] if bounds.z_futility is not None else None
    two = bounds.sided == 2
    where = f"at this {_ordinal(look)} of {_count(bounds.looks)} looks"
    shown = f"z = {_signed(z, 1)}"
    need = f"{'±' if two else ''}{bound:.2f}"
    if (abs(z) if two else z) >= bound:
        advice = "stop: clear winner"
        if labels is not None:
            winner, loser = labels if z > 0 else labels[::-1]
            who = f" {_model_name(winner, capital=True)} is ahead of {_model_name(loser)}."
        else:
            who = ""
        words = (f"Stop: a clear winner.{who} The difference (z = {_signed(z, 2)}) reaches the {need} needed "
                 f"{where}, so the chance of a false winner stays at {100 * bounds.alpha:g} %.")
    elif look == bounds.looks:
        advice = "stop: futility"
        words = (f"Stop: no clear winner. At this last of {_count(bounds.looks)} looks the difference "
                 f"({shown}) is {'within' if two else 'below'} the {need} needed.")
    elif fut is not None and z < fut:
        advice = "stop: futility"
        words = (f"Stop for futility: the difference so far ({shown}) is below {_signed(fut, 2)} {where}, "
                 f"so a clear winner by the last look is unlikely.")
    elif math.isinf(bound):
        advice = "continue"
        words = f"Keep going: {where} it is too early to stop at all (the difference so far: {shown})."
    else:
        advice = "continue"
        words = (f"Keep going: the difference so far ({shown}) is {'within' if two else 'below'} the {need} "
                 f"an early stop needs {where}.")
    return Look(look=look, looks=bounds.looks, z=z, bound=bound, futility_bound=fut, advice=advice,
                words=words)


def _signed(x: float, digits: int) -> str:
    """A number with a true minus sign, never "−0.0"."""
    text = f"{abs(x):.{digits}f}"
    return f"−{text}" if x < 0 and float(text) != 0 else text


def _model_name(level: str, capital: bool = False) -> str:
    name = level if level.lower().endswith("coaching") else f"{level} coaching"
    return name[:1].upper() + name[1:] if capital else name


# --- numerical integration ----------------------------------------------------------------------

class _Walk:
    """Z_1, …, Z_K at information rates t_k: S_k = Z_k √t_k has independent normal increments with
    mean δ (t_k − t_{k−1}) and variance t_k − t_{k−1} (δ: the drift, E Z_K).

    A *state* after look k is the pair (nodes, weight × density) of Z_k on the region where the
    pilot continued at every look so far; ``None`` before the first look."""

    def __init__(self, rates):
        self.t = np.asarray(rates, dtype=float)

    def _grid(self, k, lo, hi, drift):
        """Simpson nodes and weights on (lo, hi) for Z_k (Jennison & Turnbull 2000, §19.2.1)."""
        r = _GRID_R
        mu = drift * math.sqrt(self.t[k])
        i = np.arange(1, 6 * r)
        x = np.where(i < r, -3 - 4 * np.log(r / i),
                     np.where(i <= 5 * r, -3 + 3 * (i - r) / (2 * r), 3 + 4 * np.log(r / (6 * r - i)))) + mu
        lo, hi = max(lo, mu - _FAR), min(hi, mu + _FAR)
        if not lo < hi:
            return np.array([]), np.array([])
        x = np.unique(np.concatenate(([lo], x[(x > lo) & (x < hi)], [hi])))
        h = np.diff(x)
        nodes = np.empty(2 * len(x) - 1)
        nodes[0::2], nodes[1::2] = x, (x[:-1] + x[1:]) / 2
        weights = np.zeros_like(nodes)
        weights[0:-1:2] += h / 6
        weights[2::2] += h / 6
        weights[1::2] += 4 * h / 6
        return nodes, weights

    def _step(self, state, k, drift):
        """Mean and SD of Z_k √t_k given each node of ``state`` (look k − 1)."""
        dt = self.t[k] - self.t[k - 1]
        return state[0] * math.sqrt(self.t[k - 1]) + drift * dt, math.sqrt(dt)

    def cross(self, state, k, upper, lower, drift):
        """P(continue so far, then Z_k ≥ upper) and P(continue so far, then Z_k ≤ lower)."""
        if state is None:
            mu = drift * math.sqrt(self.t[0])
            return float(special.ndtr(mu - upper)), float(special.ndtr(lower - mu))
        mean, sd = self._step(state, k, drift)
        root = math.sqrt(self.t[k])
        up = special.ndtr((mean - upper * root) / sd) @ state[1]
        down = special.ndtr((lower * root - mean) / sd) @ state[1]
        return float(up), float(down)

    def advance(self, state, k, lo, hi, drift):
        """The state after continuing at look k with lo < Z_k < hi."""
        nodes, weights = self._grid(k, lo, hi, drift)
        if state is None:
            return nodes, weights * _phi(nodes - drift * math.sqrt(self.t[0]))
        if len(state[0]) == 0 or len(nodes) == 0:
            return np.array([]), np.array([])
        mean, sd = self._step(state, k, drift)
        kernel = _phi((nodes[:, None] * math.sqrt(self.t[k]) - mean[None, :]) / sd)
        return nodes, weights * (math.sqrt(self.t[k]) / sd * (kernel @ state[1]))


def _phi(x):
    return np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)


def _solve_upper(walk, state, k, sided, spend):
    """The efficacy bound of look k, spending ``spend`` (both sides when two-sided)."""
    if spend <= _TINY:
        return math.inf

    def excess(c):
        return sum(walk.cross(state, k, c, -c if sided == 2 else -math.inf, drift=0.0)) - spend

    if excess(_Z_MAX) > 0:  # pragma: no cover - would need a spend of 1e-300
        return _Z_MAX
    return brentq(excess, -_Z_MAX, _Z_MAX, xtol=1e-12)


def _futility(walk, upper, beta):
    """Non-binding one-sided futility bounds by O'Brien–Fleming-type beta spending: for a drift δ,
    each interim bound spends β(t_k) − β(t_{k−1}) under δ; δ is chosen so that the last look, whose
    futility bound is its efficacy bound, spends the rest of β. A futility bound that would pass the
    efficacy bound is held at it."""
    spend = spending_obf(walk.t, beta, sided=1)
    spend = np.diff(np.concatenate(([0.0], spend)))
    K = len(upper)

    def run(drift):
        """The futility bounds for this drift and the chance of stopping for futility at each look."""
        state, fut, stops = None, [], []
        for k in range(K):
            if k == K - 1:
                f = upper[k]
            else:
                def excess(f, k=k, state=state):
                    return walk.cross(state, k, math.inf, f, drift)[1] - spend[k]
                hi = min(upper[k], _Z_MAX)
                f = hi if excess(hi) <= 0 else brentq(excess, -_Z_MAX, hi, xtol=1e-12)
            fut.append(f)
            stops.append(walk.cross(state, k, math.inf, f, drift)[1])
            if k < K - 1:
                state = walk.advance(state, k, f, upper[k], drift)
        return fut, stops

    drift = brentq(lambda d: run(d)[1][-1] - spend[-1], 0.0, 20.0, xtol=1e-11)
    fut, stops = run(drift)
    return tuple(float(f) for f in fut), tuple(float(c) for c in np.cumsum(stops)), float(drift)


# --- checks and words -----------------------------------------------------------------------------

def _check_probability(name, value, upper) -> float:
    value = _check_number(name, value)
    if not 0 < value < upper:
        raise ValueError(f"{name}: expected a number between 0 and {upper:g}, not {value:g}")
    return value


def _check_sided(sided) -> int:
    if isinstance(sided, bool) or sided not in (1, 2):
        raise ValueError(f"sided: expected 1 or 2, not {sided!r}")
    return int(sided)


def _check_rates(rates) -> tuple[float, ...]:
    if isinstance(rates, str | bytes) or not hasattr(rates, "__len__"):
        raise ValueError(f"information_rates: expected a sequence of numbers, not {rates!r}")
    if len(rates) == 0:
        raise ValueError("information_rates: expected at least one look")
    values = tuple(_check_number(f"information_rates[{i}]", r) for i, r in enumerate(rates))
    if any(not 0 < r <= 1 for r in values):
        raise ValueError(f"information_rates: each must be above 0 and at most 1, not {list(values)}")
    if any(b <= a for a, b in zip(values, values[1:], strict=False)):
        raise ValueError(f"information_rates: expected strictly increasing rates, not {list(values)}")
    if values[-1] != 1:
        raise ValueError(f"information_rates: the last look must be at 1 (all the planned information), "
                         f"not {values[-1]:g}")
    return values


_ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth")
_COUNTS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


def _ordinal(n: int) -> str:
    if n <= len(_ORDINALS):
        return _ORDINALS[n - 1]
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def _count(n: int) -> str:
    return _COUNTS[n - 1] if n <= len(_COUNTS) else str(n)
