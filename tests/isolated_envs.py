"""Each conda env's pip layer, built as its own virtualenv, and a guard that keeps the driver's
packages out of it (for tests/e2e/test_env_isolation.py).

No conda is installed here, but every env's conda layer is python and pip only (envs/*.yaml),
so a virtualenv of the same Python with the same pip, given the env file's pip section, holds
what the conda env holds. Snakemake's script preamble appends the driver's sys.path to every
job's, so a package missing from an env would still be imported, from the driver's
virtualenv; the guard (installed into each env as a .pth file) refuses that.

Envs are cached by what goes into them (Python, pip, the requirement lines, the guard) under
$SVD_EXPLAIN_ENV_CACHE, by default ~/.cache/svd-explain/envs: a rebuild happens only when an
env's requirements change. The torch env is about 5 GB (PyPI's torch is a CUDA build)."""
import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

CACHE = Path(os.environ.get("SVD_EXPLAIN_ENV_CACHE") or Path.home() / ".cache" / "svd-explain" / "envs")
# The driver's site-packages folders, which the guard refuses to the jobs' own code.
DRIVER_SITE_VARIABLE = "SVD_EXPLAIN_DRIVER_SITE"
BUILD_TIMEOUT_S = 1800

GUARD = '''"""Env isolation for tests (tests/isolated_envs.py): with $SVD_EXPLAIN_DRIVER_SITE set, modules
found only in those folders (the driver's site-packages, which Snakemake's script preamble
appends to sys.path) are not importable, except by Snakemake itself: a package missing from
this env then fails to import, as it would on a machine without the driver's virtualenv."""
import os
import sys

_ROOTS = tuple(
    os.path.realpath(p) + os.sep for p in os.environ.get("SVD_EXPLAIN_DRIVER_SITE", "").split(os.pathsep) if p
)
if _ROOTS:
    import importlib
    from importlib.machinery import (
        BYTECODE_SUFFIXES, EXTENSION_SUFFIXES, SOURCE_SUFFIXES,
        ExtensionFileLoader, FileFinder, SourceFileLoader, SourcelessFileLoader,
    )

    # The job's pickled `snakemake` object needs Snakemake; what Snakemake imports comes too.
    _ALLOWED = {"snakemake"}
    _REFUSED = set()
    _LOADERS = [
        (ExtensionFileLoader, EXTENSION_SUFFIXES),
        (SourceFileLoader, SOURCE_SUFFIXES),
        (SourcelessFileLoader, BYTECODE_SUFFIXES),
    ]
    def _in_driver(filename):
        return os.path.realpath(filename).startswith(_ROOTS)

    def _importer_is_driver():
        """Whether the code that imports is the driver's: the first frame outside the import
        machinery (importlib, frozen or not) and this guard."""
        frame = sys._getframe(1)
        while frame is not None:
            module = frame.f_globals.get("__name__", "")
            if (frame.f_code.co_filename.startswith("<frozen") or module == __name__
                    or module == "importlib" or module.startswith("importlib.")):
                frame = frame.f_back
                continue
            return _in_driver(frame.f_code.co_filename)
        return False

    class _DriverSite:
        def __init__(self, path):
            self._finder = FileFinder(path, *_LOADERS)
            self._path = path

        def find_spec(self, fullname, target=None):
            if fullname.partition(".")[0] in _ALLOWED or _importer_is_driver():
                return self._finder.find_spec(fullname, target)
            if fullname not in _REFUSED and self._finder.find_spec(fullname, target) is not None:
                _REFUSED.add(fullname)
                sys.stderr.write(
                    f"env isolation: {fullname!r} is not installed in this env ({sys.prefix}); "
                    f"only the driver's virtualenv has it ({self._path})\\n"
                )
            return None

        def invalidate_caches(self):
            self._finder.invalidate_caches()

    def _hook(path):
        if os.path.realpath(path) + os.sep in _ROOTS:
            return _DriverSite(path)
        raise ImportError("not a driver folder")

    sys.path_hooks.insert(0, _hook)
    sys.path_importer_cache.clear()
'''


def driver_site_packages():
    import site

    return [p for p in [*site.getsitepackages(), site.getusersitepackages()] if p]


