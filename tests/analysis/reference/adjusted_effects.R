#!/usr/bin/env Rscript
# =============================================================================
# Independent R reference for the baseline-adjusted standardised differences
# (statistics review F3): analysis.effects.adjusted_effects and the
# `adjusted_effects` of analysis.comparison.compare_outcome.
#
# Regenerate with:
#   cd tests/analysis/reference && Rscript adjusted_effects.R
# (R 4.2.2 with nlme and jsonlite, the Debian packages r-base-core,
# r-cran-nlme and r-cran-jsonlite; nothing else is needed.)
#
# Writes adjusted_effects.json next to this script.
#
# What is computed, per pair (a, b), a before b in the level order, b minus a:
#
#   ANCOVA  y ~ arm + baseline  (stats::lm)
#     diff  = the model's contrast b - a (coefficients), se from vcov(fit)
#     sd    = sigma(fit), the residual SD, on df = df.residual(fit) = N - k - 1
#     g     = J(df) * diff / sd                       J: exact Hedges correction
#     CI    = J(df) * ncp * se / sd, ncp solving pt(diff / se, df, ncp) = .975
#             and .025 (uniroot): exact, because diff/se is noncentral t with
#             ncp = delta * sd / se given the covariates.
#
#   Mixed   y ~ arm + baseline + (1 | team)  (nlme::lme, REML)
#     diff, se from fixef / vcov;  df = nlme's containment df of the arm terms
#     sd    = sqrt(tau^2 + sigma^2), the SD left after the fixed effects
#             (team + rep variance; getVarCov(fit) and fit$sigma^2)
#     g     = diff / sd                                (no small-sample factor)
#     CI    = ncp * se / sd, ncp as above on the containment df: an
#             approximation (the SD is estimated too); its coverage is
#             simulated below.
#
# The raw Hedges g of the same pair (pooled SD of the outcome alone) is stored
# as `raw_g` to show how far the two differ on data with a baseline imbalance.
#
# Coverage: `coverage` holds simulated coverage of the 95 % intervals above
# (ANCOVA: exact method; mixed: the approximation), with a fixed seed.
# =============================================================================

suppressPackageStartupMessages({
  library(jsonlite)
  library(nlme)
})

script_dir <- local({
  args <- commandArgs(trailingOnly = FALSE)
  f <- sub("^--file=", "", args[grep("^--file=", args)])
  if (length(f) == 1L) dirname(normalizePath(f)) else getwd()
})
data_dir <- normalizePath(file.path(script_dir, "..", "data"))
out_file <- file.path(script_dir, "adjusted_effects.json")
LV3 <- c("manager", "peer", "external")

hedges_j <- function(df) exp(lgamma(df / 2) - log(sqrt(df / 2)) - lgamma((df - 1) / 2))

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

raw_hedges_g <- function(y, arm, a, b) {
  xa <- y[arm == a]; xb <- y[arm == b]
  na <- length(xa); nb <- length(xb); df <- na + nb - 2
  s <- sqrt(((na - 1) * var(xa) + (nb - 1) * var(xb)) / df)
  (mean(xb) - mean(xa)) / s * hedges_j(df)
}

# Contrast b - a of the arm coefficients (reference level = first level).
contrast <- function(beta, V, a, b) {
  L <- setNames(numeric(length(beta)), names(beta))
  if (a != LV3[1]) L[paste0("arm", a)] <- -1
  if (b != LV3[1]) L[paste0("arm", b)] <- L[paste0("arm", b)] + 1
  c(diff = sum(L * beta), se = sqrt(as.numeric(t(L) %*% V %*% L)))
}

pairs3 <- list(c("manager", "peer"), c("manager", "external"), c("peer", "external"))

standardise <- function(est, sd, df, correct) {
  j <- if (correct) hedges_j(df) else 1
  nb <- ncp_bounds(est[["diff"]] / est[["se"]], df)
  list(diff = est[["diff"]], se = est[["se"]], g = est[["diff"]] / sd * j,
       ci_low = nb[1] * est[["se"]] / sd * j, ci_high = nb[2] * est[["se"]] / sd * j)
}

ancova_block <- function(data, dv, covariate) {
  data$arm <- factor(data$arm, levels = LV3)
  fit <- lm(reformulate(c("arm", covariate), dv), data = data)
  sd <- sigma(fit); df <- df.residual(fit)
  lapply(pairs3, function(p) {
    est <- contrast(coef(fit), vcov(fit), p[1], p[2])
    c(list(a = p[1], b = p[2], sd = sd, df = df,
           raw_g = raw_hedges_g(data[[dv]], data$arm, p[1], p[2])),
      standardise(est, sd, df, TRUE))
  })
}

