# Reference for tests/analysis/test_scale_and_drops.py (issue 13, item 1; audit finding F5).
# Reads ../data/scale_shift.csv, shifts outcome and baseline by 1e4, 1e6, 1e8 or multiplies them
# by 1e-6, and fits: nlme::lme (REML, containment df, marginal Wald F of arm), lme4::lmer (REML,
# for the variance components) and lm (ANCOVA, type II F of arm, emmeans-style adjusted means).
# Run: cd tests/analysis/reference && Rscript scale_shift.R   (writes scale_shift.json)
suppressPackageStartupMessages({library(nlme); library(lme4); library(jsonlite)})
raw <- read.csv("../data/scale_shift.csv")
raw$arm <- factor(raw$arm, levels = c("manager", "peer", "external"))
transforms <- list(none = function(v) v, shift_1e4 = function(v) v + 1e4, shift_1e6 = function(v) v + 1e6,
                   shift_1e8 = function(v) v + 1e8, "times_1e-6" = function(v) v * 1e-6)
mixed_fit <- function(d, with_baseline) {
  # nlme is fitted on data centred in R (a user would not need to); lme4 checks the components.
  f <- if (with_baseline) outcome ~ arm + baseline else outcome ~ arm
  fit <- lme(f, random = ~ 1 | team, data = d, method = "REML",
             control = lmeControl(opt = "optim", msMaxIter = 1000, tolerance = 1e-12))
  a <- anova(fit, Terms = "arm")
  fe <- summary(fit)$tTable
  lf <- if (with_baseline) outcome ~ arm + baseline + (1 | team) else outcome ~ arm + (1 | team)
  lfit <- lmer(lf, data = d, REML = TRUE)
  vc <- as.data.frame(VarCorr(lfit))
  # nlme's optimiser stops ~1e-3 short in the variance components, so the tested F and p are the
  # Wald tests on lme4's (tightly converged) REML fit with nlme's containment df.
  arms <- c("armpeer", "armexternal")
  b <- fixef(lfit)[arms]; V <- as.matrix(vcov(lfit))[arms, arms]; se <- sqrt(diag(V))
  Fw <- as.numeric(t(b) %*% solve(V, b)) / 2
  out <- list(F_arm = Fw, p_arm = pf(Fw, 2, a$denDF, lower.tail = FALSE), df_arm = a$denDF,
              estimates = unname(b), se = unname(se), p = unname(2 * pt(-abs(b / se), a$denDF)),
              nlme_F_arm = a$"F-value", nlme_p_arm = a$"p-value",
              nlme_estimates = unname(fe[arms, "Value"]),
              var_cluster = vc$vcov[1], var_residual = vc$vcov[2],
              lmer_estimates = unname(fixef(lfit)[c("armpeer", "armexternal")]),
              nlme_var_cluster = as.numeric(VarCorr(fit)[1, 1]), nlme_var_residual = fit$sigma^2)
  if (with_baseline) out$baseline <- unname(fixef(lfit)["baseline"])
  out
}
# Fit R on centred copies so that R's own optimisers are not the thing under test; the
# estimates, SEs and p-values are invariant to centring, and the scale factor is undone here.
centred <- function(d, k) {
  d$outcome <- (d$outcome - mean(d$outcome)); d$baseline <- (d$baseline - mean(d$baseline)); d
}
result <- list(mixed = list(with_baseline = list(), without_baseline = list()), ancova = list())
for (name in names(transforms)) {
  d <- raw
  d$outcome <- transforms[[name]](raw$outcome); d$baseline <- transforms[[name]](raw$baseline)
  k <- if (name == "times_1e-6") 1e-6 else 1
  for (wb in c(TRUE, FALSE)) {
    dc <- centred(d); dc$outcome <- dc$outcome / k; dc$baseline <- dc$baseline / k
    m <- mixed_fit(dc, wb)
    for (v in c("estimates", "se", "lmer_estimates", "nlme_estimates")) m[[v]] <- m[[v]] * k
    for (v in c("var_cluster", "var_residual", "nlme_var_cluster", "nlme_var_residual")) m[[v]] <- m[[v]] * k^2
    # The uncentred fit, as a user would run it, for the record (lmer may warn on scale).
    raw_fit <- tryCatch({
      lf <- if (wb) outcome ~ arm + baseline + (1 | team) else outcome ~ arm + (1 | team)
      l <- lmer(lf, data = d, REML = TRUE)
      unname(fixef(l)[c("armpeer", "armexternal")])
    }, error = function(e) conditionMessage(e), warning = function(w) conditionMessage(w))
    m$lmer_uncentred <- raw_fit
    result$mixed[[if (wb) "with_baseline" else "without_baseline"]][[name]] <- m
  }
  # lm on the data as given drops a column at 1e8 (QR tolerance); the reference is lm on centred
  # copies (invariant), with the rank of the uncentred fit kept for the record.
  raw_rank <- lm(outcome ~ arm + baseline, data = d)$rank
  dc <- centred(d); mo <- mean(d$outcome); mb <- mean(d$baseline)
  fit <- lm(outcome ~ arm + baseline, data = dc)
  fit0 <- lm(outcome ~ baseline, data = dc)
  a <- anova(fit0, fit)
  cf <- coef(fit)
  nd <- data.frame(arm = factor(levels(raw$arm), levels = levels(raw$arm)), baseline = 0)
  result$ancova[[name]] <- list(F_arm = a$F[2], p_arm = a$"Pr(>F)"[2],
                                estimates = unname(cf[c("armpeer", "armexternal")]),
                                baseline = unname(cf["baseline"]), sigma = summary(fit)$sigma,
                                adjusted_means = unname(predict(fit, nd)) + mo,
                                rank = fit$rank, rank_uncentred = raw_rank)
}
result$versions <- list(R = R.version.string, nlme = as.character(packageVersion("nlme")),
                        lme4 = as.character(packageVersion("lme4")))
write_json(result, "scale_shift.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
