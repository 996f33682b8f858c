# The tables of the report. Snakemake's report shows images, PDF and HTML and offers any other
# file only as a download, so every table a reader should see gets an HTML view (under
# results/views/, by src/svd_explain/table_views.py), and the view, not the TSV, is registered.
# One small rule per table (TableView, rules/common.smk): editing the views' code reruns only them.
SYNTHETIC_CORPUS = config["corpus"]["source"] == "synthetic"
PER_METHOD = {"method": EXPLAIN_METHODS}
TABLE_VIEWS = [
    TableView(
        "catalog",
        R("catalog", "sessions.tsv"),
        "../report/catalog.rst",
        "Data",
        {"content": "catalog of recordings"},
        "Catalog: every recording kept",
    ),
    TableView(
        "excluded",
        R("catalog", "excluded.tsv"),
        "../report/catalog_excluded.rst",
        "Data",
        {"content": "recordings left out, and why"},
        "Recordings left out of the catalog",
    ),
    TableView(
        "cues",
        R("corpus", "cues.tsv"),
        "../report/corpus_cues.rst",
        "Data",
        {"content": "planted cues (synthetic corpus)"},
        "Where the pathology cue is planted",
        when=SYNTHETIC_CORPUS,
    ),
    TableView(
        "split",
        R("split", "split.tsv"),
        "../report/split.rst",
        "Data",
        {"content": "split"},
        "Speaker-disjoint split",
        caption_params={
            "shares": SPLIT_SHARES,
            "seed": config["seed"],
        },
    ),
    TableView(
        "split_counts",
        R("split", "counts.tsv"),
        "../report/split_counts.rst",
        "Data",
        {"content": "split counts"},
        "Speakers and sessions per split",
        caption_params={"shares": SPLIT_SHARES},
    ),
    TableView(
        "alignment_failed",
        R("alignment", "failed.tsv"),
        "../report/alignment_failed.rst",
        "Alignment",
        {"content": "recordings not aligned or doubtful"},
        "Recordings not aligned, or aligned doubtfully",
    ),
    TableView(
        "alignment_accuracy",
        R("alignment", "accuracy.tsv"),
        "../report/alignment_accuracy.rst",
        "Alignment",
        {"content": "boundary errors against the synthetic truth (table)"},
        "Phone boundaries against the synthetic truth",
        when=SYNTHETIC_CORPUS,
    ),
    TableView(
        "pretext_history",
        R("checkpoint", "pretext"),
        "../report/pretext_history.rst",
        "Training",
        {"model": "pretext checkpoint", "content": "learning curve and history"},
        "Stand-in pretraining: learning curve and history per epoch",
        member="history.tsv",
        image_member="learning_curve.png",
        when=config["checkpoint"]["source"] == "pretext",
    ),
    TableView(
        "training_history",
        R("models", "{model}"),
        "../report/training_history.rst",
        "Training",
        {"model": "{model}", "content": "learning curve and history"},
        "Training: learning curve and history per epoch",
        member="history.tsv",
        image_member="learning_curve.png",
        expand={"model": MODELS},
    ),
    TableView(
        "features_egemaps",
        R("features", "egemaps.tsv"),
        "../report/features.rst",
        "Baselines",
        {"model": "classical", "content": "eGeMAPS functionals per recording"},
        "eGeMAPS functionals per recording",
        when=bool(FEATURE_SETS),
    ),
    TableView(
        "features_praat",
        R("features", "praat.tsv"),
        "../report/features.rst",
        "Baselines",
        {"model": "classical", "content": "Praat voice measures per recording"},
        "Praat voice measures per recording",
        when=bool(FEATURE_SETS),
    ),
    TableView(
        "metrics_summary",
        R("metrics", "summary.tsv"),
        "../report/metrics_summary.rst",
        "Metrics",
        {"model": "all", "content": "summary table"},
        "Metrics of every model and baseline",
    ),
    TableView(
        "comparisons",
        R("metrics", "comparisons.tsv"),
        "../report/comparisons.rst",
        "Metrics",
        {"model": "all pairs", "content": "paired comparisons"},
        "Paired comparisons on the test sessions",
    ),
    TableView(
        "cases",
        R("cases.tsv"),
        "../report/cases.rst",
        "Metrics",
        {"model": "freeze vs finetuned", "content": "cases O/X/A/B"},
        "Cases of the test recordings",
        caption_params={"freeze_model": CASE_MODELS["freeze"], "finetuned_model": CASE_MODELS["finetuned"]},
        when=HAS_CASE_MODELS,
    ),
    TableView(
        "probes",
        R("representations", "probes.tsv"),
        "../report/probes.rst",
        "Representations",
        {"model": "all", "content": "linear probes (table)"},
        "Linear probes of the pooled embeddings",
        caption_params={
            "folds": config["representations"]["probe_folds"],
            "permutations": config["representations"]["probe_permutations"],
        },
    ),
    TableView(
        "relevance_phones",
        R("relevance", "{method}", "phones.tsv"),
        "../report/relevance_phones.rst",
        "Relevance statistics",
        {"method": "{method}", "model": "all", "content": "relevance per phone (table)"},
        "Relevance per phone",
        caption_params={"bootstrap": config["metrics"]["bootstrap"], "confidence": config["metrics"]["confidence"]},
        expand=PER_METHOD,
    ),
    TableView(
        "relevance_spread",
        R("relevance", "{method}", "spread.tsv"),
        "../report/relevance_spread.rst",
        "Relevance statistics",
        {"method": "{method}", "model": "all", "content": "spread of the maps (table)"},
        "Spread of the relevance maps",
        caption_params={"pair": FIGURE_MODELS, "confidence": config["metrics"]["confidence"]},
        expand=PER_METHOD,
        when=HAS_CASE_MODELS,
    ),
    TableView(
        "relevance_energy",
        R("relevance", "{method}", "energy.tsv"),
        "../report/relevance_energy.rst",
        "Relevance statistics",
        {"method": "{method}", "model": "all", "content": "relevance against energy (table)"},
        "Relevance against spectral power",
        caption_params={"confidence": config["metrics"]["confidence"]},
        expand=PER_METHOD,
    ),
    TableView(
        "localisation",
        R("explanations", "localisation.tsv"),
        "../report/explanations_localisation.rst",
        "Explanation checks",
        {"check": "localisation", "content": "table"},
        "Localisation of the planted cue",
        when="localisation" in explanation_checks(),
    ),
    TableView(
        "deletion",
        R("explanations", "deletion.tsv"),
        "../report/explanations_deletion.rst",
        "Explanation checks",
        {"check": "deletion", "content": "table"},
        "Deletion faithfulness",
    ),
    TableView(
        "randomisation",
        R("explanations", "randomisation.tsv"),
        "../report/explanations_randomisation.rst",
        "Explanation checks",
        {"check": "randomisation", "content": "table"},
        "Randomisation sanity check",
    ),
    TableView(
        "phone_effects",
        R("explanations", "phone_effects.tsv"),
        "../report/explanations_phone_effects.rst",
        "Explanation checks",
        {"check": "phone_effects", "content": "table"},
        "Phone occlusion effects",
        when="phone_effects" in explanation_checks(),
    ),
]


for view in TABLE_VIEWS:

    rule:
        name:
            f"view_{view.name}"
        input:
            table=view.table,
            code=code("table_views"),
        output:
            report(view.html, caption=view.caption, category=view.category, labels=view.labels),
        params:
            **view.caption_params,
            title=view.title,
            member=view.member,
            image_member=view.image_member,
        log:
            view.log,
        conda:
            "../envs/analysis.yaml"
        script:
            "../workflow/scripts/table_view.py"
