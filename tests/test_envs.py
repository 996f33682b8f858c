"""The conda envs in envs/ are complete and agree with the virtualenv the tests run in.

No conda is installed here, so the envs are checked statically (tests/test_env_isolation.py
builds each env's pip layer and runs the workflow in them):
- every rule that runs something declares `conda:`, and its env file exists;
- every env file parses and pins an exact version of every package;
- an env's conda layer is python and pip only (MFA's excepted), each conda pin a version seen
  on conda-forge (envs/conda-forge.tsv), and its pip section is its requirement file
  (envs/requirements/<env>.txt), which requirements.txt includes: conda users run the versions
  the tests ran, and the virtualenv has them installed;
- every third-party module a rule's code imports (its script, and the package modules it
  reaches, followed through `svd_explain.*` imports) is listed in that rule's env;
- every package module a rule's script reaches is among the rule's `code(...)` inputs, so that
  editing it reruns the rule.
"""
import ast
import functools
import importlib.metadata
import inspect
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "svd_explain"
ENVS = ROOT / "envs"

# conda-forge names that differ from the PyPI name of the same package.
CONDA_TO_PYPI = {
    "pytorch": "torch",
    "pysoundfile": "soundfile",
    "matplotlib-base": "matplotlib",
    "soxr-python": "soxr",
}
# Env files for tools outside the virtualenv (MFA is conda-only), so requirements.txt cannot
# pin them; they must still pin exact versions.
ENVS_OUTSIDE_VIRTUALENV = {"mfa.yaml"}

LOAD_RULES = textwrap.dedent(
    """
    import json, os, sys
    from pathlib import Path
    from snakemake.api import SnakemakeApi
    from snakemake.settings.types import ConfigSettings, OutputSettings, ResourceSettings

    snakefile, workdir, configfile = sys.argv[1:4]
    # A config for the real SVD names no download (corpus.root): the work folder holds a
    # phrase recording, which is all the parse-time checks look for.
    config = {"corpus": {"root": workdir}}
    with SnakemakeApi(OutputSettings(quiet={"all"})) as api:
        workflow = api.workflow(
            resource_settings=ResourceSettings(),
            config_settings=ConfigSettings(configfiles=[Path(configfile)], config=config),
            snakefile=Path(snakefile),
            workdir=Path(workdir),
        )._workflow
        rules = [
            {
                "name": rule.name,
                "runs": not rule.norun,
                "basedir": str(rule.basedir),
                "conda": rule.conda_env if isinstance(rule.conda_env, str) else None,
                # script: (relative to the rule file), or the entry point a shell: rule runs (its
                # input `entry`). Inputs name the checkout's files relative to the working
                # directory: made absolute here.
                "script": rule.script or (
                    os.path.normpath(os.path.join(workdir, rule.input.entry)) if "entry" in rule.input.keys() else None
                ),
                "inputs": [os.path.normpath(os.path.join(workdir, f)) for f in rule.input if isinstance(f, str)],
            }
            for rule in workflow.rules
        ]
    print("RULES-JSON " + json.dumps(rules))
    """
)


def normalise(name):
    """PEP 503 name, so that conda, pip and importlib spellings compare equal."""
    return re.sub(r"[-_.]+", "-", name).lower()


def configfiles():
    """The default config and every alternative one (config/*.yaml): rules defined only under
    some settings (the MFA backend, for example) are checked too."""
    return [ROOT / "config.yaml", *sorted((ROOT / "config").glob("*.yaml"))]


def real_world(workdir):
    """What the parse-time checks of a real-SVD config look for, faked in `workdir`: a phrase
    recording (corpus.root = workdir), every config's checkpoint in a Hugging Face cache, and
    the stand-in mfa on the PATH. Returns the environment to load the workflow with."""
    workdir = Path(workdir)
    (workdir / "1-phrase.wav").write_bytes(b"")
    cache = workdir / "hf-cache"
    for configfile in configfiles():
        source = (yaml.safe_load(configfile.read_text()).get("checkpoint") or {}).get("source", "")
        if "/" in source and not Path(source).exists():
            snapshot = cache / f"models--{source.replace('/', '--')}" / "snapshots" / "0"
            snapshot.mkdir(parents=True, exist_ok=True)
            (snapshot.parents[1] / "refs").mkdir(exist_ok=True)
            (snapshot.parents[1] / "refs" / "main").write_text("0")
            for name in ("config.json", "preprocessor_config.json", "model.safetensors"):
                (snapshot / name).write_text("{}")
    fake_bin = workdir / "bin"
    fake_bin.mkdir(exist_ok=True)
    if not (fake_bin / "mfa").exists():
        (fake_bin / "mfa").symlink_to(ROOT / "tests" / "fake_mfa" / "mfa")
    path = os.pathsep.join([str(fake_bin), os.environ.get("PATH", "")])
    return dict(os.environ, HF_HUB_CACHE=str(cache), PATH=path)


