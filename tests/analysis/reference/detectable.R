# Reference values for analysis/detectable.py (issue 13 item 4, audit F4): the closed forms of the
# smallest detectable difference. Writes detectable.json. Run: cd tests/analysis/reference && Rscript detectable.R
#
# 1. t tests (team level, ANCOVA): the noncentrality at which a two-sided t test on df reaches 80 %,
#    by uniroot over pt(..., ncp); for df = 2(n − 1) also power.t.test(strict = TRUE)'s delta.
# 2. Welch / Games-Howell with k = 2: the exact power of Welch's t for normal groups, integrated over
#    both sample variances (R's integrate, nested, in x = log(chi^2 / nu)), and its root by uniroot;
#    beside it the noncentral-t approximation with the df fixed at the Welch-Satterthwaite value.
# 3. Team level with unequal team sizes: generalised least squares weights m / (1 + (m - 1) ICC).
library(jsonlite)

power_t <- function(ncp, df, alpha) {
  crit <- qt(1 - alpha / 2, df)
  pt(crit, df, ncp, lower.tail = FALSE) + pt(-crit, df, ncp)
}
ncp_for <- function(df, alpha, power = 0.8) {
  uniroot(function(x) power_t(x, df, alpha) - power, c(0, 200), tol = 1e-13)$root
}

t_cases <- list(
  list(df = 3, alpha = 0.05 / 3), list(df = 13, alpha = 0.05 / 3), list(df = 57, alpha = 0.05),
  list(df = 118, alpha = 0.0125 / 3), list(df = 1000, alpha = 0.05)
)
t_out <- lapply(t_cases, function(x) c(x, ncp = ncp_for(x$df, x$alpha)))

ptt_cases <- list(list(n = 30, sd = 0.75, alpha = 0.05), list(n = 12, sd = 2, alpha = 0.05 / 3),
                  list(n = 200, sd = 1, alpha = 0.01))
ptt_out <- lapply(ptt_cases, function(x) {
  r <- power.t.test(n = x$n, sd = x$sd, sig.level = x$alpha, power = 0.8, strict = TRUE, tol = 1e-12)
  c(x, delta = r$delta)
})

# Welch ---------------------------------------------------------------------------------------------
dens_x <- function(x, nu) exp(dchisq(nu * exp(x), nu, log = TRUE) + log(nu) + x)  # density of log(chi2/nu)
range_x <- function(nu) log(qchisq(c(1e-13, 1 - 1e-13), nu) / nu)

welch_power <- function(delta, sa, na, sb, nb, alpha) {
  spread <- sqrt(sa^2 / na + sb^2 / nb)
  inner <- function(xa) sapply(xa, function(a) {
    va <- sa^2 * exp(a) / na
    f <- function(xb) {
      vb <- sb^2 * exp(xb) / nb
      se <- sqrt(va + vb)
      df <- (va + vb)^2 / (va^2 / (na - 1) + vb^2 / (nb - 1))
      thr <- qt(1 - alpha / 2, df) * se
      (pnorm((delta - thr) / spread) + pnorm((-delta - thr) / spread)) * dens_x(xb, nb - 1)
    }
    rb <- range_x(nb - 1)
    integrate(f, rb[1], rb[2], rel.tol = 1e-11, abs.tol = 0, subdivisions = 1000L)$value * dens_x(a, na - 1)
  })
  ra <- range_x(na - 1)
  integrate(inner, ra[1], ra[2], rel.tol = 1e-10, abs.tol = 0, subdivisions = 1000L)$value
}
welch_mde <- function(sa, na, sb, nb, alpha, power = 0.8) {
  hi <- 4 * sqrt(sa^2 / na + sb^2 / nb)
  while (welch_power(hi, sa, na, sb, nb, alpha) < power) hi <- hi * 2
  uniroot(function(d) welch_power(d, sa, na, sb, nb, alpha) - power, c(0, hi), tol = 1e-11 * hi)$root
}
welch_nct <- function(sa, na, sb, nb, alpha, power = 0.8) {
  va <- sa^2 / na; vb <- sb^2 / nb
  df <- (va + vb)^2 / (va^2 / (na - 1) + vb^2 / (nb - 1))
  ncp_for(df, alpha, power) * sqrt(va + vb)
}

welch_cases <- list(
  list(sa = 0.75, na = 30, sb = 0.75, nb = 30, alpha = 0.05),
  list(sa = 1.0, na = 10, sb = 2.0, nb = 25, alpha = 0.05),
  list(sa = 0.76, na = 2, sb = 0.77, nb = 30, alpha = 0.05),
  list(sa = 12, na = 8, sb = 30, nb = 6, alpha = 0.01),
  list(sa = 1.0, na = 200, sb = 1.5, nb = 150, alpha = 0.05 / 2)
)
welch_out <- lapply(welch_cases, function(x) {
  c(x, mde = welch_mde(x$sa, x$na, x$sb, x$nb, x$alpha),
    power_at_1 = welch_power(1, x$sa, x$na, x$sb, x$nb, x$alpha),
    nct_fixed_df = welch_nct(x$sa, x$na, x$sb, x$nb, x$alpha))
})

# Team level ----------------------------------------------------------------------------------------
team_cases <- list(
  list(sizes_a = c(10, 10), sizes_b = c(10, 10), icc = 0.2, sd = 1, df = 3, alpha = 0.05 / 3),
  list(sizes_a = c(2, 5, 12, 40, 7, 9), sizes_b = c(3, 20, 8, 8, 15, 30), icc = 0.1, sd = 14, df = 15,
       alpha = 0.05 / 3)
)
team_out <- lapply(team_cases, function(x) {
  w <- function(m) sum(m / (1 + (m - 1) * x$icc))
  c(x, mde = ncp_for(x$df, x$alpha) * x$sd * sqrt(1 / w(x$sizes_a) + 1 / w(x$sizes_b)))
})

write_json(list(t = t_out, power_t_test = ptt_out, welch = welch_out, team = team_out,
                versions = list(R = R.version.string)),
           "detectable.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
