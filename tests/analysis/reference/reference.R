#!/usr/bin/env Rscript
# =============================================================================
# Independent R reference values for the Python analysis library's tests.
#
# Regenerate with:
#   cd tests/analysis/reference && Rscript reference.R
#
# Reads the CSV files in ../data/ (relative to this script's folder) and writes
# reference.json next to this script.  Nothing else is touched.
#
# Conventions used throughout:
#   * factor levels are ALWAYS set explicitly in the order given in LEVELS;
#   * a "pair" (a, b) always has a before b in that level order, and every
#     pairwise difference is b minus a (mean(b) - mean(a), meanrank(b) - ...);
#   * all values are stored unrounded (write_json(digits = NA)).
# =============================================================================

suppressPackageStartupMessages({
  library(jsonlite)
  library(car)
  library(lme4)
  library(lmerTest)     # masks lme4::lmer -> Satterthwaite df in summary()
  library(nlme)
  library(emmeans)
  library(rstatix)
  library(effectsize)   # must be attached: cliffs_delta() evaluates
                        # rank_biserial() in the caller's frame
  library(psych)
})

# ---------------------------------------------------------------------------
# Locate this script's folder so ../data/ works from any working directory.
# ---------------------------------------------------------------------------
script_dir <- local({
  args <- commandArgs(trailingOnly = FALSE)
  f <- sub("^--file=", "", args[grep("^--file=", args)])
  if (length(f) == 1L) dirname(normalizePath(f)) else getwd()
})
data_dir <- normalizePath(file.path(script_dir, "..", "data"))
out_file <- file.path(script_dir, "reference.json")

read_data <- function(name) {
  read.csv(file.path(data_dir, name), stringsAsFactors = FALSE)
}

# Small helpers ---------------------------------------------------------------
num <- function(x) as.numeric(unname(x))            # strip names/attributes
pairs_of <- function(levels) {                       # (a, b), a before b
  out <- list()
  for (i in seq_along(levels)) for (j in seq_along(levels)) {
    if (i < j) out[[length(out) + 1L]] <- c(a = levels[i], b = levels[j])
  }
  out
}

