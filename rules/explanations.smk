# The explainers beside rollout (explain.methods) and the checks of every explainer's maps:
#   results/maps/{method}/{model}.npz                     maps in the common format (rollout's:
#                                                         rules/rollout.smk)
#   results/explanations/occlusion/{model}.parquet        phone occlusion's effect per phone
#   results/explanations/localisation.tsv                 maps against the planted cue (synthetic)
#   results/explanations/deletion.tsv, deletion.parquet   deletion against random order
#   results/explanations/randomisation.tsv                cascading randomisation
#   results/explanations/phone_effects.tsv                occlusion effects per phone, the study's
#                                                         claims tested on them
# with their figures under results/figures/explanations/.


rule explanation_maps:
    wildcard_constraints:
        method=GRADIENT_PATTERN,
        model=MODEL_PATTERN,
    input:
        model=R("models", "{model}"),
        split=R("split", "split.parquet"),
        audio=all_recordings,
        code=code(
            "explain_maps",
            "attention_relevance",
            "integrated_gradients",
            "occlusion",
            "rollout",
            "ast_model",
            "features",
            "frames",
            "relevance",
            "intervals",
            "labels",
            "textgrids",
            "align.status",
        ),
    output:
        R("maps", "{method}", "{model}.npz"),
    params:
        splits=config["rollout"]["splits"],
        tokens=config["rollout"]["tokens"],
        batch_size=config["rollout"]["batch_size"],
        device=config["training"]["device"],
        audio_dir=R("audio"),
        # Only Integrated Gradients' jobs use it (a change reruns only theirs).
        ig_baseline=lambda wildcards: (
            config["explain"]["ig_baseline"] if wildcards.method == "integrated_gradients" else None
        ),
    threads: 4
    resources:
        gpu=GPUS,
    log:
        R("logs", "explanations", "{method}", "{model}.log"),
    benchmark:
        R("benchmarks", "explanations", "{method}", "{model}.tsv")
    conda:
        "../envs/torch.yaml"
    script:
        "../workflow/scripts/explanation_maps.py"


rule occlusion_maps:
    wildcard_constraints:
        model=MODEL_PATTERN,
    input:
        unpack(all_alignments),
        model=R("models", "{model}"),
        split=R("split", "split.parquet"),
        audio=all_recordings,
        code=code(
            "explain_maps",
            "attention_relevance",
            "integrated_gradients",
            "occlusion",
            "rollout",
            "ast_model",
            "features",
            "frames",
            "relevance",
            "intervals",
            "labels",
            "textgrids",
            "align.status",
        ),
    output:
        maps=R("maps", "phone_occlusion", "{model}.npz"),
        effects=R("explanations", "occlusion", "{model}.parquet"),
    params:
        splits=config["rollout"]["splits"],
        batch_size=config["rollout"]["batch_size"],
        device=config["training"]["device"],
        audio_dir=R("audio"),
        alignment_dir=R("alignment"),
        status_dir=R("alignment", "status"),
        occlusion_fill=config["explain"]["occlusion_fill"],
    threads: 4
    resources:
        gpu=GPUS,
    log:
        R("logs", "explanations", "phone_occlusion", "{model}.log"),
    benchmark:
        R("benchmarks", "explanations", "phone_occlusion", "{model}.tsv")
    conda:
        "../envs/torch.yaml"
    script:
        "../workflow/scripts/occlusion_maps.py"


if config["corpus"]["source"] == "synthetic":

    rule localisation:
        input:
            maps=expand(R("maps", "{method}", "{model}.npz"), method=EXPLAIN_METHODS, model=MODELS),
            cues=R("corpus", "cues.parquet"),
            split=R("split", "split.parquet"),
            code=code("checks.localisation", "relevance", "intervals", "frames", "labels", "textgrids", "align.status"),
        output:
            table=R("explanations", "localisation.tsv"),
            recordings=R("explanations", "localisation.parquet"),
        params:
            pairs=[[method, model] for method in EXPLAIN_METHODS for model in MODELS],
            bootstrap=config["metrics"]["bootstrap"],
            confidence=config["metrics"]["confidence"],
            seed=config["seed"],
        log:
            R("logs", "explanations", "localisation.log"),
        conda:
            "../envs/analysis.yaml"
        script:
            "../workflow/scripts/localisation.py"


rule deletion:
    wildcard_constraints:
        method="|".join(EXPLAIN_METHODS),
        model=MODEL_PATTERN,
    input:
        model=R("models", "{model}"),
        maps=R("maps", "{method}", "{model}.npz"),
        split=R("split", "split.parquet"),
        audio=all_recordings,
        code=code(
            "checks.deletion",
            "checks.localisation",
            "occlusion",
            "ast_model",
            "features",
            "frames",
            "relevance",
            "intervals",
            "labels",
            "textgrids",
            "align.status",
        ),
    output:
        R("explanations", "deletion", "{method}", "{model}.parquet"),
    params:
        splits=config["rollout"]["splits"],
        batch_size=config["rollout"]["batch_size"],
        device=config["training"]["device"],
        audio_dir=R("audio"),
        seed=config["seed"],
    threads: 4
    resources:
        gpu=GPUS,
    log:
        R("logs", "explanations", "deletion", "{method}", "{model}.log"),
    conda:
        "../envs/torch.yaml"
    script:
        "../workflow/scripts/deletion.py"


