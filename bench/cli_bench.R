# The tests of bench/cli_bench.py in R, for the side-by-side timing of the whole command:
# read the 40,000-row file, then per outcome (10) aov + summary, oneway.test (Welch),
# kruskal.test, TukeyHSD and Games-Howell (rstatix::games_howell_test when installed — Debian's
# r-cran-rstatix —, else the same formulas in base R: Welch df per pair, ptukey/qtukey).
# Run: Rscript bench/cli_bench.R FILE   Prints "read <s>", "tests <s>" and "games_howell <which>".
args <- commandArgs(trailingOnly = TRUE)
file <- if (length(args) > 0) args[1] else "bench/out/bench_40k.csv"
have_rstatix <- suppressPackageStartupMessages(requireNamespace("rstatix", quietly = TRUE))

games_howell <- function(y, g, conf = 0.95) {
  levels <- levels(g); k <- length(levels)
  m <- tapply(y, g, mean); v <- tapply(y, g, var); n <- tapply(y, g, length)
  rows <- list()
  for (i in 1:(k - 1)) for (j in (i + 1):k) {
    a <- levels[i]; b <- levels[j]
    diff <- m[[b]] - m[[a]]
    se <- sqrt(v[[a]] / n[[a]] + v[[b]] / n[[b]])
    df <- (v[[a]] / n[[a]] + v[[b]] / n[[b]])^2 /
      ((v[[a]] / n[[a]])^2 / (n[[a]] - 1) + (v[[b]] / n[[b]])^2 / (n[[b]] - 1))
    half <- qtukey(conf, k, df) / sqrt(2) * se
    p <- ptukey(abs(diff) / se * sqrt(2), k, df, lower.tail = FALSE)
    rows[[length(rows) + 1]] <- data.frame(a = a, b = b, diff = diff, low = diff - half, high = diff + half, p = p)
  }
  do.call(rbind, rows)
}

start <- proc.time()[["elapsed"]]
d <- read.csv(file)
d$model <- factor(d$model)
read_s <- proc.time()[["elapsed"]] - start

start <- proc.time()[["elapsed"]]
results <- list()
for (i in 0:9) {
  y <- d[[paste0("outcome_", i)]]
  frame <- data.frame(y = y, model = d$model)
  fit <- aov(y ~ model, data = frame)
  gh <- if (have_rstatix) rstatix::games_howell_test(frame, y ~ model) else games_howell(frame$y, frame$model)
  results[[i + 1]] <- list(anova = summary(fit), welch = oneway.test(y ~ model, data = frame, var.equal = FALSE),
                           kruskal = kruskal.test(y ~ model, data = frame), tukey = TukeyHSD(fit), gh = gh)
}
tests_s <- proc.time()[["elapsed"]] - start
cat(sprintf("read %.3f\ntests %.3f\ngames_howell %s\n", read_s, tests_s,
            if (have_rstatix) "rstatix" else "base R"))
