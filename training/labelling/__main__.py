from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.labelling")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("plan", help="choose the faces and write training/labels/plan.csv")
    sub.add_parser("plan-tone", help="append round 5 (darker faces for skin tone) to the existing plan.csv")
    render = sub.add_parser("render", help="draw the plan's sheets as PNG")
    render.add_argument("--out", type=Path, required=True)
    render.add_argument("--sheets", nargs="*", help="only these sheet ids (default: all)")
    sub.add_parser("merge", help="join raw sheet labels with the plan → training/labels/faces.csv")
    sub.add_parser("agree", help="print the blind re-label agreement")
    calibration = sub.add_parser("calibration", help="tone anchor and check sheets; score the labellers' checks")
    calibration.add_argument("--out", type=Path, help="render the anchor and check sheets here")
    args = parser.parse_args(argv)

    from training.data import TONE_ONLY_PURPOSES

    from .plan import (
        choose_masked_rows,
        choose_remaining_rows,
        choose_rows,
        choose_seed_rows,
        choose_tone_rows,
        extend_plan,
        make_plan,
        read_plan,
        write_plan,
    )

    if args.command == "plan":
        # Round 1's pointers come from the heads shipped before these labels (commit c24dcc3): plan.csv is the
        # record of what was labelled; re-running this with later heads draws other pointer faces.
        plan = make_plan(choose_rows())
        plan = extend_plan(plan, choose_seed_rows(), "t", "q")
        plan = extend_plan(plan, choose_remaining_rows(), "u", "v", seed=5)
        plan = extend_plan(plan, choose_masked_rows(plan), "w", "x", seed=7)
        write_plan(plan)
        print(f"{len(plan)} rows on {len({r['sheet'] for r in plan})} sheets")
    elif args.command == "plan-tone":
        # Appended to the committed plan rather than redrawn with it: rounds 1-4 are the record of what was
        # labelled, and their pointers would come out differently from today's heads.
        plan = read_plan()
        if any(r["purpose"] in TONE_ONLY_PURPOSES for r in plan):
            print("plan.csv already holds round 5")
            return 1
        plan = extend_plan(plan, choose_tone_rows(plan), "y", "z", seed=11)
        write_plan(plan)
        print(f"{len(plan)} rows on {len({r['sheet'] for r in plan})} sheets")
    elif args.command == "render":
        from .sheets import render_plan_sheets

        plan = [r for r in read_plan() if not args.sheets or r["sheet"] in args.sheets]
        print(f"{len(render_plan_sheets(plan, args.out))} sheets in {args.out}")
    elif args.command == "merge":
        from .merge import merge_labels

        merge_labels()
    elif args.command == "calibration":
        from .calibration import render_calibration, write_calibration_report

        if args.out:
            print(f"{len(render_calibration(args.out))} sheets in {args.out}")
        else:
            print(json.dumps(write_calibration_report(), indent=2))
    elif args.command == "agree":
        from .merge import print_agreement

        print_agreement()
    return 0


if __name__ == "__main__":
    sys.exit(main())