@functools.cache
def workflow_rules(configfile, workdir):
    """The rules that Snakemake loads from the Snakefile with `configfile`, as dicts.

    Loaded in a subprocess: loading changes the working directory and the environment."""
    done = subprocess.run(
        [sys.executable, "-c", LOAD_RULES, str(ROOT / "Snakefile"), workdir, str(configfile)],
        capture_output=True,
        text=True,
        timeout=300,
        env=real_world(workdir),
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("RULES-JSON ")]
    assert done.returncode == 0 and lines, f"loading the workflow failed:\n{done.stderr[-5000:]}"
    return json.loads(lines[-1].removeprefix("RULES-JSON "))


@pytest.fixture(scope="module")
def rules(tmp_path_factory):
    """Every rule that runs something, under each config; (config name, rule) pairs."""
    workdir = str(tmp_path_factory.mktemp("workdir"))
    loaded = []
    for configfile in configfiles():
        for rule in workflow_rules(configfile, workdir):
            if rule["runs"]:
                loaded.append((configfile.name, rule))
    return loaded


def requirements(path=ROOT / "requirements.txt"):
    """A requirement file as {normalised name: version}, following its `-r` includes."""
    pins = {}
    for line in Path(path).read_text().splitlines():
        line = line.split("#")[0].strip()
        if line.startswith("-r "):
            pins.update(requirements(Path(path).parent / line[3:].strip()))
        elif line:
            name, version = line.split("==")
            pins[normalise(name)] = version.strip()
    return pins


def env_packages(path):
    """An env file's packages as {normalised PyPI name: pinned version or None}; conda names
    are translated to PyPI's. `pip` itself is left out."""
    spec = yaml.safe_load(path.read_text())
    packages = {}
    for entry in spec["dependencies"]:
        if isinstance(entry, dict):
            for requirement in entry["pip"]:
                name, _, version = requirement.partition("==")
                packages[normalise(name)] = version.strip() or None
            continue
        match = re.fullmatch(r"([A-Za-z0-9_.\-]+)\s*(?:==?\s*([^\s=<>!*]+)(?:=\S+)?)?", entry.strip())
        assert match, f"{path.name}: cannot read dependency {entry!r}"
        name, version = match.groups()
        if name != "pip":
            packages[normalise(CONDA_TO_PYPI.get(name, name))] = version
    return packages


def env_files():
    return sorted(ENVS.glob("*.yaml"))


# -- env files ---------------------------------------------------------------------------------


def test_there_are_env_files():
    assert {p.name for p in env_files()} >= {"audio.yaml", "align.yaml", "torch.yaml", "analysis.yaml"}


@pytest.mark.parametrize("path", env_files(), ids=lambda p: p.name)
def test_env_file_parses_and_pins_every_package(path):
    spec = yaml.safe_load(path.read_text())
    assert set(spec) <= {"name", "channels", "dependencies"}, f"{path.name}: unexpected keys"
    assert spec["channels"][0] == "conda-forge", f"{path.name}: conda-forge must come first"
    assert "defaults" not in spec["channels"], f"{path.name}: the defaults channel is not used"
    pip_sections = [e for e in spec["dependencies"] if isinstance(e, dict)]
    if pip_sections:
        conda = [e.partition("=")[0] for e in spec["dependencies"] if isinstance(e, str)]
        assert "pip" in conda, f"{path.name}: a pip section needs pip installed"
        assert [set(e) for e in pip_sections] == [{"pip"}], f"{path.name}: one pip section only"
    unpinned = [name for name, version in env_packages(path).items() if not version]
    assert not unpinned, f"{path.name}: no version pinned for {unpinned}"


def conda_layer(path):
    """An env file's conda packages as {conda name: the pin as written}."""
    layer = {}
    for entry in yaml.safe_load(path.read_text())["dependencies"]:
        if isinstance(entry, str):
            name, _, pin = entry.partition("=")
            layer[name.strip()] = pin.strip()
    return layer


