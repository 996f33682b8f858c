"""Wheels for the study rehearsal (benchmarks/study.py) on a machine that has PyTorch and the
common scientific packages but not the workflow's own, and no network: a lent GPU machine.

    .venv/bin/python benchmarks/study_wheels.py [--python 3.12] [--out .whl]

downloads (or, for a pure-Python package with no wheel on the index, builds) for that
machine's Python the wheels of what the rehearsal imports and the image
lacks (IMAGE below: the packages of this workplace's 'cuda' image), at the versions of this
checkout's virtualenv, with everything they need in turn; transformers and huggingface_hub
come too, at the project's pins, whatever the image holds. `.whl/` is ignored by git. There:

    python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
    PYTHONPATH=/tmp/site python3 benchmarks/run.py study --device cuda --quick

pulp is left out: the workflow profile schedules with the greedy scheduler, which needs no
solver."""
import argparse
import importlib.metadata
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# What the rehearsal runs that the image lacks: Snakemake, the audio, alignment and feature
# packages, the explainers' captum.
NEEDED = [
    "snakemake", "jsonschema", "soundfile", "soxr", "praatio", "nspfile", "sbvoicedb", "opensmile",
    "praat-parselmouth", "kaldi-hmm-gmm", "kaldifst", "kaldi-native-fbank", "captum",
    "transformers", "huggingface-hub",
]
# Carried even though the image has a version: the project's pins are newer.
PINNED = {"transformers", "huggingface-hub"}
LEFT_OUT = {"pulp"}
IMAGE = set("""
absl-py accelerate aiofiles aiohappyeyeballs aiohttp aiosignal annotated-doc anyio attrs botorch build certifi
charset-normalizer chex click cloudpickle cmake colorama contourpy coverage cuda-bindings cuda-core
cuda-pathfinder cuda-toolkit cupy-cuda13x cycler cython diffrax e3nn einops equinox etils execnet filelock
flatbuffers flax fonttools formulaic frozenlist fsspec gpytorch grpcio h11 h5py hf-xet httpcore httpx
huggingface-hub humanize hypothesis idna imageio iniconfig interface-meta jax jax-cuda13-pjrt jax-cuda13-plugin
jaxlib jaxtyping jinja2 joblib kiwisolver lazy-loader lightning lightning-utilities linear-operator lineax
llvmlite lxml markdown markdown-it-py markupsafe matplotlib mdurl meson ml-dtypes mpi4py mpmath msgpack
multidict multipledispatch mypy-extensions nanobind narwhals networkx ninja numba numba-cuda numpy numpyro
nvidia-cublas nvidia-cuda-cupti nvidia-cuda-nvrtc nvidia-cuda-runtime nvidia-cudnn-cu13 nvidia-cufft
nvidia-cufile nvidia-curand nvidia-cusolver nvidia-cusparse nvidia-cusparselt-cu13 nvidia-ml-py
nvidia-nccl-cu13 nvidia-nvjitlink nvidia-nvshmem-cu13 nvidia-nvtx onnx onnx-ir onnxruntime onnxscript
opencv-python-headless optax opt-einsum opt-einsum-fx optimistix orbax-checkpoint packaging pandas pathspec
patsy peft pillow pip pluggy portalocker prometheus-client propcache protobuf psutil pyarrow pybind11
py-cpuinfo pygments pyparsing pyproject-hooks pyre-extensions pytest pytest-benchmark pytest-cov pytest-mock
pytest-timeout pytest-xdist python-dateutil pytorch-lightning pyyaml regex requests rich sacrebleu
safetensors scikit-build-core scikit-image scikit-learn scipy seaborn sentencepiece sentence-transformers
setuptools shellingham simplejson six sortedcontainers statsmodels sympy tabulate tensorboard
tensorboard-data-server tensorstore threadpoolctl tifffile tiktoken timm tokenizers toolz torch torchaudio
torchdiffeq torch-geometric torchmetrics torchvision tqdm transformers treescope triton typer
typing-extensions typing-inspect urllib3 uvloop wadler-lindig werkzeug wheel wrapt xarray xxhash yarl zipp
""".split())
PLATFORMS = ["manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_24_x86_64", "manylinux_2_17_x86_64",
             "manylinux2014_x86_64", "manylinux1_x86_64"]


def normalise(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def closure(names):
    """{name: version} of `names` and, in turn, of what they need that the image lacks, as
    installed here (requirements for extras or other platforms, absent here, are skipped)."""
    found, todo = {}, [normalise(n) for n in names]
    while todo:
        name = todo.pop()
        if name in found or name in LEFT_OUT:
            continue
        try:
            distribution = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        found[name] = distribution.version
        for requirement in distribution.requires or []:
            if "extra ==" in requirement:
                continue
            dependency = normalise(re.split(r"[ ;<>=!~\[(]", requirement, maxsplit=1)[0])
            if dependency not in IMAGE or dependency in PINNED:
                todo.append(dependency)
    return {name: version for name, version in sorted(found.items()) if name not in IMAGE or name in PINNED}


def download(python, out):
    wanted = closure(NEEDED)
    out.mkdir(parents=True, exist_ok=True)
    platforms = [argument for platform in PLATFORMS for argument in ("--platform", platform)]
    for name, version in wanted.items():
        command = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
                   "--python-version", python, "--implementation", "cp", *platforms, "-d", str(out),
                   f"{name}=={version}"]
        if subprocess.run(command).returncode != 0:
            # No wheel on the index (an sdist only): build one here, which must then be pure Python.
            before = set(out.glob("*.whl"))
            subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), f"{name}=={version}"],
                           check=True)
            built = set(out.glob("*.whl")) - before
            if not all(w.name.endswith("-none-any.whl") for w in built):
                sys.exit(f"{name}=={version}: no wheel for Python {python} on the index, and it is not pure Python")
    size = sum(p.stat().st_size for p in out.glob("*.whl"))
    print(f"{len(wanted)} wheels for Python {python} in {out}: {size / 2**20:.1f} MiB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--python", default="3.12", help="the target machine's Python version")
    parser.add_argument("--out", type=Path, default=ROOT / ".whl")
    arguments = parser.parse_args()
    download(arguments.python, arguments.out)