# =============================================================================
# One-way block: everything computed for a single (dv, group) data set.
# =============================================================================
oneway_block <- function(df, dv, group, levels) {
  df <- df[, c(dv, group)]
  df <- df[complete.cases(df), ]
  df[[group]] <- factor(df[[group]], levels = levels)
  stopifnot(!any(is.na(df[[group]])))
  y <- df[[dv]]
  g <- df[[group]]
  fml <- as.formula(paste(dv, "~", group))
  prs <- pairs_of(levels)
  vals <- split(y, g)                                 # named by level
  res <- list(dv = dv, group = group, levels = levels)

  # --- descriptives: mean, sd, median; CI from stats::t.test(x)$conf.int ----
  res$descriptives <- lapply(levels, function(l) {
    x <- vals[[l]]
    ci <- t.test(x, conf.level = 0.95)$conf.int
    list(group = l, n = length(x), mean = mean(x), sd = sd(x),
         median = median(x), ci_low = ci[1], ci_high = ci[2])
  })

  # --- classical one-way ANOVA: stats::aov + summary() ----------------------
  fit <- aov(fml, data = df)
  tab <- summary(fit)[[1]]
  res$anova <- list(statistic = num(tab[1, "F value"]),
                    df1 = num(tab[1, "Df"]), df2 = num(tab[2, "Df"]),
                    p = num(tab[1, "Pr(>F)"]))

  # --- Welch ANOVA: stats::oneway.test(var.equal = FALSE) -------------------
  w <- oneway.test(fml, data = df, var.equal = FALSE)
  res$welch <- list(statistic = num(w$statistic),
                    df1 = num(w$parameter[1]), df2 = num(w$parameter[2]),
                    p = num(w$p.value))

  # --- Kruskal-Wallis (tie-corrected): stats::kruskal.test -----------------
  k <- kruskal.test(fml, data = df)
  res$kruskal <- list(statistic = num(k$statistic), df = num(k$parameter),
                      p = num(k$p.value))

  # --- Levene (Brown-Forsythe, median-centred): car::leveneTest ------------
  lv <- car::leveneTest(fml, data = df, center = median)
  res$levene <- list(statistic = num(lv[1, "F value"]),
                     df1 = num(lv[1, "Df"]), df2 = num(lv[2, "Df"]),
                     p = num(lv[1, "Pr(>F)"]))

  # --- Tukey HSD: stats::TukeyHSD (rows are labelled "b-a" = mean(b)-mean(a))
  tk <- TukeyHSD(fit, conf.level = 0.95)[[group]]
  res$tukey <- lapply(prs, function(p) {
    a <- p[["a"]]; b <- p[["b"]]
    rn <- paste(b, a, sep = "-")
    if (rn %in% rownames(tk)) {
      r <- tk[rn, ]
      list(a = a, b = b, diff = num(r["diff"]), ci_low = num(r["lwr"]),
           ci_high = num(r["upr"]), p_adj = num(r["p adj"]))
    } else {                         # reversed label -> flip the sign / CI
      r <- tk[paste(a, b, sep = "-"), ]
      list(a = a, b = b, diff = -num(r["diff"]), ci_low = -num(r["upr"]),
           ci_high = -num(r["lwr"]), p_adj = num(r["p adj"]))
    }
  })

  # --- Games-Howell: rstatix::games_howell_test ------------------------------
  # rstatix: estimate = mean(group2) - mean(group1), group1 earlier level.
  # rstatix ROUNDS p.adj to 3 decimals (p_round), so full-precision p_adj is
  # recomputed here with the same formula:
  #   t = |diff| / sqrt(v_a/n_a + v_b/n_b), Welch-Satterthwaite df,
  #   p = ptukey(t * sqrt(2), k, df, lower.tail = FALSE);
  # rstatix's rounded value is kept as "p_adj_rstatix".
  gh <- as.data.frame(rstatix::games_howell_test(df, fml, conf.level = 0.95,
                                                 detailed = TRUE))
  kk <- length(levels)
  res$games_howell <- lapply(prs, function(p) {
    a <- p[["a"]]; b <- p[["b"]]
    xa <- vals[[a]]; xb <- vals[[b]]
    se2 <- var(xa) / length(xa) + var(xb) / length(xb)
    dfw <- se2^2 / ((var(xa) / length(xa))^2 / (length(xa) - 1) +
                    (var(xb) / length(xb))^2 / (length(xb) - 1))
    tt <- abs(mean(xb) - mean(xa)) / sqrt(se2)
    p_own <- ptukey(tt * sqrt(2), kk, dfw, lower.tail = FALSE)
    i <- which(gh$group1 == a & gh$group2 == b)
    if (length(i) == 1L) {
      d <- gh$estimate[i]; lo <- gh$conf.low[i]; hi <- gh$conf.high[i]
    } else {                         # stored the other way round -> flip
      i <- which(gh$group1 == b & gh$group2 == a)
      d <- -gh$estimate[i]; lo <- -gh$conf.high[i]; hi <- -gh$conf.low[i]
    }
    list(a = a, b = b, diff = num(d), ci_low = num(lo), ci_high = num(hi),
         p_adj = num(p_own), p_adj_rstatix = num(gh$p.adj[i]),
         statistic = num(tt), df = num(dfw),
         check_diff_b_minus_a = mean(xb) - mean(xa))
  })

  # --- Dunn test: rstatix::dunn_test(p.adjust.method = "holm") -------------
  # "statistic" is rstatix's value as returned; "z_b_minus_a" is computed
  # here independently (tie-corrected variance) with sign meanrank(b) - (a).
  dn <- as.data.frame(rstatix::dunn_test(df, fml, p.adjust.method = "holm",
                                         detailed = TRUE))
  rk <- rank(y)
  N <- length(y)
  tie_t <- as.numeric(table(y))
  tie_term <- sum(tie_t^3 - tie_t) / (12 * (N - 1))
  mr <- tapply(rk, g, mean)
  ng <- tapply(rk, g, length)
  res$dunn <- lapply(prs, function(p) {
    a <- p[["a"]]; b <- p[["b"]]
    z <- (mr[[b]] - mr[[a]]) /
      sqrt((N * (N + 1) / 12 - tie_term) * (1 / ng[[a]] + 1 / ng[[b]]))
    i <- which(dn$group1 == a & dn$group2 == b)
    if (length(i) != 1L) i <- which(dn$group1 == b & dn$group2 == a)
    list(a = a, b = b, statistic = num(dn$statistic[i]), p = num(dn$p[i]),
         p_adj = num(dn$p.adj[i]), z_b_minus_a = num(z),
         p_from_z = 2 * pnorm(-abs(z)),
         rstatix_group1 = dn$group1[i], rstatix_group2 = dn$group2[i])
  })

  # --- Mann-Whitney per pair: stats::wilcox.test(x = a, y = b) --------------
  # W = number of (a_i, b_j) pairs with a_i > b_j (+ 0.5 per tie).
  # Holm via stats::p.adjust over the pairs of this data set; cross-checked
  # with stats::pairwise.wilcox.test (matrix entry [b, a]).
  mw <- lapply(prs, function(p) {
    wt <- suppressWarnings(wilcox.test(x = vals[[p[["a"]]]],
                                       y = vals[[p[["b"]]]],
                                       exact = FALSE, correct = TRUE))
    list(a = p[["a"]], b = p[["b"]], statistic = num(wt$statistic),
         p = num(wt$p.value))
  })
  padj <- p.adjust(sapply(mw, `[[`, "p"), method = "holm")
  pw <- suppressWarnings(pairwise.wilcox.test(y, g, p.adjust.method = "holm",
                                              exact = FALSE, correct = TRUE))
  for (i in seq_along(mw)) {
    mw[[i]]$p_adj <- padj[i]
    mw[[i]]$p_adj_pairwise_wilcox <- num(pw$p.value[mw[[i]]$b, mw[[i]]$a])
  }
  res$mann_whitney <- mw

  # --- Effect sizes from the aov table (raw formulas, may be negative) ------
  ssb <- tab[1, "Sum Sq"]; ssw <- tab[2, "Sum Sq"]; sst <- ssb + ssw
  dfb <- tab[1, "Df"]; msw <- tab[2, "Mean Sq"]
  res$effect_sizes <- list(
    eta_squared     = num(ssb / sst),
    omega_squared   = num((ssb - dfb * msw) / (sst + msw)),
    epsilon_squared = num((ssb - dfb * msw) / sst))
  # effectsize package (partial = FALSE); NB: it truncates omega2/epsilon2 at 0
  res$effect_sizes_effectsize_pkg <- list(
    eta_squared = num(effectsize::eta_squared(fit, partial = FALSE,
                                              verbose = FALSE)$Eta2),
    omega_squared = num(effectsize::omega_squared(fit, partial = FALSE,
                                                  verbose = FALSE)$Omega2),
    epsilon_squared = num(effectsize::epsilon_squared(fit, partial = FALSE,
                                                      verbose = FALSE)$Epsilon2))

  # --- Pairwise effect sizes: effectsize::hedges_g, Cliff's delta ----------
  # hedges_g(x = b, y = a, pooled_sd = TRUE): positive = b higher.
  # Additionally an independent CI ("g_ci_*_uniroot"): noncentral-t
  # inversion solved with uniroot (effectsize uses optim), scaled by
  # sqrt(1/n_a + 1/n_b) and multiplied by the exact J correction.
  res$pairwise_effects <- lapply(prs, function(p) {
    a <- p[["a"]]; b <- p[["b"]]
    xa <- vals[[a]]; xb <- vals[[b]]
    hg <- effectsize::hedges_g(x = xb, y = xa, pooled_sd = TRUE, ci = 0.95,
                               verbose = FALSE)
    na_ <- length(xa); nb_ <- length(xb); dfp <- na_ + nb_ - 2
    sp <- sqrt(((na_ - 1) * var(xa) + (nb_ - 1) * var(xb)) / dfp)
    d <- (mean(xb) - mean(xa)) / sp
    J <- exp(lgamma(dfp / 2) - log(sqrt(dfp / 2)) - lgamma((dfp - 1) / 2))
    hn <- 1 / na_ + 1 / nb_
    tobs <- d / sqrt(hn)
    f_ncp <- function(prob) uniroot(function(ncp) pt(tobs, dfp, ncp) - prob,
                                    lower = tobs - 5, upper = tobs + 5,
                                    extendInt = "downX", tol = 1e-13)$root
    cliff <- mean(sign(outer(xb, xa, "-")))
    cd_pkg <- effectsize::cliffs_delta(xb, xa, verbose = FALSE)
    list(a = a, b = b,
         hedges_g = num(hg$Hedges_g), g_ci_low = num(hg$CI_low),
         g_ci_high = num(hg$CI_high),
         cohens_d = d, hedges_J = J, hedges_g_formula = d * J,
         g_ci_low_uniroot = f_ncp(0.975) * sqrt(hn) * J,
         g_ci_high_uniroot = f_ncp(0.025) * sqrt(hn) * J,
         cliffs_delta = cliff,
         cliffs_delta_pkg = num(cd_pkg[[1]]))
  })
  res
}

