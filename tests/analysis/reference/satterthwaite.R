#!/usr/bin/env Rscript
# =============================================================================
# R reference for the Satterthwaite degrees of freedom of the mixed model
# (issue 13 item 5, statistics review F6): analysis.clustered.mixed_model with
# df_method = "satterthwaite" against lmerTest, and df_method = "containment"
# against nlme.
#
# Regenerate with:
#   cd tests/analysis/reference && Rscript satterthwaite.R
# (R 4.2.2 with lme4, lmerTest, nlme and jsonlite: the Debian packages
# r-base-core, r-cran-lmertest, r-cran-lme4, r-cran-nlme, r-cran-jsonlite.)
#
# Writes three seeded data sets into ../data/ and satterthwaite.json here:
#
#   satterthwaite_unbalanced.csv  18 teams of 2 to 40 reps (population CV of
#       the team sizes 0.908, mean 14.56, as the audit's d8), 6 teams per arm,
#       the baseline higher in the manager arm; fitted with and without the
#       baseline, and with two arms only (manager, peer: a 1-df F test).
#   satterthwaite_balanced.csv    15 teams of 10 reps, 5 per arm; with and
#       without the baseline (without it, Satterthwaite equals J - k exactly).
#   satterthwaite_singular.csv    12 teams of 8 reps with no team effect; the
#       first seed from 1 whose lmer fit without baseline is singular.
#
# Per fit, y ~ arm [+ baseline] + (1 | team), REML:
#   satterthwaite: lmerTest.  arm F test = anova(fit, ddf = "Satterthwaite")
#       (type III; with treatment contrasts its L is the identity rows of the
#       arm coefficients, checked below); per-coefficient df, t, p from
#       summary(fit); per-pair contrasts b - a from contest1D(fit, L), Holm
#       over the pairs (p.adjust); vcov_varpar = lmerTest's 2 H^-1 of the
#       REML deviance in (theta, sigma).
#   containment: nlme::lme.  denDF of the arm terms (the containment rule
#       J - p_between), nlme's own F and p (anova(type = "marginal")), and the
#       Wald F / t tests on lme4's REML fit with those df (nlme's optimiser
#       stops short in the variance components, ~1e-4 relative; lme4 is
#       tightly converged) — what CoachLab's containment option computes.
#   adjusted (with a baseline): the standardised contrast of each pair on its
#       Satterthwaite df, d = diff / sqrt(tau^2 + sigma^2), CI = ncp * se / sd
#       with ncp solving pt(diff / se, df, ncp) = .975 and .025 (uniroot), as
#       adjusted_effects.R does on the containment df.
#   design effect: team sizes, mean, population and sample CV, and the
#       Eldridge, Ashby & Kerry (2006) form 1 + ((CV^2 + 1) m - 1) ICC with the
#       population CV (then (CV^2 + 1) m = sum(m_j^2) / sum(m_j) exactly).
# =============================================================================

suppressPackageStartupMessages({
  library(jsonlite)
  library(lme4)
  library(lmerTest)
  library(nlme)
})

script_dir <- local({
  args <- commandArgs(trailingOnly = FALSE)
  f <- sub("^--file=", "", args[grep("^--file=", args)])
  if (length(f) == 1L) dirname(normalizePath(f)) else getwd()
})
data_dir <- normalizePath(file.path(script_dir, "..", "data"))
out_file <- file.path(script_dir, "satterthwaite.json")
LV3 <- c("manager", "peer", "external")

# --- data ---------------------------------------------------------------------

make_data <- function(sizes, arms, seed, team_sd, effect, imbalance, base_mean, base_sd, slope, res_sd) {
  set.seed(seed)
  team <- rep(sprintf("T%02d", seq_along(sizes)), sizes)
  arm <- rep(arms, sizes)
  u <- rep(rnorm(length(sizes), 0, team_sd), sizes)
  baseline <- round(rnorm(length(arm), base_mean + imbalance * (arm == "manager"), base_sd), 2)
  outcome <- round(20 + slope * baseline + effect[arm] + u + rnorm(length(arm), 0, res_sd), 2)
  data.frame(team = team, arm = arm, baseline = baseline, outcome = outcome, stringsAsFactors = FALSE)
}

fit_lmer <- function(d, with_baseline, levels) {
  d$arm <- factor(d$arm, levels = levels)
  f <- if (with_baseline) outcome ~ arm + baseline + (1 | team) else outcome ~ arm + (1 | team)
  lmerTest::lmer(f, data = d, REML = TRUE)
}

singular_either <- function(d) {
  isSingular(fit_lmer(d, TRUE, LV3)) || isSingular(fit_lmer(d, FALSE, LV3))
}

