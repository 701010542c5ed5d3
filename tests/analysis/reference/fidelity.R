#!/usr/bin/env Rscript
# =============================================================================
# R reference for fidelity and the per-protocol estimate (issue 16 item 4):
# analysis.fidelity against a hand computation in base R and lmerTest.
#
# Regenerate with:
#   python tests/analysis/data/make_fidelity.py
#   cd tests/analysis/reference && Rscript fidelity.R
# (R with lme4, lmerTest and jsonlite.)
#
# Reads ../data/fidelity_sessions.csv (team, rep or NA for a team session,
# coach_model, minutes), fidelity_teams.csv (team, coaching_model, reps) and
# fidelity_reps.csv (rep, team, coaching_model, baseline, quota); writes
# fidelity.json here.  Period: 3 months; minimum 1 session a rep a month; low
# share 0.70.
#
# Per team: sessions = rows; share by the assigned kind = rows with coach_model
# == coaching_model / rows; received per rep per month = (rep sessions + team
# sessions x reps) / reps / 3.  Per model: the same pooled over its teams (shares
# over its sessions; received over its reps).  Kept teams: share >= 0.70 and
# received >= 1.  Effects: lmer(quota ~ arm + baseline + (1 | team), REML) with
# lmerTest's Satterthwaite df (contest1D), peer and external against manager,
# on every team (intention to treat) and on the kept teams (per protocol).
# =============================================================================
suppressMessages({library(lme4); library(lmerTest); library(jsonlite)})

sessions <- read.csv("../data/fidelity_sessions.csv", stringsAsFactors = FALSE)
teams <- read.csv("../data/fidelity_teams.csv", stringsAsFactors = FALSE)
reps <- read.csv("../data/fidelity_reps.csv", stringsAsFactors = FALSE)
months <- 3

per_team <- lapply(seq_len(nrow(teams)), function(i) {
  t <- teams[i, ]
  own <- sessions[sessions$team == t$team, ]
  shared <- sum(is.na(own$rep))
  list(team = t$team, sessions = nrow(own), assigned_share = mean(own$coach_model == t$coaching_model),
       sessions_per_rep_month = ((nrow(own) - shared) + shared * t$reps) / t$reps / months)
})
names(per_team) <- teams$team
per_arm <- lapply(c("manager", "peer", "external"), function(model) {
  mine <- teams[teams$coaching_model == model, ]
  own <- sessions[sessions$team %in% mine$team, ]
  received <- sum(sapply(mine$team, function(t) per_team[[t]]$sessions_per_rep_month * mine$reps[mine$team == t]))
  list(level = model, sessions = nrow(own), assigned_share = mean(own$coach_model == model),
       sessions_per_rep_month = received / sum(mine$reps))
})
kept <- teams$team[sapply(teams$team, function(t) per_team[[t]]$assigned_share >= 0.70 &&
                                                  per_team[[t]]$sessions_per_rep_month >= 1)]

effects <- function(d) {
  d$arm <- factor(d$coaching_model, levels = c("manager", "peer", "external"))
  fit <- lmer(quota ~ arm + baseline + (1 | team), data = d, REML = TRUE)
  lapply(c(peer = "armpeer", external = "armexternal"), function(name) {
    L <- as.numeric(names(fixef(fit)) == name)
    r <- contest1D(fit, L)
    list(estimate = r$Estimate, se = r$`Std. Error`, df = r$df, p = r$`Pr(>|t|)`)
  })
}
result <- list(teams = unname(per_team), arms = per_arm, kept = kept,
               intention_to_treat = effects(reps), per_protocol = effects(reps[reps$team %in% kept, ]))
write_json(result, "fidelity.json", auto_unbox = TRUE, digits = NA, pretty = TRUE)
