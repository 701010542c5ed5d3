# A group of one value (statistics review F8c, section 3): aov and kruskal.test are defined.
# Writes ../data/group_of_one.csv (seeded) and group_of_one.json.  Rscript group_of_one.R
suppressPackageStartupMessages(library(jsonlite))
set.seed(20261201)
d <- data.frame(arm = c(rep(c("manager", "peer", "external"), each = 12), "solo"),
                score = round(c(rnorm(36, 3.5, 0.6), 3.1), 2))
write.csv(d, "../data/group_of_one.csv", row.names = FALSE)
d$arm <- factor(d$arm, levels = c("external", "manager", "peer", "solo"))
a <- summary(aov(score ~ arm, data = d))[[1]]
k <- kruskal.test(score ~ arm, data = d)
w <- tryCatch(oneway.test(score ~ arm, data = d)$p.value, error = function(e) conditionMessage(e))
write_json(list(versions = list(R = R.version.string),
                anova = list(F = a[["F value"]][1], df1 = a$Df[1], df2 = a$Df[2], p = a[["Pr(>F)"]][1]),
                kruskal = list(H = unname(k$statistic), df = unname(k$parameter), p = k$p.value),
                welch = w),
           "group_of_one.json", auto_unbox = TRUE, digits = NA, pretty = TRUE)
