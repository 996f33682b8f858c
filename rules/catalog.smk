# The catalog: one row per usable session, every exclusion with its reason. A checkpoint,
# because the per-recording jobs downstream are known only once it has run.


checkpoint catalog:
    input:
        unpack(catalog_inputs),
        code=code("catalog", "audio", "defects", "nsp"),
    output:
        sessions=R("catalog", "sessions.parquet"),
        table=R("catalog", "sessions.tsv"),
        excluded=R("catalog", "excluded.tsv"),
    params:
        root=corpus_root(),
        metadata=session_table(),
        catalog=config["catalog"],
    log:
        R("logs", "catalog.log"),
    benchmark:
        R("benchmarks", "catalog.tsv")
    conda:
        "../envs/audio.yaml"
    script:
        "../workflow/scripts/catalog.py"