rule deletion_summary:
    input:
        curves=expand(
            R("explanations", "deletion", "{method}", "{model}.parquet"), method=EXPLAIN_METHODS, model=MODELS
        ),
        code=code(
            "checks.deletion",
            "checks.localisation",
            "occlusion",
            "ast_model",
            "features",
            "frames",
            "relevance",
            "intervals",
            "labels",
            "textgrids",
            "align.status",
        ),
    output:
        table=R("explanations", "deletion.tsv"),
        curves=R("explanations", "deletion.parquet"),
    params:
        bootstrap=config["metrics"]["bootstrap"],
        confidence=config["metrics"]["confidence"],
        seed=config["seed"],
    log:
        R("logs", "explanations", "deletion.log"),
    conda:
        "../envs/torch.yaml"
    script:
        "../workflow/scripts/deletion_summary.py"


rule randomisation:
    wildcard_constraints:
        method="|".join(EXPLAIN_METHODS),
        model=MODEL_PATTERN,
    input:
        unpack(all_alignments),
        model=R("models", "{model}"),
        split=R("split", "split.parquet"),
        audio=all_recordings,
        code=code(
            "checks.randomisation",
            "explain_maps",
            "attention_relevance",
            "integrated_gradients",
            "occlusion",
            "rollout",
            "ast_model",
            "features",
            "frames",
            "relevance",
            "intervals",
            "labels",
            "textgrids",
            "align.status",
        ),
    output:
        R("explanations", "randomisation", "{method}", "{model}.tsv"),
    params:
        recordings=config["explain"]["randomisation_recordings"],
        head_fusion=config["rollout"]["head_fusion"],
        tokens=config["rollout"]["tokens"],
        device=config["training"]["device"],
        audio_dir=R("audio"),
        alignment_dir=R("alignment"),
        status_dir=R("alignment", "status"),
        seed=config["seed"],
        # Only phone occlusion's jobs use it (a change reruns only theirs).
        occlusion_fill=lambda wildcards: (
            config["explain"]["occlusion_fill"] if wildcards.method == "phone_occlusion" else None
        ),
        ig_baseline=lambda wildcards: (
            config["explain"]["ig_baseline"] if wildcards.method == "integrated_gradients" else None
        ),
    threads: 4
    resources:
        gpu=GPUS,
    log:
        R("logs", "explanations", "randomisation", "{method}", "{model}.log"),
    conda:
        "../envs/torch.yaml"
    script:
        "../workflow/scripts/randomisation.py"


rule randomisation_summary:
    input:
        tables=expand(
            R("explanations", "randomisation", "{method}", "{model}.tsv"), method=EXPLAIN_METHODS, model=MODELS
        ),
        code=code(
            "checks.randomisation",
            "explain_maps",
            "attention_relevance",
            "integrated_gradients",
            "occlusion",
            "rollout",
            "ast_model",
            "features",
            "frames",
            "relevance",
            "intervals",
            "labels",
            "textgrids",
            "align.status",
        ),
    output:
        R("explanations", "randomisation.tsv"),
    log:
        R("logs", "explanations", "randomisation.log"),
    conda:
        "../envs/torch.yaml"
    script:
        "../workflow/scripts/randomisation_summary.py"


rule phone_effects:
    input:
        effects=expand(R("explanations", "occlusion", "{model}.parquet"), model=MODELS),
        code=code("checks.phone_effects", "relevance", "intervals", "frames", "labels", "textgrids", "align.status"),
    output:
        R("explanations", "phone_effects.tsv"),
    params:
        models=MODELS,
        bootstrap=config["metrics"]["bootstrap"],
        confidence=config["metrics"]["confidence"],
        seed=config["seed"],
    log:
        R("logs", "explanations", "phone_effects.log"),
    conda:
        "../envs/analysis.yaml"
    script:
        "../workflow/scripts/phone_effects.py"


rule check_figure:
    wildcard_constraints:
        check="localisation|deletion|randomisation|phone_effects",
    input:
        table=check_table,
        code=code("checks.figures"),
    output:
        report(
            R("figures", "explanations", "{check}.png"),
            caption="../report/explanations_check_figure.rst",
            category="Explanation checks",
            labels={"check": "{check}", "content": "figure"},
        ),
    params:
        dpi=config["figures"]["dpi"],
    log:
        R("logs", "explanations", "{check}_figure.log"),
    conda:
        "../envs/analysis.yaml"
    script:
        "../workflow/scripts/check_figure.py"