@pytest.mark.parametrize(
    "path", [p for p in env_files() if p.name not in ENVS_OUTSIDE_VIRTUALENV], ids=lambda p: p.name
)
def test_env_pins_are_the_virtualenvs(path):
    from svd_explain.envfiles import read_requirements, requirement_file, stale_env_files

    layer = conda_layer(path)
    assert set(layer) == {"python", "pip"}, f"{path.name}: the conda layer holds {sorted(layer)}, not python and pip only"
    assert layer["python"] == f"{sys.version_info.major}.{sys.version_info.minor}", (
        f"{path.name}: python {layer['python']}, but the virtualenv runs "
        f"{sys.version_info.major}.{sys.version_info.minor}"
    )
    requirement = requirement_file(path)
    assert requirement.is_file(), f"{path.name}: no {requirement.relative_to(ROOT)}"
    assert path not in stale_env_files(ENVS), (
        f"{path.name}: its pip section differs from {requirement.relative_to(ROOT)}; run `make envs`"
    )
    included = requirements()
    pins = {normalise(r.split("==")[0]): r.split("==")[1] for r in read_requirements(requirement)}
    missing = sorted(set(pins) - set(included))
    assert not missing, f"requirements.txt does not include {requirement.relative_to(ROOT)} ({missing} missing)"
    installed = {}
    for name, version in pins.items():
        try:
            installed[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            installed[name] = None
    differ = {n: (v, installed[n]) for n, v in pins.items() if installed[n] != v}
    assert not differ, f"{path.name}: (pinned, installed in the virtualenv) differ: {differ}; run `make venv`"


def conda_forge_versions():
    rows = [line.split("\t") for line in (ENVS / "conda-forge.tsv").read_text().splitlines() if line and not line.startswith("#")]
    return {(name, version) for name, version, _ in rows[1:]}


def test_every_conda_pin_was_seen_on_conda_forge():
    """conda-forge cannot be reached here; each conda pin must name a version recorded, with
    where it was seen, in envs/conda-forge.tsv."""
    seen = conda_forge_versions()
    unrecorded = [
        f"{path.name}: {name}={pin}"
        for path in env_files()
        for name, pin in conda_layer(path).items()
        if (name, pin) not in seen
    ]
    assert not unrecorded, f"conda pins not in envs/conda-forge.tsv: {unrecorded}"


def test_env_package_reader_translates_conda_names(tmp_path):
    env = tmp_path / "env.yaml"
    env.write_text(
        "channels: [conda-forge]\n"
        "dependencies: [python=3.11, pytorch=2.11.0, matplotlib-base==3.11.2, pip, scipy,\n"
        "  {pip: [kaldi_native_fbank==1.23.0]}]\n"
    )
    assert env_packages(env) == {
        "python": "3.11",
        "torch": "2.11.0",
        "matplotlib": "3.11.2",
        "scipy": None,
        "kaldi-native-fbank": "1.23.0",
    }
    env.write_text("channels: [conda-forge]\ndependencies: [python=3.11, kaldi=5.5.1172=cpu*]\n")
    assert env_packages(env) == {"python": "3.11", "kaldi": "5.5.1172"}
    assert conda_layer(env) == {"python": "3.11", "kaldi": "5.5.1172=cpu*"}


def test_make_envs_rewrites_only_the_pip_section(tmp_path):
    from svd_explain.envfiles import stale_env_files, write_env_files

    (tmp_path / "requirements").mkdir()
    (tmp_path / "requirements" / "x.txt").write_text("# comment\nnumpy==2.4.6\n\nsoxr==1.1.0  # why\n")
    env = tmp_path / "x.yaml"
    env.write_text("# header\nchannels: [conda-forge]\ndependencies:\n  - python=3.11\n  - pip=26.0.1\n  - pip:\n      - old==1\n")
    (tmp_path / "mfa.yaml").write_text("dependencies: [python=3.11]\n")
    assert stale_env_files(tmp_path) == [env]
    assert write_env_files(tmp_path) == [env]
    assert stale_env_files(tmp_path) == []
    text = env.read_text()
    assert text.startswith("# header\n") and yaml.safe_load(text)["dependencies"][2] == {"pip": ["numpy==2.4.6", "soxr==1.1.0"]}


# -- imports of each rule's code ---------------------------------------------------------------


def module_file(name):
    """The file of package module `name` (dotted, starting with svd_explain), or None."""
    path = PACKAGE.parent.joinpath(*name.split("."))
    for candidate in (path.with_suffix(".py"), path / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def module_name(path):
    relative = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
    return ".".join(parts)


def imported_modules(path):
    """Absolute names of every module `path` imports, anywhere in it (lazy imports too).

    `from a import b` yields both `a` and `a.b` (b may be a submodule)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    is_package = path.name == "__init__.py"
    here = module_name(path).split(".") if path.is_relative_to(PACKAGE) else []
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here if is_package else here[:-1]
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def reached_code(start_files):
    """Package files reached from `start_files` through svd_explain imports (parent packages'
    __init__ included, as Python runs them), and the third-party top-level modules imported
    on the way."""
    seen, third_party, todo = set(), set(), list(start_files)
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for name in imported_modules(path):
            top = name.split(".")[0]
            if top == "svd_explain":
                parts = name.split(".")
                for depth in range(1, len(parts) + 1):
                    found = module_file(".".join(parts[:depth]))
                    if found and found not in seen:
                        todo.append(found)
            elif top not in sys.stdlib_module_names and top != "__future__":
                third_party.add(top)
    return seen, third_party


def rule_files(rule):
    """The rule's script and the package files among its inputs."""
    script = [Path(rule["basedir"], rule["script"]).resolve()] if rule["script"] else []
    package = [Path(f).resolve() for f in rule["inputs"] if Path(f).resolve().is_relative_to(PACKAGE)]
    return script, package


def rule_id(item):
    config, rule = item
    return f"{rule['name']}[{config}]"


def report(problems):
    """One line per problem, with the configs it shows up under: [(config, rule name, text)]."""
    configs = {}
    for config, name, text in problems:
        configs.setdefault((name, text), []).append(config)
    return "\n".join(f"{name} [{', '.join(c)}]: {text}" for (name, text), c in configs.items())


def test_every_rule_declares_an_existing_conda_env(rules):
    missing = [rule_id(r) for r in rules if not r[1]["conda"]]
    assert not missing, f"rules without conda: {missing}"
    absent = [
        f"{rule_id(r)}: {r[1]['conda']}"
        for r in rules
        if not Path(r[1]["basedir"], r[1]["conda"]).resolve().is_file()
    ]
    assert not absent, f"conda env files not found: {absent}"


def module_distributions():
    """importlib's packages_distributions, plus the top-level modules of distributions whose
    top_level.txt is empty (praat-parselmouth's is: its module is one extension file),
    inferred from the files the distribution installed."""
    distributions = importlib.metadata.packages_distributions()
    for distribution in importlib.metadata.distributions():
        if (distribution.read_text("top_level.txt") or "x").strip():
            continue
        for file in distribution.files or []:
            name = inspect.getmodulename(file.name) if len(file.parts) == 1 else None
            if name and not name.startswith("_"):
                distributions.setdefault(name, []).append(distribution.metadata["Name"])
    return distributions


def test_every_module_a_rule_imports_is_in_its_env(rules):
    distributions = module_distributions()
    problems = []
    for config, rule in rules:
        if not rule["conda"]:
            continue
        env_path = Path(rule["basedir"], rule["conda"]).resolve()
        if not env_path.is_file():
            continue
        provided = set(env_packages(env_path))
        script, package = rule_files(rule)
        _, modules = reached_code(script + package)
        for module in sorted(modules):
            if module not in distributions:
                problems.append((config, rule["name"], f"imports {module}, not installed here"))
                continue
            needed = {normalise(d) for d in distributions[module]}
            if not needed & provided:
                text = f"imports {module} ({'/'.join(sorted(needed))}), which {env_path.name} does not list"
                problems.append((config, rule["name"], text))
    assert not problems, report(problems)


def test_every_package_module_a_rule_runs_is_among_its_code_inputs(rules):
    """Editing a module must rerun every rule that runs it: `code(...)` has to list it."""
    problems = []
    for config, rule in rules:
        script, package = rule_files(rule)
        if not script:
            continue
        reached, _ = reached_code(script)
        missing = sorted(str(p.relative_to(PACKAGE.parent)) for p in reached - set(script) - set(package))
        if missing:
            problems.append((config, rule["name"], f"code(...) lacks {missing}"))
    assert not problems, report(problems)


def test_import_walk_follows_package_imports(tmp_path, monkeypatch):
    """The walk sees relative, lazy and from-imports, and names third-party top levels."""
    package = tmp_path / "svd_explain"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("import scipy.signal\n")
    (package / "sub" / "leaf.py").write_text("from .. import helper\nimport os\n")
    (package / "helper.py").write_text("def f():\n    import torch\n")
    (package / "unused.py").write_text("import sklearn\n")
    script = tmp_path / "script.py"
    script.write_text("from svd_explain.sub.leaf import thing\nimport numpy as np\n")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", package)
    reached, third_party = reached_code([script])
    assert {p.relative_to(tmp_path).as_posix() for p in reached} == {
        "script.py",
        "svd_explain/__init__.py",
        "svd_explain/sub/__init__.py",
        "svd_explain/sub/leaf.py",
        "svd_explain/helper.py",
    }
    assert third_party == {"numpy", "scipy", "torch"}