mixed_block <- function(data, dv, covariate) {
  data$arm <- factor(data$arm, levels = LV3)
  fit <- lme(reformulate(c("arm", covariate), dv), random = ~ 1 | team, data = data,
             method = "REML", control = lmeControl(tolerance = 1e-10, msTol = 1e-10))
  v_cl <- as.numeric(getVarCov(fit)); v_res <- fit$sigma^2
  sd <- sqrt(v_cl + v_res)
  df <- summary(fit)$tTable[paste0("arm", LV3[2]), "DF"]
  lapply(pairs3, function(p) {
    est <- contrast(fixef(fit), vcov(fit), p[1], p[2])
    c(list(a = p[1], b = p[2], sd = sd, df = df, var_cluster = v_cl, var_residual = v_res,
           raw_g = raw_hedges_g(data[[dv]], data$arm, p[1], p[2])),
      standardise(est, sd, df, FALSE))
  })
}

perf <- read.csv(file.path(data_dir, "performance.csv"), stringsAsFactors = FALSE)
clus <- read.csv(file.path(data_dir, "clustered.csv"), stringsAsFactors = FALSE)
imb  <- read.csv(file.path(data_dir, "baseline_imbalance.csv"), stringsAsFactors = FALSE)

out <- list(
  ancova_performance = ancova_block(perf, "after", "before"),
  ancova_imbalance   = ancova_block(imb, "outcome", "baseline"),
  mixed_clustered    = mixed_block(clus, "outcome", "baseline"),
  mixed_imbalance    = mixed_block(imb, "outcome", "baseline"))

# -----------------------------------------------------------------------------
# Coverage of the 95 % intervals, by simulation on the design of
# baseline_imbalance.csv (its arms, teams and baselines kept; outcomes redrawn
# with known effects). True delta of manager - peer (b - a = peer - manager):
#   ANCOVA: (effect_peer - effect_manager) / sigma_e
#   mixed : (effect_peer - effect_manager) / sqrt(tau^2 + sigma_e^2)
# -----------------------------------------------------------------------------
set.seed(20261201)
imb$arm <- factor(imb$arm, levels = LV3)
effect <- c(manager = 6, peer = 0, external = 1)
sims <- 1000
tau <- 4; sigma_e <- 10
hit_ancova <- 0; hit_mixed <- 0; fitted <- 0
team_index <- as.integer(factor(imb$team))
for (s in seq_len(sims)) {
  u <- rnorm(max(team_index), 0, tau)
  y <- 20 + effect[as.character(imb$arm)] + 0.8 * imb$baseline + u[team_index] + rnorm(nrow(imb), 0, sigma_e)
  d <- data.frame(y = y, arm = imb$arm, baseline = imb$baseline, team = imb$team)
  # ANCOVA without teams: data generated without team effect for its own check
  y0 <- 20 + effect[as.character(imb$arm)] + 0.8 * imb$baseline + rnorm(nrow(imb), 0, sigma_e)
  d0 <- data.frame(y = y0, arm = imb$arm, baseline = imb$baseline)
  a <- ancova_block(d0, "y", "baseline")[[1]]
  truth0 <- (effect["peer"] - effect["manager"]) / sigma_e
  hit_ancova <- hit_ancova + (a$ci_low / hedges_j(a$df) <= truth0 && truth0 <= a$ci_high / hedges_j(a$df))
  m <- tryCatch(mixed_block(d, "y", "baseline")[[1]], error = function(e) NULL)
  if (!is.null(m)) {
    fitted <- fitted + 1
    truth <- (effect["peer"] - effect["manager"]) / sqrt(tau^2 + sigma_e^2)
    hit_mixed <- hit_mixed + (m$ci_low <= truth && truth <= m$ci_high)
  }
}
out$coverage <- list(simulations = sims, tau = tau, sigma = sigma_e,
                     ancova = hit_ancova / sims, mixed = hit_mixed / fitted, mixed_fitted = fitted)

out$versions <- list(R = R.version.string,
                     nlme = as.character(packageVersion("nlme")),
                     jsonlite = as.character(packageVersion("jsonlite")))
write_json(out, out_file, auto_unbox = TRUE, digits = NA, pretty = TRUE)
cat("wrote", out_file, "\n")