# =============================================================================
# Read data sets and run the one-way blocks.
# =============================================================================
LV3 <- c("manager", "peer", "external")
plant   <- read_data("plantgrowth.csv")
likert  <- read_data("likert.csv")
unvar   <- read_data("unequal_var.csv")
ties    <- read_data("ties.csv")
unn     <- read_data("unequal_n.csv")
twog    <- read_data("two_groups.csv")
clus    <- read_data("clustered.csv")
perf    <- read_data("performance.csv")
scale_d <- read_data("scale_items.csv")

out <- list()
out$plantgrowth  <- oneway_block(plant, "weight", "group",
                                 c("ctrl", "trt1", "trt2"))
out$likert       <- oneway_block(likert, "rating", "arm", LV3)
out$unequal_var  <- oneway_block(unvar, "score", "arm", LV3)
out$ties         <- oneway_block(ties, "value", "arm", LV3)
out$unequal_n_y1 <- oneway_block(unn, "y1", "group", c("g1", "g2", "g3", "g4"))
out$unequal_n_y2 <- oneway_block(unn, "y2", "group", c("g1", "g2", "g3", "g4"))
out$two_groups   <- oneway_block(twog, "score", "arm", c("manager", "peer"))
out$clustered    <- oneway_block(clus, "outcome", "arm", LV3)

