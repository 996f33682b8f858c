# Speaker-disjoint, stratified train / dev / test split of the catalog's sessions.


rule split:
    input:
        catalog=R("catalog", "sessions.parquet"),
        code=code("split"),
    output:
        split=R("split", "split.parquet"),
        table=R("split", "split.tsv"),
        counts=R("split", "counts.tsv"),
    params:
        shares=SPLIT_SHARES,
        seed=config["seed"],
    log:
        R("logs", "split.log"),
    conda:
        "../envs/analysis.yaml"
    script:
        "../workflow/scripts/split.py"
