"""The conda env files (envs/<env>.yaml) and their Python packages (envs/requirements/<env>.txt).

Each env's conda layer holds only what must come from conda (python and pip; for MFA the
aligner, Kaldi and kalpy), and its Python packages come through the `pip:` section, from the
env's requirement file, which requirements.txt also includes: the virtualenv, CI and the conda
envs install the same pins. The pip section lists them inline because Snakemake copies the
env file into its conda folder before conda reads it (a `-r` path would not resolve there)
and rebuilds an env only when the env file itself changes.

`python -m svd_explain.envfiles` rewrites every env file's pip section from its requirement
file (`make envs`); with --check it only lists the env files that are out of date."""
import sys
from pathlib import Path

ENVS = Path(__file__).resolve().parents[2] / "envs"
PIP_LINE = "  - pip:"
GENERATED = "      # From envs/requirements/{name}.txt by `make envs`: edit that file, not this list."


def requirement_file(env_file):
    return Path(env_file).parent / "requirements" / f"{Path(env_file).stem}.txt"


def read_requirements(path):
    """The requirement lines of a requirement file: comments and blank lines dropped."""
    lines = []
    for line in Path(path).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            lines.append(line)
    return lines


def render(env_text, name, requirements):
    """`env_text` with its pip section replaced by `requirements` (the env file must end with
    its pip section, which every env with a requirement file does)."""
    lines = env_text.splitlines()
    if PIP_LINE not in lines:
        raise ValueError(f"envs/{name}.yaml has no `{PIP_LINE.strip()}` section to fill in")
    head = lines[: lines.index(PIP_LINE) + 1]
    body = [GENERATED.format(name=name), *(f"      - {r}" for r in requirements)]
    return "\n".join(head + body) + "\n"


def pip_section(env_text):
    """The entries of an env file's pip section, as written."""
    lines = env_text.splitlines()
    if PIP_LINE not in lines:
        return []
    entries = []
    for line in lines[lines.index(PIP_LINE) + 1:]:
        stripped = line.strip()
        if stripped.startswith("- "):
            entries.append(stripped[2:].strip())
        elif stripped and not stripped.startswith("#"):
            break
    return entries


def paired_env_files(envs=ENVS):
    """The env files that have a requirement file."""
    return [p for p in sorted(Path(envs).glob("*.yaml")) if requirement_file(p).is_file()]


def stale_env_files(envs=ENVS):
    """The env files whose pip section differs from their requirement file."""
    return [
        p for p in paired_env_files(envs)
        if pip_section(p.read_text()) != read_requirements(requirement_file(p))
    ]


def write_env_files(envs=ENVS):
    """Rewrite the pip section of every paired env file; returns the files changed."""
    changed = []
    for path in paired_env_files(envs):
        text = path.read_text()
        new = render(text, path.stem, read_requirements(requirement_file(path)))
        if new != text:
            path.write_text(new)
            changed.append(path)
    return changed


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv == ["--check"]:
        stale = stale_env_files()
        for path in stale:
            print(f"{path}: its pip section differs from {requirement_file(path)}; run `make envs`")
        return 1 if stale else 0
    for path in write_env_files():
        print(f"rewrote the pip section of {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
