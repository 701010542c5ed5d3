#!/usr/bin/env Rscript
# =============================================================================
# R reference for non-inferiority and equivalence margins (issue 16 item 2):
# analysis.margins.margin_tests against lmerTest (mixed-model path) and Welch
# t.test on team means (team-means path).
#
# Regenerate with:
#   cd tests/analysis/reference && Rscript margins.R
# (R with lme4, lmerTest and jsonlite: r-base-core, r-cran-lmertest,
# r-cran-lme4, r-cran-jsonlite.)
#
# Reads ../data/clustered.csv, satterthwaite_unbalanced.csv and
# satterthwaite_balanced.csv; writes margins.json here.
#
# Mixed-model cases: y ~ arm [+ baseline] + (1 | team), REML, levels
# manager, peer, external.  For each ordered pair (level, vs) the contrast
# L = e_level - e_vs goes to contest1D(fit, L) (Satterthwaite df): estimate,
# SE, df.  From them, in R:
#   p_lower = P(T >= (est + margin) / se)   (H0: diff <= -margin)
#   p_upper = P(T <= (est - margin) / se)   (H0: diff >= +margin)
#   lower / upper one-sided (1 - alpha) bounds  est -/+ qt(1 - alpha, df) se
#   (1 - 2 alpha) interval = the two bounds.
# Also vcov(fit) of the arm coefficients (MixedModelResult.arm_covariance).
#
# Team-means cases (5 teams per arm: the few-teams path): team means of the
# outcome (with a baseline: of y - b (x - mean x), b the slope of lm(y ~ x)
# over all reps, ignoring the arms), then for each ordered pair
#   t.test(x, y, mu = -margin, alternative = "greater")  -> p_lower, lower bound
#   t.test(x, y, mu =  margin, alternative = "less")     -> p_upper, upper bound
#   t.test(x, y, conf.level = 1 - 2 alpha)               -> the TOST interval
# (Welch, var.equal = FALSE, R's default).
# =============================================================================

suppressPackageStartupMessages({
  library(jsonlite)
  library(lme4)
  library(lmerTest)
})

script_dir <- local({
  args <- commandArgs(trailingOnly = FALSE)
  f <- sub("^--file=", "", args[grep("^--file=", args)])
  if (length(f) == 1L) dirname(normalizePath(f)) else getwd()
})
data_dir <- normalizePath(file.path(script_dir, "..", "data"))
out_file <- file.path(script_dir, "margins.json")

LV3 <- c("manager", "peer", "external")
ALPHA <- 0.05

ordered_pairs <- function(levels) {
  first <- lapply(levels[-1], function(l) c(l, levels[1]))
  rest <- list()
  for (vs in levels) for (l in levels) {
    if (l != vs && !(vs == levels[1])) rest[[length(rest) + 1]] <- c(l, vs)
  }
  c(first, rest)
}

from_estimate <- function(level, vs, est, se, df, margin) {
  q <- qt(1 - ALPHA, df)
  list(level = level, vs = vs, estimate = est, se = se, df = df,
       p_lower = pt((est + margin) / se, df, lower.tail = FALSE),
       p_upper = pt((est - margin) / se, df),
       lower_bound = est - q * se, upper_bound = est + q * se)
}

mixed_case <- function(file, with_baseline, margin) {
  d <- read.csv(file.path(data_dir, file), stringsAsFactors = FALSE)
  d$arm <- factor(d$arm, levels = LV3)
  f <- if (with_baseline) outcome ~ arm + baseline + (1 | team) else outcome ~ arm + (1 | team)
  fit <- lmerTest::lmer(f, data = d, REML = TRUE)
  stopifnot(!isSingular(fit))
  coefs <- names(fixef(fit))
  tests <- lapply(ordered_pairs(LV3), function(p) {
    L <- setNames(numeric(length(coefs)), coefs)
    if (p[1] != LV3[1]) L[paste0("arm", p[1])] <- 1
    if (p[2] != LV3[1]) L[paste0("arm", p[2])] <- -1
    ct <- contest1D(fit, L)
    from_estimate(p[1], p[2], ct$Estimate, ct$`Std. Error`, ct$df, margin)
  })
  arms <- paste0("arm", LV3[-1])
  v <- as.matrix(vcov(fit))[arms, arms]
  list(file = file, baseline = if (with_baseline) "baseline" else NULL, method = "mixed_model",
       margin = margin, levels = LV3, tests = tests,
       arm_covariance = unname(lapply(seq_len(nrow(v)), function(i) unname(v[i, ]))))
}

team_case <- function(file, with_baseline, margin) {
  d <- read.csv(file.path(data_dir, file), stringsAsFactors = FALSE)
  y <- d$outcome
  if (with_baseline) {
    b <- unname(coef(lm(outcome ~ baseline, data = d))[2])
    y <- y - b * (d$baseline - mean(d$baseline))
  }
  means <- tapply(y, d$team, mean)
  arm_of <- tapply(d$arm, d$team, function(a) a[1])
  values <- lapply(setNames(LV3, LV3), function(l) unname(means[arm_of == l]))
  tests <- lapply(ordered_pairs(LV3), function(p) {
    x <- values[[p[1]]]; z <- values[[p[2]]]
    lower <- t.test(x, z, mu = -margin, alternative = "greater", conf.level = 1 - ALPHA)
    upper <- t.test(x, z, mu = margin, alternative = "less", conf.level = 1 - ALPHA)
    two <- t.test(x, z, conf.level = 1 - 2 * ALPHA)
    list(level = p[1], vs = p[2], estimate = unname(two$estimate[1] - two$estimate[2]),
         se = unname(two$stderr), df = unname(two$parameter),
         p_lower = lower$p.value, p_upper = upper$p.value,
         lower_bound = lower$conf.int[1], upper_bound = upper$conf.int[2],
         ci_low = two$conf.int[1], ci_high = two$conf.int[2])
  })
  list(file = file, baseline = if (with_baseline) "baseline" else NULL, method = "team_means",
       margin = margin, levels = LV3, tests = tests)
}

out <- list(
  alpha = ALPHA,
  cases = list(
    clustered = mixed_case("clustered.csv", FALSE, 0.3),
    clustered_baseline = mixed_case("clustered.csv", TRUE, 0.3),
    unbalanced = mixed_case("satterthwaite_unbalanced.csv", FALSE, 5),
    unbalanced_baseline = mixed_case("satterthwaite_unbalanced.csv", TRUE, 5),
    few_teams = team_case("satterthwaite_balanced.csv", FALSE, 5),
    few_teams_baseline = team_case("satterthwaite_balanced.csv", TRUE, 5)
  )
)
out$versions <- list(R = R.version.string,
                     lme4 = as.character(packageVersion("lme4")),
                     lmerTest = as.character(packageVersion("lmerTest")),
                     jsonlite = as.character(packageVersion("jsonlite")))
write_json(out, out_file, auto_unbox = TRUE, digits = NA, pretty = TRUE, null = "null")
