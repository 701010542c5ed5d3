#!/usr/bin/env Rscript
# =============================================================================
# R reference for the cost-effectiveness of coaching models (issue 16 item 1):
# analysis.costs.cost_effectiveness against base R on the same team resamples.
#
# Regenerate with:
#   python tests/analysis/data/make_costs.py      # data and resample indices
#   cd tests/analysis/reference && Rscript costs.R
# (R with jsonlite: r-base-core, r-cran-jsonlite.)
#
# Reads ../data/costs.csv (one row per rep) and ../data/costs_boot_index.csv
# (200 resamples of whole teams within each model, as analysis.costs draws them
# with its default seed); writes costs.json here.
#
# Costs: manager = 120 an hour, peer = 30 an hour, external = 300 a rep a month
# + 20 an hour; hours a rep a month = mean(minutes) / 60 over the model's reps.
# Effect of a model against manager: its coefficient in lm(quota ~ arm + baseline)
# (the ANCOVA with a slope pooled within models), and without the baseline the
# difference of rep means.  Per resample the same on the stacked teams (a team
# drawn twice counts twice), with the hours of that resample.  Points per 1,000
# = effect / (extra cost / 1000).  Intervals: quantile(type = 7) at alpha/2 and
# 1 - alpha/2 (plain percentile) and at pnorm(-+ sqrt(n/(n-1)) qt(.975, n-1)),
# n = teams in the smallest model (Hesterberg's expanded percentile).
# =============================================================================
library(jsonlite)

data <- read.csv("../data/costs.csv", stringsAsFactors = FALSE)
index <- read.csv("../data/costs_boot_index.csv", stringsAsFactors = FALSE)
data$arm <- factor(data$arm, levels = c("manager", "peer", "external"))
fee <- c(manager = 0, peer = 0, external = 300)
hourly <- c(manager = 120, peer = 30, external = 20)

cost_of <- function(d) {
  minutes <- tapply(d$minutes, d$arm, mean)
  fee[names(minutes)] + hourly[names(minutes)] * minutes / 60
}

effects <- function(d, adjust) {
  if (adjust) {
    co <- coef(lm(quota ~ arm + baseline, data = d))
    c(peer = unname(co["armpeer"]), external = unname(co["armexternal"]))
  } else {
    m <- tapply(d$quota, d$arm, mean)
    c(peer = unname(m["peer"] - m["manager"]), external = unname(m["external"] - m["manager"]))
  }
}

stack <- function(teams) do.call(rbind, lapply(teams, function(t) data[data$team == t, ]))

n_small <- min(tapply(data$team, data$arm, function(x) length(unique(x))))
z <- sqrt(n_small / (n_small - 1)) * qt(0.975, n_small - 1)
probs <- list(percentile = c(0.025, 0.975), expanded = c(pnorm(-z), pnorm(z)))

result <- list(teams_smallest = n_small, expanded_probs = probs$expanded)
for (adjust in c(TRUE, FALSE)) {
  point <- effects(data, adjust)
  cost <- cost_of(data)
  boot <- t(sapply(sort(unique(index$resample)), function(r) {
    d <- stack(index$team[index$resample == r])
    e <- effects(d, adjust)
    k <- cost_of(d)
    c(e, ratio_peer = unname(e["peer"] / ((k["peer"] - k["manager"]) / 1000)),
      ratio_external = unname(e["external"] / ((k["external"] - k["manager"]) / 1000)))
  }))
  case <- list(effect = as.list(point), cost = as.list(cost),
               delta_cost = list(peer = unname(cost["peer"] - cost["manager"]),
                                 external = unname(cost["external"] - cost["manager"])),
               boot_effect_peer_first5 = unname(boot[1:5, "peer"]))
  for (kind in names(probs)) {
    q <- function(x) unname(quantile(x, probs[[kind]], type = 7))
    case[[kind]] <- list(peer = q(boot[, "peer"]), external = q(boot[, "external"]),
                         ratio_peer = q(boot[, "ratio_peer"]), ratio_external = q(boot[, "ratio_external"]))
  }
  result[[if (adjust) "adjusted" else "unadjusted"]] <- case
}
write_json(result, "costs.json", auto_unbox = TRUE, digits = NA, pretty = TRUE)
