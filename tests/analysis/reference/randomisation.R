# Randomisation tests on team means (issue 13 item 5, audit section 3), by brute force in base R.
# Writes ../data/randomisation_3x2.csv, ../data/randomisation_2x3.csv, ../data/randomisation_blocks.csv
# (seeded) and randomisation.json.  Rscript randomisation.R
#
# Statistic: the one-way ANOVA F of the arms on the team means (one value per team, teams weighted
# equally), compared as the between-arm sum of squares (the total is fixed, so the order is the same).
# Pairs: |mean(b) - mean(a)| of team means, re-randomising only the pair's teams; Holm over the pairs.
# "At least as large": within a relative 1e-9 of the observed value (ties of equal-sized arms).
# Interval of a pair: t on the team means, pooled SD within arms, df = J - k.
suppressPackageStartupMessages(library(jsonlite))
set.seed(20261202)
TIE <- 1e-9

# ---------------------------------------------------------------- data
rep_data <- function(arms, teams_per_arm, reps, shift, baseline = FALSE) {
  rows <- list()
  for (arm in arms) for (t in seq_len(teams_per_arm)) {
    u <- rnorm(1, 0, sqrt(0.2))
    x <- rnorm(reps, 3, 1)
    y <- 3.4 + shift[[arm]] + u + rnorm(reps, 0, sqrt(0.8)) + if (baseline) 0.4 * (x - 3) else 0
    d <- data.frame(arm = arm, team = sprintf("%s-%d", arm, t), score = round(y, 2))
    if (baseline) d$baseline <- round(x, 2)
    rows[[length(rows) + 1]] <- d
  }
  do.call(rbind, rows)
}
three <- c("manager", "peer", "external")
d32 <- rep_data(three, 2, 8, list(manager = 0.6, peer = 0, external = 0.2), baseline = TRUE)
d23 <- rep_data(c("manager", "peer"), 3, 6, list(manager = 0.5, peer = 0))
write.csv(d32, "../data/randomisation_3x2.csv", row.names = FALSE)
write.csv(d23, "../data/randomisation_2x3.csv", row.names = FALSE)

# A stratified study: permuted blocks of 4 (2 manager, 1 peer, 1 external), strata north (6 teams: a block
# and a cut-off block of 2) and south (3 teams: a cut-off block of 3). S2 has no data (it stays put).
block <- c("manager", "manager", "peer", "external")
plan <- data.frame(
  stratum = c(rep("north", 6), rep("south", 3)),
  team = c("N1", "N2", "N3", "N4", "N5", "N6", "S1", "S2", "S3"),
  arm = c("manager", "peer", "manager", "external", "external", "manager", "manager", "peer", "manager"))
plan$position <- ave(seq_len(nrow(plan)), plan$stratum, FUN = seq_along)
shift <- c(manager = 0.5, peer = 0, external = 0.2)
blocks_rows <- list()
for (i in seq_len(nrow(plan))) {
  if (plan$team[i] == "S2") next
  u <- rnorm(1, 0, sqrt(0.2))
  n <- 4 + (i %% 3)
  blocks_rows[[length(blocks_rows) + 1]] <- data.frame(
    arm = plan$arm[i], team = plan$team[i], stratum = plan$stratum[i], position = plan$position[i],
    score = round(3.4 + shift[[plan$arm[i]]] + u + rnorm(n, 0, sqrt(0.8)), 2))
}
dblocks <- do.call(rbind, blocks_rows)
write.csv(dblocks, "../data/randomisation_blocks.csv", row.names = FALSE)

