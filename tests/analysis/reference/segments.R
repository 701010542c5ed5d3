# Reference values for analysis/segments.py: the arm effect per segment on team means (one-way ANOVA,
# Holm across segments) and the model x segment interaction (last row of anova(lm(mean ~ model * segment))).
# Run in this folder: Rscript segments.R  (reads ../data/segments.csv, writes segments.json)
library(jsonlite)
data <- read.csv("../data/segments.csv", stringsAsFactors = FALSE)
data <- data[!is.na(data$score), ]
means <- aggregate(score ~ team + coaching_model + region, data = data, FUN = mean)
segments <- sort(unique(means$region))
per <- lapply(segments, function(s) {
  d <- means[means$region == s, ]
  if (length(unique(d$coaching_model)) < 2) return(list(segment = s, F = NA, df1 = NA, df2 = NA, p = NA))
  a <- anova(lm(score ~ factor(coaching_model), data = d))
  list(segment = s, F = a[1, "F value"], df1 = a[1, "Df"], df2 = a[2, "Df"], p = a[1, "Pr(>F)"])
})
p <- sapply(per, function(x) x$p)
holm <- p.adjust(p, "holm")
for (i in seq_along(per)) per[[i]]$p_holm <- holm[i]
full <- anova(lm(score ~ factor(coaching_model) * factor(region), data = means))
row <- nrow(full) - 1  # the interaction, before the residuals
out <- list(segments = per,
            interaction = list(F = full[row, "F value"], df1 = full[row, "Df"], df2 = full[nrow(full), "Df"],
                               p = full[row, "Pr(>F)"]),
            versions = list(R = R.version.string, jsonlite = as.character(packageVersion("jsonlite"))))
write_json(out, "segments.json", digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null")
