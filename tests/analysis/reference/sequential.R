#!/usr/bin/env Rscript
# =============================================================================
# R reference for group-sequential boundaries (issue 17 item 3):
# analysis.sequential.boundaries against rpact::getDesignGroupSequential.
#
# Regenerate with:
#   cd tests/analysis/reference && Rscript sequential.R
# (R with rpact and jsonlite: r-base-core, r-cran-rpact, r-cran-jsonlite.)
#
# Writes sequential.json here. For every design: Lan-DeMets O'Brien-Fleming-
# type alpha spending (typeOfDesign = "asOF"), kMax looks at the given
# information rates, two-sided alpha 0.05 or one-sided alpha 0.025 (0.05 once).
# Stored per look: criticalValues (z), alphaSpent (cumulative; for a two-sided
# design the total over both sides) and stageLevels (one-sided nominal level).
# Designs with futility add O'Brien-Fleming-type beta spending
# (typeBetaSpending = "bsOF", one-sided only: rpact calls two-sided beta
# spending experimental), non-binding (bindingFutility = FALSE): futilityBounds
# (z, looks 1..kMax-1), betaSpent (cumulative) and getDesignCharacteristics'
# shift (the squared drift at full information that gives power 1 - beta).
# Infinite critical values (a look that may not stop) are written as null.
# =============================================================================

suppressPackageStartupMessages({
  library(jsonlite)
  library(rpact)
})

script_dir <- local({
  args <- commandArgs(trailingOnly = FALSE)
  file_arg <- sub("^--file=", "", args[grep("^--file=", args)])
  if (length(file_arg) == 1) dirname(normalizePath(file_arg)) else getwd()
})
out_file <- file.path(script_dir, "sequential.json")

designs <- list(
  two_sided_2_equal     = list(sided = 2, alpha = 0.05, rates = c(0.5, 1)),
  two_sided_3_equal     = list(sided = 2, alpha = 0.05, rates = c(1, 2, 3) / 3),
  two_sided_3_unequal   = list(sided = 2, alpha = 0.05, rates = c(0.3, 0.6, 1)),
  two_sided_4_equal     = list(sided = 2, alpha = 0.05, rates = c(1, 2, 3, 4) / 4),
  two_sided_4_unequal   = list(sided = 2, alpha = 0.05, rates = c(0.2, 0.45, 0.7, 1)),
  one_sided_2_unequal   = list(sided = 1, alpha = 0.025, rates = c(0.6, 1)),
  one_sided_3_equal     = list(sided = 1, alpha = 0.025, rates = c(1, 2, 3) / 3),
  one_sided_4_unequal   = list(sided = 1, alpha = 0.025, rates = c(0.25, 0.4, 0.75, 1)),
  one_sided_05_3_equal  = list(sided = 1, alpha = 0.05, rates = c(1, 2, 3) / 3),
  one_sided_early_look  = list(sided = 1, alpha = 0.025, rates = c(0.01, 0.5, 1)),
  futility_2_unequal    = list(sided = 1, alpha = 0.025, rates = c(0.6, 1), beta = 0.1),
  futility_3_equal      = list(sided = 1, alpha = 0.025, rates = c(1, 2, 3) / 3, beta = 0.2),
  futility_3_unequal    = list(sided = 1, alpha = 0.025, rates = c(0.4, 0.7, 1), beta = 0.2),
  futility_4_equal      = list(sided = 1, alpha = 0.025, rates = c(1, 2, 3, 4) / 4, beta = 0.2),
  futility_4_unequal_05 = list(sided = 1, alpha = 0.05, rates = c(0.25, 0.5, 0.8, 1), beta = 0.2)
)

finite_or_null <- function(x) lapply(x, function(v) if (is.finite(v)) v else NULL)

out <- list(designs = list())
for (name in names(designs)) {
  spec <- designs[[name]]
  k <- length(spec$rates)
  if (is.null(spec$beta)) {
    d <- getDesignGroupSequential(kMax = k, alpha = spec$alpha, sided = spec$sided,
                                  informationRates = spec$rates, typeOfDesign = "asOF")
  } else {
    d <- getDesignGroupSequential(kMax = k, alpha = spec$alpha, sided = spec$sided, beta = spec$beta,
                                  informationRates = spec$rates, typeOfDesign = "asOF",
                                  typeBetaSpending = "bsOF", bindingFutility = FALSE)
  }
  entry <- list(sided = spec$sided, alpha = spec$alpha, information_rates = spec$rates,
                critical_values = finite_or_null(d$criticalValues),
                alpha_spent = d$alphaSpent, stage_levels = d$stageLevels)
  if (!is.null(spec$beta)) {
    entry$beta <- spec$beta
    entry$futility_bounds <- as.list(d$futilityBounds)
    entry$beta_spent <- d$betaSpent
    entry$shift <- getDesignCharacteristics(d)$shift
  }
  out$designs[[name]] <- entry
}

out$versions <- list(R = R.version.string,
                     rpact = as.character(packageVersion("rpact")),
                     jsonlite = as.character(packageVersion("jsonlite")))
write_json(out, out_file, auto_unbox = TRUE, digits = NA, pretty = TRUE, null = "null")
