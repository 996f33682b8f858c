# Evaluation: the baselines beside the AST models (confound and classical, fitted on train,
# chosen on dev), metrics with speaker-level intervals for every model and baseline at its
# dev-chosen threshold, the side-by-side table, the paired comparisons, the O / X / A / B cases,
# and what the pooled embeddings encode (2-D maps, held-out linear probes).


rule baseline:
    wildcard_constraints:
        baseline=BASELINE_PATTERN,
    input:
        unpack(baseline_inputs),
        split=R("split", "split.parquet"),
        code=code("baselines", "thresholds"),
    output:
        predictions=R("predictions", "{baseline}.parquet"),
        model=report(
            R("models", "{baseline}.json"),
            caption="../report/baseline_model.rst",
            category="Baselines",
            labels={"model": "{baseline}", "content": "fitted model"},
        ),
        threshold=R("models", "{baseline}.threshold.json"),
    params:
        c_grid=config["baselines"]["C"],
        seed=config["seed"],
    log:
        R("logs", "baselines", "{baseline}.log"),
    conda:
        "../envs/analysis.yaml"
    script:
        "../workflow/scripts/baseline.py"


rule metrics:
    wildcard_constraints:
        model=EVALUATED_PATTERN,
    input:
        predictions=R("predictions", "{model}.parquet"),
        threshold=R("models", "{model}.threshold.json"),
        split=R("split", "split.parquet"),
        code=code("metrics", "intervals", "labels"),
    output:
        report(
            R("metrics", "{model}.json"),
            caption="../report/metrics.rst",
            category="Metrics",
            labels={"model": "{model}", "content": "metrics per split"},
        ),
    params:
        kind=lambda wildcards: KINDS[wildcards.model],
        # The AST models predict every session; a baseline may lack some (no age).
        complete=lambda wildcards: wildcards.model in MODELS,
        bootstrap=config["metrics"]["bootstrap"],
        confidence=config["metrics"]["confidence"],
        min_n=config["metrics"]["min_n"],
        seed=config["seed"],
    log:
        R("logs", "metrics", "{model}.log"),
    conda:
        "../envs/analysis.yaml"
    script:
        "../workflow/scripts/metrics.py"


rule metrics_summary:
    input:
        metrics=expand(R("metrics", "{model}.json"), model=EVALUATED),
        code=code("metrics", "intervals", "labels"),
    output:
        summary=R("metrics", "summary.tsv"),
    params:
        models=EVALUATED,
    log:
        R("logs", "metrics", "summary.log"),
    conda:
        "../envs/analysis.yaml"
    script:
        "../workflow/scripts/metrics_summary.py"


rule comparisons:
    input:
        predictions=expand(R("predictions", "{model}.parquet"), model=EVALUATED),
        split=R("split", "split.parquet"),
        code=code("comparisons", "metrics", "intervals", "labels"),
    output:
        R("metrics", "comparisons.tsv"),
    params:
        models=EVALUATED,
        bootstrap=config["metrics"]["bootstrap"],
        confidence=config["metrics"]["confidence"],
        min_n=config["metrics"]["min_n"],
        seed=config["seed"],
    log:
        R("logs", "metrics", "comparisons.log"),
    benchmark:
        R("benchmarks", "metrics", "comparisons.tsv")
    conda:
        "../envs/analysis.yaml"
    script:
        "../workflow/scripts/comparisons.py"


rule metrics_figures:
    input:
        metrics=expand(R("metrics", "{model}.json"), model=EVALUATED),
        predictions=expand(R("predictions", "{model}.parquet"), model=EVALUATED),
        split=R("split", "split.parquet"),
        code=code("metrics_figures", "metrics", "intervals", "labels"),
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
        models=EVALUATED,
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
            code=code("cases", "labels"),
        output:
            R("cases.tsv"),
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
        code=code("representation_figures", "representations"),
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
        table=R("representations", "probes.tsv"),
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
        code=code("representation_figures", "representations"),
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