sizes_unbalanced <- c(2, 2, 3, 3, 4, 5, 6, 7, 8, 10, 12, 14, 17, 22, 27, 40, 40, 40)
arms_unbalanced <- rep(LV3, length.out = length(sizes_unbalanced))
seed <- 20261300
repeat {
  unbalanced <- make_data(sizes_unbalanced, arms_unbalanced, seed, team_sd = 4,
                          effect = c(manager = 2, peer = 0, external = 8), imbalance = 7,
                          base_mean = 88, base_sd = 10, slope = 0.8, res_sd = 10)
  if (!singular_either(unbalanced)) break
  seed <- seed + 1
}
seed_unbalanced <- seed

sizes_balanced <- rep(10, 15)
arms_balanced <- rep(LV3, length.out = 15)
seed <- 20261400
repeat {
  balanced <- make_data(sizes_balanced, arms_balanced, seed, team_sd = 3,
                        effect = c(manager = 2, peer = 0, external = 3), imbalance = 0,
                        base_mean = 50, base_sd = 10, slope = 0.7, res_sd = 8)
  if (!singular_either(balanced)) break
  seed <- seed + 1
}
seed_balanced <- seed

sizes_singular <- rep(8, 12)
arms_singular <- rep(LV3, length.out = 12)
seed <- 1
repeat {
  singular <- make_data(sizes_singular, arms_singular, seed, team_sd = 0,
                        effect = c(manager = 0, peer = 0, external = 0), imbalance = 0,
                        base_mean = 3.5, base_sd = 0.8, slope = 0.5, res_sd = 0.9)
  if (isSingular(fit_lmer(singular, FALSE, LV3))) break
  seed <- seed + 1
}
seed_singular <- seed

write.csv(unbalanced, file.path(data_dir, "satterthwaite_unbalanced.csv"), row.names = FALSE)
write.csv(balanced, file.path(data_dir, "satterthwaite_balanced.csv"), row.names = FALSE)
write.csv(singular, file.path(data_dir, "satterthwaite_singular.csv"), row.names = FALSE)
# Fit on what the CSV holds (the same decimals CoachLab reads).
unbalanced <- read.csv(file.path(data_dir, "satterthwaite_unbalanced.csv"), stringsAsFactors = FALSE)
balanced <- read.csv(file.path(data_dir, "satterthwaite_balanced.csv"), stringsAsFactors = FALSE)
singular <- read.csv(file.path(data_dir, "satterthwaite_singular.csv"), stringsAsFactors = FALSE)

# --- fits -----------------------------------------------------------------------

ncp_bounds <- function(t, df, conf = 0.95) {
  alpha <- 1 - conf
  solve <- function(target) {
    f <- function(ncp) pt(t, df, ncp) - target
    span <- 4 * sqrt(1 + t^2 / (2 * df)) + 1
    lo <- t - span; hi <- t + span
    while (f(lo) < 0) lo <- lo - span
    while (f(hi) > 0) hi <- hi + span
    uniroot(f, c(lo, hi), tol = 1e-13)$root
  }
  c(solve(1 - alpha / 2), solve(alpha / 2))
}

pairs_of <- function(levels) {
  out <- list()
  for (i in seq_along(levels)) for (j in seq_along(levels)) if (i < j) out[[length(out) + 1]] <- levels[c(i, j)]
  out
}

contrast_vector <- function(fit, levels, a, b) {
  L <- setNames(numeric(length(fixef(fit))), names(fixef(fit)))
  if (a != levels[1]) L[paste0("arm", a)] <- -1
  if (b != levels[1]) L[paste0("arm", b)] <- L[paste0("arm", b)] + 1
  L
}

