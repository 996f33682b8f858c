"""Checks of the configuration that run when Snakemake reads the Snakefile, before any job.

The schema (workflow/schemas/config.schema.yaml) checks each value on its own; this module
reports its errors in one line each (the key path and what is allowed, not the schema), and adds
the checks a schema cannot make: values that must agree with each other (split shares, duration
bounds) and the real world a first run on the real SVD meets (the data folder, the session
table, the checkpoint, the mfa executable, a results folder that holds another corpus's run).

Every problem is one line that names the key, its value and the fix. Errors stop Snakemake
before it plans a job; warnings are logged and the run goes on."""
import csv
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

# Speakers below which a dev or test split gives metrics too noisy to compare models.
MIN_EVAL_SPEAKERS = 20
# Files a checkpoint folder (save_pretrained of the model and its feature extractor) must hold;
# the weights as safetensors, one file or sharded with an index.
CHECKPOINT_FILES = ("config.json", "preprocessor_config.json")
SAFETENSORS_WEIGHTS = ("model.safetensors", "model.safetensors.index.json")
# A Hugging Face repository id: "name" or "owner/name".
REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")
# checkpoint.source values that name an AST the workflow builds itself (rules/train.smk).
BUILT_CHECKPOINTS = ("tiny", "pretext")
SCHEMA = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "config.schema.yaml"
RESOURCES = Path(__file__).resolve().parents[2] / "resources"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the configuration: the key, and a one-line message with the value
    and the fix. Warnings do not stop the run."""

    key: str
    message: str
    warning: bool = False

    def __str__(self):
        return f"config {self.key}: {self.message}"


class ConfigError(ValueError):
    """The configuration cannot run; the message has one line per problem."""

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


# -- the schema ---------------------------------------------------------------------------------


def _short(value, limit=60):
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _describe(schema):
    """What a (sub)schema accepts, in a few words."""
    if "enum" in schema:
        return " or ".join(str(v) for v in schema["enum"])
    if "const" in schema:
        return repr(schema["const"])
    kind = schema.get("type", "a value")
    kind = " or ".join(kind) if isinstance(kind, list) else kind
    bounds = []
    for word, key in (("at least", "minimum"), ("above", "exclusiveMinimum"),
                      ("at most", "maximum"), ("below", "exclusiveMaximum")):
        if key in schema:
            bounds.append(f"{word} {schema[key]}")
    return f"{'an' if kind[0] in 'aeiou' else 'a'} {kind}" + (f" {' and '.join(bounds)}" if bounds else "")


def schema_problem(error):
    """A jsonschema ValidationError as one Problem: the key path and what is allowed."""
    path = ".".join(str(p) for p in error.absolute_path)
    where = path or "(top level)"
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = sorted(error.schema.get("properties", {}))
        unknown = sorted(set(error.instance) - set(allowed))
        keys = ", ".join(f"{path}.{k}" if path else k for k in unknown)
        return Problem(
            keys,
            f"unknown key; the keys allowed {'in ' + path if path else 'at the top level'} are "
            f"{', '.join(allowed)} (config.yaml documents each)",
        )
    if error.validator in ("oneOf", "anyOf"):
        options = " or ".join(_describe(s) for s in error.validator_value)
        return Problem(where, f"{_short(error.instance)} is not allowed; use {options}")
    if error.validator == "enum":
        options = ", ".join(str(v) for v in error.validator_value)
        return Problem(where, f"{_short(error.instance)} is not allowed; use one of {options}")
    if error.validator == "contains":
        return Problem(where, f"{_short(error.instance)} must include {_describe(error.validator_value)}")
    if error.validator == "required":
        return Problem(where, f"{error.message} (config.yaml shows an example)")
    message = error.message.replace("\n", " ")
    if len(message) > 200:
        message = f"{_short(error.instance)} is not allowed here; use {_describe(error.schema)}"
    return Problem(where, message)


def validate(config, schema=SCHEMA):
    """Validate `config` against the schema and fill in its defaults (Snakemake's `validate`);
    an invalid value raises ConfigError with one line naming the key path.

    A model set to null is dropped first: Snakemake merges an overlay's dictionaries into
    config.yaml's, so `models: {ast_freeze: null}` (or `--config models='{ast_freeze: null}'`)
    is the one way an overlay can remove a model."""
    import jsonschema
    from snakemake.exceptions import WorkflowError
    from snakemake.utils import validate as snakemake_validate

    models = config.get("models")
    if isinstance(models, dict):
        for name in [name for name, settings in models.items() if settings is None]:
            del models[name]
    try:
        snakemake_validate(config, str(schema))
    except WorkflowError as error:
        # Snakemake raises it while handling jsonschema's error, whose text holds the schema.
        cause = error.__cause__ or error.__context__
        if not isinstance(cause, jsonschema.ValidationError):
            raise
        raise ConfigError([schema_problem(cause)]) from None


# -- values that must agree ---------------------------------------------------------------------


def check_split(split):
    shares = [split["train"], split["dev"], split["test"]]
    total = sum(shares)
    if abs(total - 1) > 1e-6:
        return [Problem(
            "split",
            f"train {shares[0]} + dev {shares[1]} + test {shares[2]} = {total:g}; the shares of "
            f"speakers must sum to 1 (the study's: train 0.8, dev 0.1, test 0.1)",
        )]
    return []


def check_durations(catalog):
    low, high = catalog["min_duration_s"], catalog["max_duration_s"]
    if low >= high:
        return [Problem(
            "catalog.min_duration_s",
            f"{low} is not below catalog.max_duration_s = {high}, so every recording would be "
            f"excluded; set min_duration_s below max_duration_s (defaults 0.5 and 30)",
        )]
    return []


# -- the real SVD -------------------------------------------------------------------------------


def session_table_path(corpus):
    """The session table a real-SVD run reads: corpus.metadata, or the official one shipped
    inside the sbvoicedb package (found without importing it)."""
    if corpus["metadata"]:
        return Path(corpus["metadata"])
    import importlib.util

    spec = importlib.util.find_spec("sbvoicedb")
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).with_name("summary.csv")


def read_table_header(path):
    """The column names of a CSV session table (first line only)."""
    with open(path, newline="", encoding="utf-8") as handle:
        return [c.strip() for c in next(csv.reader(handle), [])]


def check_session_table(corpus):
    from svd_explain.catalog import FILE_COLUMN, METADATA_COLUMNS

    path = session_table_path(corpus)
    key = "corpus.metadata"
    if path is None:
        return [Problem(key, "null, and the sbvoicedb package (which ships the official table) is "
                             "not installed; install requirements.txt or set corpus.metadata to your table")], None
    shown = str(path)
    if not path.is_file():
        return [Problem(key, f"{shown!r}: no such file; set corpus.metadata to the session table (CSV in "
                             f"the official columns), or null for the official table")], None
    try:
        columns = read_table_header(path)
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        return [Problem(key, f"{shown!r} cannot be read as a UTF-8 CSV table ({error}); save it as "
                             f"UTF-8 CSV with the official columns")], None
    missing = [c for c in METADATA_COLUMNS if c not in columns]
    if missing:
        return [Problem(key, f"{shown!r} lacks the column(s) {', '.join(missing)}; the session table needs "
                             f"the official SVD columns {', '.join(METADATA_COLUMNS)}")], None
    return [], (path, FILE_COLUMN in columns)


def has_phrase_recording(root):
    """Whether any phrase recording lies under `root` (stops at the first one found)."""
    from svd_explain.catalog import PHRASE_FILE

    for _, _, files in os.walk(root):
        if any(PHRASE_FILE.match(name) for name in files):
            return True
    return False


def listed_files_exist(root, table_path):
    """Whether any file named in the table's `file` column exists under `root`."""
    from svd_explain.catalog import FILE_COLUMN

    with open(table_path, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            relative = (row.get(FILE_COLUMN) or "").strip()
            if relative and (Path(root) / relative).is_file():
                return True
    return False


def check_corpus_root(corpus, table):
    root = corpus["root"]
    key = "corpus.root"
    if not root:
        return [Problem(key, "not set, but corpus.source = svd needs the SVD download: add "
                             "--config corpus='{root: /path/to/svd}' or set it in your config file")]
    path = Path(root).expanduser()
    if not path.exists():
        return [Problem(key, f"{root!r}: no such folder; set corpus.root to the folder of your SVD download")]
    if not path.is_dir():
        return [Problem(key, f"{root!r} is a file, not a folder; set corpus.root to the folder of your SVD download")]
    if table is not None and table[1]:
        if not listed_files_exist(path, table[0]):
            return [Problem(key, f"{root!r} holds none of the files that the session table's `file` column "
                                 f"names; set corpus.root to the folder those paths are relative to")]
    elif not has_phrase_recording(path):
        return [Problem(key, f"{root!r} holds no phrase recording (<session>-phrase.nsp, .wav or .flac, at "
                             f"any depth); set corpus.root to the top folder of your SVD download")]
    return []


# -- the checkpoint and the aligner -------------------------------------------------------------


def _folder_problem(folder):
    """Why `folder` is not a checkpoint that can be loaded, or None."""
    names = {p.name for p in folder.iterdir()}
    missing = [name for name in CHECKPOINT_FILES if name not in names]
    if missing:
        return f"has no {' or '.join(missing)}"
    if not names & set(SAFETENSORS_WEIGHTS):
        pickled = " (only pickled weights, which are never loaded)" if "pytorch_model.bin" in names else ""
        return f"has no safetensors weights (model.safetensors){pickled}"
    return None


def check_checkpoint(source, hf_cache=None):
    """A local save_pretrained folder, or a name already in the Hugging Face cache."""
    key = "checkpoint.source"
    if source in BUILT_CHECKPOINTS:
        return []
    folder = Path(source).expanduser()
    if folder.is_dir():
        problem = _folder_problem(folder)
        if problem:
            return [Problem(key, f"{source!r} {problem}; give the folder of a save_pretrained model with its "
                                 f"feature extractor, as safetensors")]
        return []
    if folder.exists() or not REPO_ID.match(source):
        return [Problem(key, f"{source!r}: no such folder; set checkpoint.source to a save_pretrained folder, "
                             f"or to a checkpoint name in the Hugging Face cache")]
    from huggingface_hub import constants, try_to_load_from_cache

    cache = hf_cache or constants.HF_HUB_CACHE

    def cached(name):
        return isinstance(try_to_load_from_cache(source, name, cache_dir=cache), str)

    missing = [name for name in CHECKPOINT_FILES if not cached(name)]
    if not any(cached(name) for name in SAFETENSORS_WEIGHTS):
        missing.append("model.safetensors")
    if missing:
        return [Problem(key, f"{source!r} is not a folder, and the Hugging Face cache ({cache}) lacks its "
                             f"{', '.join(missing)}; download it once with `hf download {source}` "
                             f"(the workflow never downloads), or give a save_pretrained folder")]
    return []


def check_mfa(align, conda):
    """With the MFA backend and no --sdm conda, the mfa executable must be reachable."""
    if align["backend"] != "mfa" or conda:
        return []
    command = align["mfa"]["command"]
    if shutil.which(command) is None:
        return [Problem(
            "align.mfa.command",
            f"{command!r} is not an executable on the PATH, and align.backend = mfa needs it; run with "
            f"--sdm conda (Snakemake builds envs/mfa.yaml, which holds MFA), or set align.mfa.command "
            f"to your mfa",
        )]
    return []


def mfa_root():
    """Where MFA keeps its downloaded models: $MFA_ROOT_DIR, by default ~/Documents/MFA."""
    return Path(os.environ.get("MFA_ROOT_DIR") or "~/Documents/MFA").expanduser()


def check_mfa_models(align):
    """Pretrained MFA models must be files or downloaded (a warning: MFA is not here to ask)."""
    if align["backend"] != "mfa" or align["mfa"]["mode"] != "pretrained":
        return []
    problems = []
    for kind, key in (("acoustic", "acoustic_model"), ("dictionary", "dictionary")):
        name = align["mfa"][key]
        folder = mfa_root() / "pretrained_models" / kind
        if Path(name).expanduser().exists() or any(folder.glob(f"{name}.*")):
            continue
        problems.append(Problem(
            f"align.mfa.{key}",
            f"{name!r} is neither a file nor a downloaded MFA {kind} model ({folder}); download it once "
            f"with `mfa model download {kind} {name}` (README: running the study), or the alignment "
            f"job will fail",
            warning=True,
        ))
    return problems


def check_env_files(conda, envs=None):
    """With --sdm conda, every env file's pip section must be its requirement file."""
    if not conda:
        return []
    from svd_explain import envfiles

    stale = envfiles.stale_env_files(envs or envfiles.ENVS)
    return [
        Problem("--sdm conda", f"envs/{p.name} lists other Python packages than envs/requirements/{p.stem}.txt; "
                               f"run `make envs` to rewrite its pip section")
        for p in stale
    ]


# -- warnings -----------------------------------------------------------------------------------


def estimated_speakers(config, table):
    """About how many speakers the catalog will hold (an upper bound): the synthetic corpus's
    sessions, or the speakers of the real session table."""
    corpus = config["corpus"]
    if corpus["source"] == "synthetic":
        return corpus["synthetic"]["n_sessions"]
    if table is None:
        return None
    with open(table[0], newline="", encoding="utf-8") as handle:
        return len({row["SprecherID"].strip() for row in csv.DictReader(handle)})


def check_eval_speakers(config, speakers):
    if not speakers:
        return []
    problems = []
    for name in ("dev", "test"):
        share = config["split"][name]
        expected = round(share * speakers)
        if expected < MIN_EVAL_SPEAKERS:
            problems.append(Problem(
                f"split.{name}",
                f"{share} of at most {speakers} speakers is about {expected} {name} speakers, fewer than "
                f"{MIN_EVAL_SPEAKERS}: its metrics will have wide confidence intervals; use a larger "
                f"corpus or a larger share",
                warning=True,
            ))
    return problems


def catalog_root(config):
    if config["corpus"]["source"] == "synthetic":
        return Path(config["results"], "corpus", "synthetic")
    return Path(config["corpus"]["root"] or ".")


def check_results_corpus(config, workdir):
    """A results folder whose catalog was read from another corpus is rebuilt and overwritten."""
    results = Path(workdir, config["results"])
    catalog = results / "catalog" / "sessions.parquet"
    if not catalog.is_file():
        return []
    import pyarrow.parquet as pq

    try:
        sources = pq.read_table(catalog, columns=["source"]).column("source").to_pylist()[:1]
    except Exception:  # an unreadable old catalog is rebuilt anyway
        return []
    if not sources:
        return []
    before = Path(workdir, sources[0]).resolve()
    root = Path(workdir, catalog_root(config)).expanduser().resolve()
    if before.is_relative_to(root):
        return []
    return [Problem(
        "results",
        f"{config['results']!r} already holds a run on another corpus (its catalog reads {sources[0]}, "
        f"this run reads {root}); that run's outputs will be replaced: give this run its own folder, "
        f"e.g. --config results=results-paper",
        warning=True,
    )]


# -- the demo world ------------------------------------------------------------------------------


def check_cue_phones(synthetic, resources=RESOURCES):
    """corpus.synthetic.cue_phones: "all", or voiced phones of the phrase."""
    from svd_explain.synth.cues import check_cue_phones as check
    from svd_explain.synth.phonetics import phrase_words

    try:
        check(synthetic["cue_phones"], phrase_words(resources / "phrase.txt", resources / "lexicon.txt"))
    except ValueError as error:
        return [Problem("corpus.synthetic.cue_phones", str(error))]
    return []


def check_pretext(checkpoint):
    """checkpoint.pretext: the held-out clips must leave clips to train on."""
    pretext = checkpoint["pretext"]
    if checkpoint["source"] != "pretext" or pretext["dev_clips"] < pretext["clips"]:
        return []
    return [Problem(
        "checkpoint.pretext.dev_clips",
        f"{pretext['dev_clips']} held-out clips of {pretext['clips']} leave none to train on; "
        f"hold out fewer than checkpoint.pretext.clips",
    )]


# -- everything ---------------------------------------------------------------------------------


def check_config(config, workdir=".", conda=False, hf_cache=None):
    """Every problem of a validated config (defaults filled in), errors and warnings.

    conda: whether the run uses --sdm conda (then MFA comes from envs/mfa.yaml)."""
    problems = check_split(config["split"]) + check_durations(config["catalog"])
    table = None
    if config["corpus"]["source"] == "svd":
        found, table = check_session_table(config["corpus"])
        problems += found + check_corpus_root(config["corpus"], table)
    else:
        problems += check_cue_phones(config["corpus"]["synthetic"])
    problems += check_checkpoint(config["checkpoint"]["source"], hf_cache)
    problems += check_pretext(config["checkpoint"])
    problems += check_mfa(config["align"], conda)
    problems += check_env_files(conda)
    if not any(not p.warning for p in problems):
        problems += check_mfa_models(config["align"])
        problems += check_eval_speakers(config, estimated_speakers(config, table))
        problems += check_results_corpus(config, workdir)
    return problems


def run_checks(config, workdir=".", conda=False, warn=print):
    """Check `config`: log each warning with `warn`, raise ConfigError for the errors."""
    problems = check_config(config, workdir, conda)
    for problem in problems:
        if problem.warning:
            warn(str(problem))
    errors = [p for p in problems if not p.warning]
    if errors:
        raise ConfigError(errors)
