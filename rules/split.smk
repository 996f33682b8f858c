# Speaker-disjoint, stratified train / dev / test split of the catalog's sessions.


rule split:
    input:
        catalog=R("catalog", "sessions.parquet"),
        code=code("split"),
    output:
        split=R("split", "split.parquet"),
        table=report(R("split", "split.tsv"), caption="../report/split.rst", category="Data"),
        counts=report(R("split", "counts.tsv"), caption="../report/split_counts.rst", category="Data"),
    params:
        shares=[config["split"]["train"], config["split"]["dev"], config["split"]["test"]],
        seed=config["seed"],
    log:
        R("logs", "split.log"),
    conda:
        "../envs/analysis.yaml"
    script:
        "../workflow/scripts/split.py"