block <- function(d, with_baseline, levels = LV3) {
  d <- d[d$arm %in% levels, ]
  fit <- fit_lmer(d, with_baseline, levels)
  arms <- paste0("arm", levels[-1])
  vc <- as.data.frame(VarCorr(fit))
  co <- summary(fit)$coefficients
  an <- anova(fit, ddf = "Satterthwaite")
  L3 <- lmerTest:::get_contrasts_type3(fit)$arm
  identity_rows <- all(L3[, arms, drop = FALSE] == diag(length(arms))) &&
    all(L3[, setdiff(colnames(L3), arms)] == 0)
  pairs <- lapply(pairs_of(levels), function(p) {
    ct <- contest1D(fit, contrast_vector(fit, levels, p[1], p[2]))
    list(a = p[1], b = p[2], diff = ct$Estimate, se = ct$`Std. Error`, df = ct$df, t = ct$`t value`,
         p = ct$`Pr(>|t|)`)
  })
  holm <- p.adjust(vapply(pairs, function(p) p$p, 0), "holm")
  for (i in seq_along(pairs)) pairs[[i]]$p_adj <- holm[i]

  # containment (nlme): the df, and the Wald tests on lme4's fit with them
  dn <- d; dn$arm <- factor(dn$arm, levels = levels)
  fn <- if (with_baseline) outcome ~ arm + baseline else outcome ~ arm
  lfit <- lme(fn, random = ~ 1 | team, data = dn, method = "REML",
              control = lmeControl(opt = "optim", msMaxIter = 1000, tolerance = 1e-12))
  marginal <- anova(lfit, type = "marginal")
  den <- marginal["arm", "denDF"]
  b <- fixef(fit)[arms]; V <- as.matrix(vcov(fit))[arms, arms, drop = FALSE]
  Fw <- as.numeric(t(b) %*% solve(V, b)) / length(arms)
  cpairs <- lapply(pairs, function(p) {
    list(a = p$a, b = p$b, diff = p$diff, se = p$se, df = den, p = 2 * pt(-abs(p$diff / p$se), den))
  })
  choldm <- p.adjust(vapply(cpairs, function(p) p$p, 0), "holm")
  for (i in seq_along(cpairs)) cpairs[[i]]$p_adj <- choldm[i]

  total_sd <- sqrt(vc$vcov[1] + vc$vcov[2])
  adjusted <- if (with_baseline) lapply(pairs, function(p) {
    nb <- ncp_bounds(p$diff / p$se, p$df)
    list(a = p$a, b = p$b, diff = p$diff, se = p$se, df = p$df, sd = total_sd, g = p$diff / total_sd,
         ci_low = nb[1] * p$se / total_sd, ci_high = nb[2] * p$se / total_sd)
  }) else NULL

  sizes <- as.numeric(table(d$team))
  m <- mean(sizes)
  cv_pop <- sqrt(mean((sizes - m)^2)) / m
  cv_sample <- sd(sizes) / m
  icc <- vc$vcov[1] / sum(vc$vcov)
  list(
    n = nrow(d), n_teams = length(sizes), levels = levels, with_baseline = with_baseline,
    singular = isSingular(fit), theta = unname(getME(fit, "theta")), sigma = sigma(fit),
    var_cluster = vc$vcov[1], var_residual = vc$vcov[2],
    satterthwaite = list(
      arm_test = list(F = an["arm", "F value"], df1 = an["arm", "NumDF"], df2 = an["arm", "DenDF"],
                      p = an["arm", "Pr(>F)"]),
      type3_L_is_identity_rows = identity_rows,
      coefficients = lapply(setNames(arms, arms), function(term) list(
        estimate = co[term, "Estimate"], se = co[term, "Std. Error"], df = co[term, "df"],
        t = co[term, "t value"], p = co[term, "Pr(>|t|)"])),
      contrasts = pairs,
      adjusted = adjusted,
      vcov_varpar = fit@vcov_varpar),
    containment = list(
      df = den,
      nlme_tTable_df = unname(summary(lfit)$tTable[arms, "DF"]),
      nlme_F = marginal["arm", "F-value"], nlme_p = marginal["arm", "p-value"],
      arm_test = list(F = Fw, df1 = length(arms), df2 = den, p = pf(Fw, length(arms), den, lower.tail = FALSE)),
      contrasts = cpairs),
    design_effect = list(sizes = sizes, mean_size = m, cv_population = cv_pop, cv_sample = cv_sample,
                         icc = icc, mean_size_form = 1 + (m - 1) * icc,
                         eldridge = 1 + ((cv_pop^2 + 1) * m - 1) * icc,
                         sum_sq_over_sum = sum(sizes^2) / sum(sizes)))
}

out <- list(
  seeds = list(unbalanced = seed_unbalanced, balanced = seed_balanced, singular = seed_singular),
  unbalanced_baseline = block(unbalanced, TRUE),
  unbalanced_nobaseline = block(unbalanced, FALSE),
  unbalanced_two_arms = block(unbalanced, TRUE, c("manager", "peer")),
  balanced_baseline = block(balanced, TRUE),
  balanced_nobaseline = block(balanced, FALSE),
  singular_nobaseline = block(singular, FALSE))

out$versions <- list(R = R.version.string,
                     lme4 = as.character(packageVersion("lme4")),
                     lmerTest = as.character(packageVersion("lmerTest")),
                     nlme = as.character(packageVersion("nlme")),
                     numDeriv = as.character(packageVersion("numDeriv")),
                     jsonlite = as.character(packageVersion("jsonlite")))
write_json(out, out_file, auto_unbox = TRUE, digits = NA, pretty = TRUE)
cat("wrote", out_file, "\n")