# ---------------------------------------------------------------- the test
between_ss <- function(y, arm) {
  y <- y - mean(y)
  sum(tapply(y, arm, function(v) sum(v)^2 / length(v)), na.rm = TRUE)
}
f_stat <- function(y, arm, k) {
  fit <- anova(lm(y ~ factor(arm)))
  unname(fit[["F value"]][1])
}
# Rows of `assign` are assignments (arm labels per team), `prob` their probabilities.
test_on <- function(y, observed, assign, prob, levels) {
  k <- length(levels)
  null <- apply(assign, 1, function(a) between_ss(y, a))
  obs <- between_ss(y, observed)
  keep <- !duplicated(assign)
  extreme <- function(x, o) x >= o - TIE * abs(o)
  p_min <- sum(prob[extreme(null, max(null))])
  pairs <- list()
  pooled <- sqrt(sum(tapply(y, observed, function(v) sum((v - mean(v))^2))) / (length(y) - k))
  df <- length(y) - k
  for (i in 1:(k - 1)) for (j in (i + 1):k) {
    a <- levels[i]; b <- levels[j]
    inside <- observed %in% c(a, b)
    # the other teams keep their arms, the pair's teams stay in the pair
    ok <- apply(assign, 1, function(r) all(r[!inside] == observed[!inside]) && all(r[inside] %in% c(a, b)))
    sub <- assign[ok, inside, drop = FALSE]
    w <- prob[ok] / sum(prob[ok])
    yy <- y[inside]
    stat <- function(r) abs(mean(yy[r == b]) - mean(yy[r == a]))
    pnull <- apply(sub, 1, stat)
    pobs <- stat(observed[inside])
    diff <- mean(y[observed == b]) - mean(y[observed == a])
    se <- pooled * sqrt(1 / sum(observed == a) + 1 / sum(observed == b))
    half <- qt(0.975, df) * se
    pairs[[length(pairs) + 1]] <- list(a = a, b = b, diff = diff, se = se, ci_low = diff - half,
                                       ci_high = diff + half, p = sum(w[extreme(pnull, pobs)]),
                                       n_assignments = sum(!duplicated(sub)),
                                       p_min = sum(w[extreme(pnull, max(pnull))]))
  }
  adj <- p.adjust(sapply(pairs, `[[`, "p"), "holm")
  for (i in seq_along(pairs)) pairs[[i]]$p_adj <- adj[i]
  list(levels = levels, statistic = f_stat(y, observed, k), p = sum(prob[extreme(null, obs)]),
       n_assignments = sum(keep), p_min = p_min, pairs = pairs)
}

# Complete randomisation keeping the arms' sizes: every way to fill the arms, with combn.
complete <- function(sizes) {
  levels <- names(sizes)
  n <- sum(sizes)
  fill <- function(left, arms) {
    if (length(arms) == 1) { r <- rep(NA_character_, n); r[left] <- arms; return(list(r)) }
    out <- list()
    for (chosen in combn(left, sizes[[arms[1]]], simplify = FALSE)) {
      for (rest in fill(setdiff(left, chosen), arms[-1])) { rest[chosen] <- arms[1]; out[[length(out) + 1]] <- rest }
    }
    out
  }
  do.call(rbind, fill(seq_len(n), levels))
}
team_means <- function(d, value) {
  m <- aggregate(value ~ team + arm, data = transform(d, value = value), FUN = mean)
  m[order(m$team), ]
}
run_complete <- function(d, levels, value) {
  m <- team_means(d, value)
  sizes <- table(factor(m$arm, levels = levels))
  assign <- complete(setNames(as.integer(sizes), levels))
  test_on(m$value, m$arm, assign, rep(1 / nrow(assign), nrow(assign)), levels)
}

# Permuted blocks: every sequence of block permutations is equally likely (base R: a recursive permutations).
permutations <- function(n) {
  if (n == 1) return(matrix(1L, 1, 1))
  p <- permutations(n - 1)
  do.call(rbind, lapply(seq_len(n), function(i) cbind(i, ifelse(p >= i, p + 1L, p))))
}
run_blocks <- function(d, plan, block, levels) {
  perms <- permutations(length(block))
  strata <- sort(unique(plan$stratum))
  blocks <- sum(sapply(strata, function(s) ceiling(sum(plan$stratum == s) / length(block))))
  grid <- as.matrix(expand.grid(rep(list(seq_len(nrow(perms))), blocks)))
  assign <- t(apply(grid, 1, function(g) {
    arms <- character(0); b <- 1
    for (s in strata) {
      members <- sum(plan$stratum == s)
      seq <- character(0)
      while (length(seq) < members) { seq <- c(seq, block[perms[g[b], ]]); b <- b + 1 }
      arms <- c(arms, seq[seq_len(members)])
    }
    arms
  }))
  order_in_plan <- order(plan$stratum, plan$position)
  colnames(assign) <- plan$team[order_in_plan]
  stored <- setNames(plan$arm, plan$team)
  no_data <- setdiff(plan$team, d$team)
  kept <- apply(assign[, no_data, drop = FALSE], 1, function(r) all(r == stored[no_data]))
  m <- team_means(d, d$score)
  assign <- assign[kept, m$team, drop = FALSE]
  test_on(m$value, m$arm, assign, rep(1 / nrow(assign), nrow(assign)), levels)
}

adjusted <- d32$score - coef(lm(score ~ baseline, data = d32))[["baseline"]] * (d32$baseline - mean(d32$baseline))
result <- list(
  versions = list(R = R.version.string, jsonlite = as.character(packageVersion("jsonlite"))),
  three_by_two = run_complete(d32, three, d32$score),
  three_by_two_baseline = run_complete(d32, three, adjusted),
  two_by_three = run_complete(d23, c("manager", "peer"), d23$score),
  blocks = c(run_blocks(dblocks, plan, block, three),
             list(block = block, plan = plan)))
write_json(result, "randomisation.json", auto_unbox = TRUE, digits = NA, pretty = TRUE)
