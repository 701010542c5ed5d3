"""``python -m analysis FILE --group COL …``: the comparison without a server (same options as ``flask analyze``)."""

import argparse
import sys

from .cli import run, to_json, to_text


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analysis", description=__doc__)
    parser.add_argument("file")
    parser.add_argument("--group", required=True)
    parser.add_argument("--outcome", action="append", default=[])
    parser.add_argument("--levels")
    parser.add_argument("--cluster")
    parser.add_argument("--baseline")
    parser.add_argument("--primary")
    parser.add_argument("--decimal", choices=(".", ","), help="decimal mark (default: sniffed)")
    parser.add_argument("--df", choices=("auto", "satterthwaite", "containment"), default="auto",
                        help="mixed model's denominator df (default auto: Satterthwaite below 40 teams)")
    parser.add_argument("--margin", help="non-inferiority margin: 3 (the primary outcome's) or "
                                         "quota_attainment=3,satisfaction=0.3")
    parser.add_argument("--prior-scale", help="sceptical prior's SD in SDs of the outcome (0–2; 'flat': none)")
    parser.add_argument("--costs", help="cost per model: manager=hour:85,peer=hour:40,external=rep_month:350+hour:20")
    parser.add_argument("--minutes", help="column of coaching minutes per rep per month (for costs per hour)")
    parser.add_argument("--revenue", help="column of revenue per rep (the value of a quota point, for break-even)")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument("-o", "--output")
    args = parser.parse_args(argv)
    try:
        analysis = run(args.file, args.group, args.outcome, args.levels, args.cluster, args.baseline, args.primary,
                       decimal=args.decimal, df_method=args.df, margin=args.margin, prior_scale=args.prior_scale,
                       costs=args.costs, minutes=args.minutes, revenue=args.revenue)
    except (ValueError, OSError) as error:
        print(f"analyze: {error}", file=sys.stderr)
        return 2
    text = to_json(analysis) if args.format == "json" else to_text(analysis)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as handle:
            handle.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
