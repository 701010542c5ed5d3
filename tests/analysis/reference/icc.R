#!/usr/bin/env Rscript
# =============================================================================
# R reference for ICC(1) with its F-based 95 % interval (analysis.icc, issue 17 item 2).
#
# Regenerate with:  cd tests/analysis/reference && Rscript icc.R
# (R with psychometric and jsonlite: r-cran-psychometric, r-cran-jsonlite.)
#
# Balanced case: psychometric::ICC1.CI on ../data/satterthwaite_balanced.csv
# (outcome within team; psychometric uses the mean team size, which equals
# Searle's n0 when the teams are of one size).  Unbalanced case, by hand from
# aov: on ../data/clustered.csv, the outcome within team after each arm's mean
# (anova(lm(outcome ~ arm + team)): team's mean square on J - g df, residual on
# N - J), n0 = (N - sum(n_j^2) / N) / (J - 1), and the F interval
#   ICC = (MSB - MSW) / (MSB + (n0 - 1) MSW)
#   F_L = F / qf(.975, df1, df2), F_U = F * qf(.975, df2, df1)
#   bounds (F - 1) / (F + n0 - 1).
# Writes icc.json here.
# =============================================================================
suppressMessages({library(psychometric); library(jsonlite)})

balanced <- read.csv("../data/satterthwaite_balanced.csv")
b <- ICC1.CI(outcome, team, balanced)

d <- read.csv("../data/clustered.csv")
d <- d[!is.na(d$outcome), ]
tab <- anova(lm(outcome ~ arm + factor(team), data = d))
msb <- tab["factor(team)", "Mean Sq"]; df1 <- tab["factor(team)", "Df"]
msw <- tab["Residuals", "Mean Sq"]; df2 <- tab["Residuals", "Df"]
sizes <- table(d$team); N <- sum(sizes); J <- length(sizes)
n0 <- (N - sum(sizes^2) / N) / (J - 1)
f <- msb / msw
fl <- f / qf(0.975, df1, df2); fu <- f * qf(0.975, df2, df1)
unbalanced <- list(icc = (msb - msw) / (msb + (n0 - 1) * msw), ci_low = (fl - 1) / (fl + n0 - 1),
                   ci_high = (fu - 1) / (fu + n0 - 1), n0 = n0, f = f, df1 = df1, df2 = df2)
write_json(list(balanced = list(icc = b$ICC1, ci_low = b$LCL, ci_high = b$UCL), unbalanced = unbalanced),
           "icc.json", auto_unbox = TRUE, digits = NA, pretty = TRUE)