# =============================================================================
# clustered_models: mixed models, ANCOVA, design effect, team-level link.
# =============================================================================
clus$arm  <- factor(clus$arm, levels = LV3)   # manager = reference
clus$team <- factor(clus$team)

# lmerTest::lmer (== lme4::lmer + Satterthwaite df/p in summary) -------------
lmer_block <- function(formula) {
  fit <- lmerTest::lmer(formula, data = clus, REML = TRUE)
  co  <- summary(fit, ddf = "Satterthwaite")$coefficients
  vc  <- as.data.frame(lme4::VarCorr(fit))
  v_cl  <- vc$vcov[vc$grp == "team"]
  v_res <- vc$vcov[vc$grp == "Residual"]
  conv_msgs <- fit@optinfo$conv$lme4$messages
  fixed <- list()
  for (tm in rownames(co)) {
    fixed[[tm]] <- list(estimate = num(co[tm, "Estimate"]),
                        se = num(co[tm, "Std. Error"]),
                        df_satterthwaite = num(co[tm, "df"]),
                        t = num(co[tm, "t value"]),
                        p_satterthwaite = num(co[tm, "Pr(>|t|)"]))
  }
  # Satterthwaite F test for the arm factor (lmerTest anova, type III)
  an <- anova(fit, type = 3, ddf = "Satterthwaite")
  list(formula = paste(deparse(formula), collapse = ""),
       fixed = fixed,
       var_cluster = v_cl, var_residual = v_res,
       icc = v_cl / (v_cl + v_res),
       reml_criterion = num(lme4::REMLcrit(fit)),
       arm_test_satterthwaite = list(statistic = num(an["arm", "F value"]),
                                     df1 = num(an["arm", "NumDF"]),
                                     df2 = num(an["arm", "DenDF"]),
                                     p = num(an["arm", "Pr(>F)"])),
       converged = is.null(conv_msgs) && fit@optinfo$conv$opt == 0,
       convergence_messages = if (is.null(conv_msgs)) list() else
         as.list(conv_msgs),
       singular = lme4::isSingular(fit))
}

