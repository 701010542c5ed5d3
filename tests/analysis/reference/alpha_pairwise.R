# Cronbach's alpha with missing item answers (statistics review F9):
# psych::alpha's default (covariances over pairwise-complete rows) and the listwise figure.
# Writes ../data/alpha_missing.csv (seeded) and alpha_pairwise.json.
# Regenerate: cd tests/analysis/reference && Rscript alpha_pairwise.R
suppressPackageStartupMessages({library(psych); library(jsonlite)})
set.seed(4)
n <- 60
arm <- rep(c("manager", "peer", "external"), each = 20)
trait <- rnorm(n)
items <- sapply(1:5, function(j) pmin(5, pmax(1, round(3 + 0.8 * trait + rnorm(n, sd = 0.9)))))
colnames(items) <- paste0("q", 1:5)
items[matrix(runif(n * 5) < 0.15, n, 5)] <- NA          # about 15 % of the answers missing
d <- data.frame(arm = arm, items)
write.csv(d, "../data/alpha_missing.csv", row.names = FALSE, na = "")

a <- function(it, use) suppressWarnings(suppressMessages(
  psych::alpha(it, check.keys = FALSE, warnings = FALSE, use = use)$total$raw_alpha))
one <- function(it) list(alpha_pairwise = a(it, "pairwise"),
                         alpha_listwise = a(it[complete.cases(it), ], "pairwise"),
                         n_listwise = sum(complete.cases(it)))
case <- function(it, groups) {
  out <- one(it)
  out$per_arm <- lapply(unique(groups), function(g) c(list(group = g), one(it[groups == g, ])))
  out
}
s <- read.csv("../data/scale_items.csv")
s_items <- s[, c("item_1", "item_2", "item_3", "item_4")]
s_items$item_3 <- 6 - s_items$item_3
out <- list(
  versions = list(R = R.version.string, psych = as.character(packageVersion("psych"))),
  alpha_missing = case(d[, paste0("q", 1:5)], d$arm),
  scale_items = c(list(reverse_keyed = "item_3"), case(s_items, s$arm)))
write_json(out, "alpha_pairwise.json", auto_unbox = TRUE, digits = NA, pretty = TRUE)
