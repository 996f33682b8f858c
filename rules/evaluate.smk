# Evaluation of the trained models: metrics with speaker-bootstrap CIs, the side-by-side table
# with the age-only and sex-only baselines, the O / X / A / B cases, and what the pooled
# embeddings encode (2-D maps, linear probes).


rule metrics:
    wildcard_constraints:
        model=MODEL_PATTERN,
    input:
        predictions=R("predictions", "{model}.parquet"),
        split=R("split", "split.parquet"),
        code=code("metrics"),
    output:
        report(
            R("metrics", "{model}.json"),
            caption="../report/metrics.rst",
            category="Metrics",
            labels={"model": "{model}", "content": "metrics per split"},
        ),
    params:
        bootstrap=config["metrics"]["bootstrap"],
        confidence=config["metrics"]["confidence"],
        seed=config["seed"],
    log:
        R("logs", "metrics", "{model}.log"),
    conda:
        "../envs/analysis.yaml"
    script:
        "../workflow/scripts/metrics.py"


rule metrics_summary:
    input:
        metrics=expand(R("metrics", "{model}.json"), model=MODELS),
        predictions=expand(R("predictions", "{model}.parquet"), model=MODELS),
        catalog=R("catalog", "sessions.parquet"),
        split=R("split", "split.parquet"),
        code=code("metrics"),
    output:
        summary=report(
            R("metrics", "summary.tsv"),
            caption="../report/metrics_summary.rst",
            category="Metrics",
            labels={"model": "all", "content": "summary table"},
        ),
        baselines=report(
            R("metrics", "baselines.json"),
            caption="../report/metrics_baselines.rst",
            category="Metrics",
            labels={"model": "age_only, sex_only", "content": "baseline metrics per split"},
        ),
        # For the ROC figure: the baselines' curves.
        baseline_predictions=R("metrics", "baseline_predictions.parquet"),
    params:
        models=MODELS,
        bootstrap=config["metrics"]["bootstrap"],
        confidence=config["metrics"]["confidence"],
        seed=config["seed"],
    log:
        R("logs", "metrics", "summary.log"),
    conda:
        "../envs/analysis.yaml"
    script:
        "../workflow/scripts/metrics_summary.py"


rule metrics_figures:
    input:
        metrics=expand(R("metrics", "{model}.json"), model=MODELS),
        predictions=expand(R("predictions", "{model}.parquet"), model=MODELS),
        split=R("split", "split.parquet"),
        baselines=R("metrics", "baselines.json"),
        baseline_predictions=R("metrics", "baseline_predictions.parquet"),
        code=code("metrics"),
    output:
        roc=report(
            R("figures", "metrics", "roc.png"),
            caption="../report/metrics_roc.rst",
            category="Metrics",
            labels={"model": "all", "content": "ROC curves"},
        ),
        confusion=report(
            R("figures", "metrics", "confusion.png"),
            caption="../report/metrics_confusion.rst",
            category="Metrics",
            labels={"model": "all", "content": "confusion matrices"},
        ),
    params:
        models=MODELS,
        dpi=config["figures"]["dpi"],
    log:
        R("logs", "metrics", "figures.log"),
    conda:
        "../envs/analysis.yaml"
    script:
        "../workflow/scripts/metrics_figures.py"


if HAS_CASE_MODELS:

    rule cases:
        input:
            freeze=R("predictions", f"{CASE_MODELS['freeze']}.parquet"),
            finetuned=R("predictions", f"{CASE_MODELS['finetuned']}.parquet"),
            code=code("metrics"),
        output:
            report(
                R("cases.tsv"),
                caption="../report/cases.rst",
                category="Metrics",
                labels={"model": "freeze vs finetuned", "content": "cases O/X/A/B"},
            ),
        params:
            freeze_model=CASE_MODELS["freeze"],
            finetuned_model=CASE_MODELS["finetuned"],
        log:
            R("logs", "cases.log"),
        conda:
            "../envs/analysis.yaml"
        script:
            "../workflow/scripts/cases.py"


rule representations:
    wildcard_constraints:
        model=MODEL_PATTERN,
    input:
        embeddings=R("embeddings", "{model}.parquet"),
        split=R("split", "split.parquet"),
        code=code("representations"),
    output:
        report(
            R("figures", "representations", "{model}.png"),
            caption="../report/representations.rst",
            category="Representations",
            labels={"model": "{model}", "content": "PCA and t-SNE maps"},
        ),
    params:
        perplexity=config["representations"]["tsne_perplexity"],
        seed=config["seed"],
        dpi=config["figures"]["dpi"],
    log:
        R("logs", "representations", "{model}.log"),
    benchmark:
        R("benchmarks", "representations", "{model}.tsv")
    conda:
        "../envs/analysis.yaml"
    script:
        "../workflow/scripts/representations.py"


rule probes:
    input:
        embeddings=expand(R("embeddings", "{model}.parquet"), model=MODELS),
        split=R("split", "split.parquet"),
        code=code("representations"),
    output:
        table=report(
            R("representations", "probes.tsv"),
            caption="../report/probes.rst",
            category="Representations",
            labels={"model": "all", "content": "linear probes (table)"},
        ),
    params:
        models=MODELS,
        folds=config["representations"]["probe_folds"],
        permutations=config["representations"]["probe_permutations"],
        seed=config["seed"],
    log:
        R("logs", "representations", "probes.log"),
    benchmark:
        R("benchmarks", "representations", "probes.tsv")
    conda:
        "../envs/analysis.yaml"
    script:
        "../workflow/scripts/probes.py"


rule probes_figure:
    input:
        table=R("representations", "probes.tsv"),
        code=code("representations"),
    output:
        report(
            R("representations", "probes.png"),
            caption="../report/probes_figure.rst",
            category="Representations",
            labels={"model": "all", "content": "linear probes (figure)"},
        ),
    params:
        dpi=config["figures"]["dpi"],
    log:
        R("logs", "representations", "probes_figure.log"),
    conda:
        "../envs/analysis.yaml"
    script:
        "../workflow/scripts/probes_figure.py"