# nlme::lme (REML); anova(fit, type = "marginal") row "arm" ---------------------
lme_block <- function(fixed_formula) {
  fit <- nlme::lme(fixed_formula, random = ~ 1 | team, data = clus,
                   method = "REML")
  tt <- summary(fit)$tTable
  tTable <- list()
  for (tm in rownames(tt)) {
    tTable[[tm]] <- list(estimate = num(tt[tm, "Value"]),
                         se = num(tt[tm, "Std.Error"]),
                         df = num(tt[tm, "DF"]),
                         t = num(tt[tm, "t-value"]),
                         p = num(tt[tm, "p-value"]))
  }
  am <- anova(fit, type = "marginal")
  as_ <- anova(fit, type = "sequential")
  # nlme::VarCorr() returns *formatted strings* (~7 digits), so take the
  # variance components at full precision from getVarCov() and sigma.
  v_cl  <- as.numeric(nlme::getVarCov(fit))
  v_res <- fit$sigma^2
  vc <- nlme::VarCorr(fit)
  stopifnot(abs(v_cl - as.numeric(vc["(Intercept)", "Variance"])) < 1e-6,
            abs(v_res - as.numeric(vc["Residual", "Variance"])) < 1e-6)
  list(formula = paste(deparse(fixed_formula), collapse = ""),
       tTable = tTable,
       arm_test = list(type = "marginal",
                       statistic = num(am["arm", "F-value"]),
                       df1 = num(am["arm", "numDF"]),
                       df2 = num(am["arm", "denDF"]),
                       p = num(am["arm", "p-value"])),
       arm_test_sequential = list(statistic = num(as_["arm", "F-value"]),
                                  df1 = num(as_["arm", "numDF"]),
                                  df2 = num(as_["arm", "denDF"]),
                                  p = num(as_["arm", "p-value"])),
       var_cluster = v_cl, var_residual = v_res,
       icc = v_cl / (v_cl + v_res))
}

# ANCOVA: stats::lm + car::Anova(type = 2) + emmeans::emmeans ------------------
ancova_block <- function(formula, data, covariate) {
  fit <- lm(formula, data = data)
  co <- summary(fit)$coefficients
  arm_terms <- grep("^arm", rownames(co), value = TRUE)
  coefs <- list()
  for (tm in arm_terms) {
    coefs[[tm]] <- list(estimate = num(co[tm, "Estimate"]),
                        se = num(co[tm, "Std. Error"]),
                        t = num(co[tm, "t value"]),
                        p = num(co[tm, "Pr(>|t|)"]))
  }
  av <- car::Anova(fit, type = 2)
  em <- as.data.frame(summary(emmeans::emmeans(fit, "arm")))
  em <- em[match(levels(data$arm), as.character(em$arm)), ]
  list(arm_coefficients = coefs,
       arm_test = list(statistic = num(av["arm", "F value"]),
                       df1 = num(av["arm", "Df"]),
                       df2 = num(av["Residuals", "Df"]),
                       p = num(av["arm", "Pr(>F)"])),
       adjusted_means = lapply(seq_len(nrow(em)), function(i)
         list(group = as.character(em$arm[i]), mean = num(em$emmean[i]),
              se = num(em$SE[i]), df = num(em$df[i]),
              ci_low = num(em$lower.CL[i]), ci_high = num(em$upper.CL[i]))),
       covariate = list(name = covariate,
                        estimate = num(co[covariate, "Estimate"]),
                        se = num(co[covariate, "Std. Error"]),
                        p = num(co[covariate, "Pr(>|t|)"])),
       covariate_mean = mean(data[[covariate]]),
       residual_sigma = summary(fit)$sigma,
       df_residual = fit$df.residual)
}

cm <- list()
cm$lmer_baseline   <- lmer_block(outcome ~ arm + baseline + (1 | team))
cm$lmer_nobaseline <- lmer_block(outcome ~ arm + (1 | team))
cm$lme_baseline    <- lme_block(outcome ~ arm + baseline)
cm$lme_nobaseline  <- lme_block(outcome ~ arm)
anc <- ancova_block(outcome ~ arm + baseline, clus, "baseline")
anc$baseline <- list(estimate = anc$covariate$estimate,
                     se = anc$covariate$se, p = anc$covariate$p)
cm$ancova <- anc

# Design effect: mean cluster size and 1 + (m_bar - 1) * icc(lmer_nobaseline)
team_sizes <- as.numeric(table(clus$team))
m_bar <- mean(team_sizes)
cm$design_effect <- list(n_clusters = length(team_sizes),
                         n_obs = nrow(clus),
                         m_bar = m_bar,
                         icc = cm$lmer_nobaseline$icc,
                         design_effect = 1 + (m_bar - 1) *
                           cm$lmer_nobaseline$icc)

