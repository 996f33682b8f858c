# svd-explain: explainable voice-disorder detection on the Saarbrücken Voice Database.
# Thin on purpose: configuration, validation, the stages, and the final targets.
import os
import sys

from snakemake.logging import logger
from snakemake.settings.types import DeploymentMethod
from snakemake.utils import min_version

min_version("9.0")

# The package, importable here and in every job: with --sdm conda Snakemake drops PYTHONPATH
# from the jobs, and each job's script preamble carries this process's sys.path instead.
sys.path.insert(0, os.path.join(workflow.basedir, "src"))
from svd_explain import config_checks


configfile: os.path.join(workflow.basedir, "config.yaml")


# Errors a user can make in the config stop the run here, one line each, before any job;
# jobs (subprocesses, cluster jobs) only fill in the defaults again.
config_checks.validate(config)
if workflow.is_main_process:
    config_checks.run_checks(
        config, conda=DeploymentMethod.CONDA in workflow.deployment_settings.deployment_method, warn=logger.warning
    )


# The report's landing text (snakemake --report results/report.html).
report: "report/workflow.rst"


include: "rules/common.smk"
include: "rules/corpus.smk"
include: "rules/catalog.smk"
include: "rules/audio.smk"
include: "rules/features.smk"
include: "rules/align.smk"
include: "rules/split.smk"
include: "rules/train.smk"
include: "rules/evaluate.smk"
include: "rules/rollout.smk"
include: "rules/explanations.smk"
include: "rules/figures.smk"
include: "rules/report.smk"


rule all:
    input:
        final_targets,
        figure_targets,
    default_target: True
