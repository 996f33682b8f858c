# svd-explain: explainable voice-disorder detection on the Saarbrücken Voice Database.
# Thin on purpose: configuration, validation, the stages, and the final targets.
import os

from snakemake.utils import min_version, validate

min_version("9.0")


configfile: os.path.join(workflow.basedir, "config.yaml")


validate(config, "workflow/schemas/config.schema.yaml")


include: "rules/common.smk"
include: "rules/corpus.smk"
include: "rules/catalog.smk"
include: "rules/audio.smk"
include: "rules/align.smk"
include: "rules/split.smk"
include: "rules/train.smk"
include: "rules/evaluate.smk"
include: "rules/rollout.smk"
include: "rules/figures.smk"


rule all:
    input:
        final_targets,
    default_target: True
