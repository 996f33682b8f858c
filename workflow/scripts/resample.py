"""The resample rule's entry point, one recording per call. A plain command rather than a
`script:` (rules/audio.smk says why); by hand:

    python workflow/scripts/resample.py --recording IN --output OUT.wav --sample-rate 16000 \
        --rebuild-nsp-sizes False --log LOG"""
import argparse
import sys
from pathlib import Path

# The package, under --sdm conda too (Snakemake drops PYTHONPATH from conda jobs' commands).
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

from svd_explain.logs import log_to  # noqa: E402

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--recording", required=True)
parser.add_argument("--output", required=True)
parser.add_argument("--sample-rate", type=int, required=True)
parser.add_argument("--rebuild-nsp-sizes", choices=["True", "False"], required=True)
parser.add_argument("--log", required=True)
arguments = parser.parse_args()

log_to(arguments.log)

from svd_explain.audio import resample_recording  # noqa: E402

resample_recording(
    arguments.recording,
    arguments.output,
    arguments.sample_rate,
    rebuild_nsp_sizes=arguments.rebuild_nsp_sizes == "True",
)