def env_spec(env_file):
    """(python version, pip version, pip requirement lines) of an env file whose conda layer
    is python and pip only."""
    spec = yaml.safe_load(Path(env_file).read_text())
    conda, pip_lines = {}, []
    for entry in spec["dependencies"]:
        if isinstance(entry, dict):
            pip_lines = list(entry["pip"])
        else:
            name, _, version = entry.partition("=")
            conda[name] = version
    if set(conda) != {"python", "pip"}:
        raise ValueError(f"{env_file}: a virtualenv can stand in only for python and pip, not {sorted(conda)}")
    return conda["python"], conda["pip"], pip_lines


def env_key(python, pip, requirements):
    text = json.dumps([python, pip, sorted(requirements)])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def install_guard(env):
    """Write the guard into an env (on every use: a changed guard needs no rebuild)."""
    site_packages = next((Path(env) / "lib").glob("python*/site-packages"))
    for name, text in (("svd_explain_isolation.py", GUARD), ("svd_explain_isolation.pth", "import svd_explain_isolation\n")):
        path = site_packages / name
        if not path.is_file() or path.read_text() != text:
            partial = path.with_name(path.name + ".partial")
            partial.write_text(text)
            os.replace(partial, path)


@contextlib.contextmanager
def _lock(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def base_python(version):
    """The interpreter to build envs from: the one under the test's virtualenv, which must be
    the env files' Python version."""
    running = f"{sys.version_info.major}.{sys.version_info.minor}"
    if running != version:
        raise RuntimeError(f"the env files ask for python {version}, but the tests run {running}")
    return getattr(sys, "_base_executable", sys.executable)


def build_env(name, python, pip, requirements, cache=CACHE, log=print):
    """A virtualenv named `name` holding exactly `requirements` (and pip), with the guard;
    built once per content, then reused."""
    key = env_key(python, pip, requirements)
    target = Path(cache) / f"{name}-{key}"
    done = target / ".complete"
    with _lock(Path(cache) / f".{name}.lock"):
        if done.is_file():
            install_guard(target)
            return target
        shutil.rmtree(target, ignore_errors=True)
        log(f"building env {name} in {target} ({len(requirements)} requirements)")
        def run(*args):
            return subprocess.run(args, check=True, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S)

        try:
            run(base_python(python), "-m", "venv", str(target))
            env_python = str(target / "bin" / "python")
            run(env_python, "-m", "pip", "install", "--quiet", "--no-input", f"pip=={pip}")
            if requirements:
                run(env_python, "-m", "pip", "install", "--quiet", "--no-input", *requirements)
        except subprocess.CalledProcessError as error:
            shutil.rmtree(target, ignore_errors=True)
            raise RuntimeError(f"building env {name} failed:\n{error.stdout[-3000:]}\n{error.stderr[-3000:]}") from None
        install_guard(target)
        done.write_text(json.dumps({"python": python, "pip": pip, "requirements": requirements}, indent=1))
        for old in Path(cache).glob(f"{name}-*"):  # earlier builds of this env
            if old != target and old.is_dir():
                shutil.rmtree(old, ignore_errors=True)
    return target


def build_env_file(env_file, name=None, drop=(), cache=CACHE, log=print):
    """The env of an env file (`drop`: requirement names to leave out, for a negative test)."""
    python, pip, requirements = env_spec(env_file)
    kept = [r for r in requirements if r.split("==")[0] not in drop]
    if drop and len(kept) == len(requirements):
        raise ValueError(f"{env_file} has none of {drop}")
    return build_env(name or Path(env_file).stem, python, pip, kept, cache, log)


def fake_conda_environment(envs_dir, mapping, base_env=None):
    """The process environment for snakemake --sdm conda with tests/fake_conda: every env
    file in `mapping` ({env file: built env}) resolves to its env, and the guard is on."""
    envs_dir = Path(envs_dir)
    envs_dir.mkdir(parents=True, exist_ok=True)
    for env_file, env in mapping.items():
        link = envs_dir / hashlib.sha256(Path(env_file).read_bytes()).hexdigest()
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(env)
    fake_bin = Path(__file__).resolve().parent / "fake_conda" / "bin"
    environment = dict(base_env or os.environ)
    environment["PATH"] = os.pathsep.join([str(fake_bin), environment.get("PATH", "")])
    environment["FAKE_CONDA_ENVS"] = str(envs_dir)
    environment[DRIVER_SITE_VARIABLE] = os.pathsep.join(driver_site_packages())
    return environment
