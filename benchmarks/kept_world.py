"""The options of the benchmarks that measure on a demo world kept by `demo_world.py --keep`
(occlusion_fill, cue_reliance): the world's folder and the models to measure."""
import argparse
from pathlib import Path

WORLD = Path(__file__).resolve().parent / "out" / "demo_world" / "default"


def parse_world(description: str):
    """(options, the world's results folder), or None, after saying how to make one, when the
    folder holds no trained world."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--world", type=Path, default=WORLD, help="a world folder kept by demo_world.py --keep")
    parser.add_argument("--models", nargs="+", default=["ast_finetuned", "ast_freeze"])
    args = parser.parse_args()
    results = args.world / "results"
    if not (results / "models").is_dir():
        print(f"no trained world in {args.world}: run `python benchmarks/demo_world.py --worlds default --keep "
              f"{args.world.parent}` first")
        return None
    return args, results
