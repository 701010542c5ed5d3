#!/usr/bin/env Rscript
# =============================================================================
# R reference for the chance of being best and expected loss (issue 16 item 3):
# analysis.bayes.probability_best against an independent Monte Carlo in R
# (mvtnorm::rmvnorm) and the conjugate normal posterior computed with R's
# matrix algebra.
#
# Regenerate with:
#   cd tests/analysis/reference && Rscript bayes.R
# (R with mvtnorm, lme4 and jsonlite: r-base-core, r-cran-mvtnorm,
# r-cran-lme4, r-cran-jsonlite.)
#
# Writes bayes.json here. Per case: levels (the first is the reference),
# estimates d (level - reference) and their covariance V, prior_sd tau (per arm;
# null = flat). Posterior, with P = tau^2 (I + J):
#   Sigma = solve(solve(V) + solve(P)),  mu = Sigma %*% solve(V) %*% d
# (flat: mu = d, Sigma = V). Then 2,000,000 draws of the differences from
# rmvnorm(mu, Sigma) (set.seed(16)), the reference arm at 0:
#   probability_best[i] = mean(arm i is the highest)     (lowest when lower is better)
#   expected_loss[i]    = mean(max_j theta_j - theta_i)  (theta_i - min_j theta_j)
# with their Monte Carlo SEs (sqrt(p (1 - p) / n) and sd(loss) / sqrt(n)).
#
# The case "clustered" takes d and V from lmer(outcome ~ arm + (1 | team)) on
# ../data/clustered.csv (fixef and vcov of the arm coefficients) and
# tau = 0.2 * sqrt(team variance + residual variance) / sqrt(2): the market
# note's N(0, 0.2^2) prior on a standardised difference between two arms.
# =============================================================================

suppressPackageStartupMessages({
  library(jsonlite)
  library(lme4)
  library(mvtnorm)
})

script_dir <- local({
  args <- commandArgs(trailingOnly = FALSE)
  f <- sub("^--file=", "", args[grep("^--file=", args)])
  if (length(f) == 1L) dirname(normalizePath(f)) else getwd()
})
data_dir <- normalizePath(file.path(script_dir, "..", "data"))
out_file <- file.path(script_dir, "bayes.json")
DRAWS <- 2e6

rows <- function(m) unname(lapply(seq_len(nrow(m)), function(i) unname(m[i, ])))

posterior <- function(d, V, tau) {
  if (is.null(tau)) return(list(mean = d, cov = V))
  m <- length(d)
  P <- tau^2 * (diag(m) + matrix(1, m, m))
  S <- solve(solve(V) + solve(P))
  list(mean = drop(S %*% solve(V) %*% d), cov = S)
}

chances <- function(mu, S, higher_is_better) {
  theta <- cbind(0, rmvnorm(DRAWS, mean = mu, sigma = S))
  if (!higher_is_better) theta <- -theta
  best <- apply(theta, 1, max)
  wins <- tabulate(max.col(theta, ties.method = "first"), ncol(theta)) / DRAWS
  loss <- best - theta
  list(probability_best = wins, expected_loss = unname(colMeans(loss)),
       p_se = sqrt(wins * (1 - wins) / DRAWS), loss_se = unname(apply(loss, 2, sd)) / sqrt(DRAWS))
}

make_case <- function(levels, d, V, tau, higher_is_better = TRUE) {
  post <- posterior(d, V, tau)
  flat <- chances(d, V, higher_is_better)
  with_prior <- if (is.null(tau)) flat else chances(post$mean, post$cov, higher_is_better)
  list(levels = levels, estimates = d, covariance = rows(V), prior_sd = tau,
       higher_is_better = higher_is_better,
       posterior_mean = post$mean, posterior_covariance = rows(post$cov),
       posterior_sd = sqrt(diag(post$cov)), chances = with_prior, flat = flat)
}

set.seed(16)
V3 <- matrix(c(0.02, 0.008, 0.008, 0.025), 2)
V4 <- matrix(c(4, 1.5, 1, 1.5, 5, 2, 1, 2, 6), 3)

d <- read.csv(file.path(data_dir, "clustered.csv"), stringsAsFactors = FALSE)
d$arm <- factor(d$arm, levels = c("manager", "peer", "external"))
fit <- lmer(outcome ~ arm + (1 | team), data = d, REML = TRUE)
arms <- c("armpeer", "armexternal")
vc <- as.data.frame(VarCorr(fit))
outcome_sd <- sqrt(sum(vc$vcov))
tau <- 0.2 * outcome_sd / sqrt(2)

out <- list(
  draws = DRAWS,
  cases = list(
    three_arms_flat = make_case(c("manager", "peer", "external"), c(0.15, 0.05), V3, NULL),
    three_arms_lower_is_better = make_case(c("manager", "peer", "external"), c(0.15, 0.05), V3, NULL, FALSE),
    three_arms_prior = make_case(c("manager", "peer", "external"), c(0.15, 0.05), V3, 0.1),
    four_arms_prior = make_case(c("a", "b", "c", "d"), c(1, 2, 1.5), V4, 1.5),
    clustered = c(make_case(c("manager", "peer", "external"), unname(fixef(fit)[arms]),
                            unname(as.matrix(vcov(fit))[arms, arms]), tau),
                  list(outcome_sd = outcome_sd, scale_sd_units = 0.2))
  )
)
out$versions <- list(R = R.version.string,
                     mvtnorm = as.character(packageVersion("mvtnorm")),
                     lme4 = as.character(packageVersion("lme4")),
                     jsonlite = as.character(packageVersion("jsonlite")))
write_json(out, out_file, auto_unbox = TRUE, digits = NA, pretty = TRUE, null = "null")