# Team-level link: stats::cor.test on team means (Pearson and Spearman)
tb <- tapply(clus$baseline, clus$team, mean)
to <- tapply(clus$outcome, clus$team, mean)
ct_p <- cor.test(num(tb), num(to))
ct_s <- suppressWarnings(cor.test(num(tb), num(to), method = "spearman",
                                  exact = FALSE))
cm$team_link <- list(
  pearson = list(r = num(ct_p$estimate), ci_low = ct_p$conf.int[1],
                 ci_high = ct_p$conf.int[2], p = ct_p$p.value,
                 n = length(tb), t = num(ct_p$statistic),
                 df = num(ct_p$parameter)),
  spearman = list(rho = num(ct_s$estimate), p = ct_s$p.value,
                  S = num(ct_s$statistic)))
out$clustered_models <- cm

# =============================================================================
# performance_did: change scores, pairwise Welch t-tests, ANCOVA.
# =============================================================================
perf$arm <- factor(perf$arm, levels = LV3)
perf$change <- perf$after - perf$before
chg <- split(perf$change, perf$arm)
did <- list()
did$per_arm <- lapply(LV3, function(l) {
  x <- chg[[l]]
  ci <- t.test(x)$conf.int                     # stats::t.test (one-sample)
  list(group = l, n = length(x), mean_change = mean(x), sd_change = sd(x),
       ci_low = ci[1], ci_high = ci[2])
})
# stats::t.test(change_b, change_a) Welch -> estimate = mean b - mean a
did$pairwise <- lapply(pairs_of(LV3), function(p) {
  tt <- t.test(chg[[p[["b"]]]], chg[[p[["a"]]]], var.equal = FALSE)
  list(a = p[["a"]], b = p[["b"]],
       did = mean(chg[[p[["b"]]]]) - mean(chg[[p[["a"]]]]),
       ci_low = tt$conf.int[1], ci_high = tt$conf.int[2], p = tt$p.value,
       statistic = num(tt$statistic), df = num(tt$parameter))
})
pa <- ancova_block(after ~ arm + before, perf, "before")
did$ancova <- pa
out$performance_did <- did

# =============================================================================
# alpha: Cronbach's alpha, psych::alpha and the textbook formula.
# =============================================================================
items_all <- scale_d[, c("item_1", "item_2", "item_3", "item_4")]
items_all$item_3 <- 6 - items_all$item_3       # reverse-key item_3
keep <- complete.cases(items_all)
items_cc <- items_all[keep, ]
arm_cc <- scale_d$arm[keep]
alpha_formula <- function(it) {
  k <- ncol(it)
  k / (k - 1) * (1 - sum(apply(it, 2, var)) / var(rowSums(it)))
}
alpha_psych <- function(it) {
  suppressWarnings(suppressMessages(
    psych::alpha(it, check.keys = FALSE, warnings = FALSE)$total$raw_alpha))
}
al <- list(reverse_keyed = "item_3", reverse_rule = "6 - item_3",
           n_rows = nrow(scale_d),
           overall = list(n = nrow(items_cc),
                          alpha_psych = alpha_psych(items_cc),
                          alpha_formula = alpha_formula(items_cc)))
al$per_arm <- lapply(LV3, function(l) {
  it <- items_cc[arm_cc == l, ]
  list(group = l, n = nrow(it), alpha_psych = alpha_psych(it),
       alpha_formula = alpha_formula(it))
})
out$alpha <- al

# =============================================================================
# holm: stats::p.adjust(method = "holm")
# =============================================================================
hp <- c(0.01, 0.04, 0.03, 0.005, 0.2, 0.049)
out$holm <- list(p = hp, p_adj = p.adjust(hp, method = "holm"))

# =============================================================================
# srm: sample-ratio-mismatch, stats::chisq.test goodness of fit
# =============================================================================
srm_case <- function(obs, ratio) {
  ct <- chisq.test(x = obs, p = ratio / sum(ratio))
  list(observed = obs, ratio = ratio, statistic = num(ct$statistic),
       df = num(ct$parameter), p = ct$p.value)
}
out$srm <- list(case1 = srm_case(c(12, 8, 7), c(1, 1, 1)),
                case2 = srm_case(c(100, 130), c(1, 1)),
                case3 = srm_case(c(50, 52, 98), c(1, 1, 2)))

