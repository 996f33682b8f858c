"""Run every benchmark (or the ones named): `python benchmarks/run.py [name ...]`; one named
benchmark takes its own options after its name (`python benchmarks/run.py study --device cuda`).

Each benchmark module in this folder has a main() that prints its measurements and the ratio
against a baseline measured in the same run; the other modules are its helpers."""
import importlib
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "src")]


def main(arguments):
    # A benchmark is a module of this folder with a main(); the others (external_speech) help them.
    available = sorted(p.stem for p in HERE.glob("*.py") if p.stem != "run" and "\ndef main(" in p.read_text(encoding="utf-8"))
    first_option = next((i for i, a in enumerate(arguments) if a.startswith("-")), len(arguments))
    names, options = arguments[:first_option], arguments[first_option:]
    unknown = set(names) - set(available)
    if unknown:
        sys.exit(f"unknown benchmark(s) {sorted(unknown)}; available: {available}")
    if options and len(names) != 1:
        sys.exit(f"options {options} need exactly one benchmark named before them")
    for name in names or available:
        print(f"\n=== {name} ===", flush=True)
        start = time.perf_counter()
        sys.argv = [f"{name}.py", *options]  # each main() parses its own options
        importlib.import_module(name).main()
        print(f"({name}: {time.perf_counter() - start:.0f} s)", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