# =============================================================================
# planning: MDE for a cluster-randomised two-arm comparison (exact definition)
#   DE = 1 + (m - 1) rho ; se = sqrt(2 DE / (J m)) ; df = 2 (J - 1)
#   power(delta) = P(T > tc) + P(T < -tc), T ~ t(df, ncp = delta / se),
#   tc = qt(1 - a/2, df), a = alpha / choose(k, 2)   (Bonferroni over pairs)
#   MDE solves power(delta) = target via stats::uniroot.
# =============================================================================
plan_power <- function(delta, k, J, m, rho, alpha) {
  a  <- alpha / choose(k, 2)
  de <- 1 + (m - 1) * rho
  se <- sqrt(2 * de / (J * m))
  df <- 2 * (J - 1)
  tc <- qt(1 - a / 2, df)
  ncp <- delta / se
  pt(tc, df, ncp = ncp, lower.tail = FALSE) + pt(-tc, df, ncp = ncp)
}
plan_mde <- function(k, J, m, rho, alpha, power) {
  r <- uniroot(function(d) plan_power(d, k, J, m, rho, alpha) - power,
               lower = 1e-6, upper = 10, tol = 1e-13, extendInt = "upX")
  de <- 1 + (m - 1) * rho
  list(k = k, J = J, m = m, rho = rho, alpha = alpha, power = power,
       alpha_per_pair = alpha / choose(k, 2),
       design_effect = de, se = sqrt(2 * de / (J * m)), df = 2 * (J - 1),
       mde = r$root,
       power_at_mde = plan_power(r$root, k, J, m, rho, alpha))
}
cases <- list(c(3, 9, 8, 0.10, 0.05, 0.80),
              c(3, 20, 10, 0.05, 0.05, 0.80),
              c(2, 5, 12, 0.20, 0.05, 0.90),
              c(3, 30, 6, 0.0, 0.05, 0.80),
              c(2, 100, 1, 0.0, 0.05, 0.80))
plan <- list(mde_cases = lapply(cases, function(cc)
  plan_mde(cc[1], cc[2], cc[3], cc[4], cc[5], cc[6])))
# sanity check for the last case: stats::power.t.test (two-sample, n = 100).
# strict = FALSE (default) ignores the far tail; strict = TRUE matches the
# two-tailed definition above.
plan$power_t_test_check <- list(
  n = 100, sd = 1, sig.level = 0.05, power = 0.8,
  delta = power.t.test(n = 100, sd = 1, sig.level = 0.05, power = 0.8,
                       tol = 1e-12)$delta,
  delta_strict = power.t.test(n = 100, sd = 1, sig.level = 0.05, power = 0.8,
                              strict = TRUE, tol = 1e-12)$delta)
teams_needed <- function(k, delta, m, rho, alpha, power) {
  J <- 2
  while (plan_power(delta, k, J, m, rho, alpha) < power) J <- J + 1
  list(k = k, delta = delta, m = m, rho = rho, alpha = alpha, power = power,
       J = J, power_reached = plan_power(delta, k, J, m, rho, alpha),
       power_at_J_minus_1 = plan_power(delta, k, J - 1, m, rho, alpha))
}
plan$teams_needed <- list(teams_needed(3, 0.5, 8, 0.1, 0.05, 0.8),
                          teams_needed(2, 0.3, 10, 0.05, 0.05, 0.8))
out$planning <- plan

# =============================================================================
# versions
# =============================================================================
pkgs <- c("car", "lme4", "lmerTest", "nlme", "emmeans", "rstatix",
          "effectsize", "psych", "jsonlite")
out$versions <- c(list(R = R.version.string),
                  setNames(lapply(pkgs, function(p)
                    as.character(packageVersion(p))), pkgs))
cat(R.version.string, "\n")
for (p in pkgs) cat(sprintf("%-10s %s\n", p, as.character(packageVersion(p))))

jsonlite::write_json(out, out_file, digits = NA, auto_unbox = TRUE,
                     pretty = TRUE, na = "null")
cat("wrote", out_file, "\n")
