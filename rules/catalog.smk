# The catalog: one row per usable session, every exclusion with its reason. A checkpoint,
# because the per-recording jobs downstream are known only once it has run.
import importlib.util


def corpus_root():
    if config["corpus"]["source"] == "synthetic":
        return R("corpus", "synthetic")
    if not config["corpus"]["root"]:
        raise ValueError("corpus.root must name the SVD download when corpus.source is svd")
    return config["corpus"]["root"]


def session_table():
    """The session table in the official column format."""
    if config["corpus"]["source"] == "synthetic":
        return R("corpus", "synthetic", "summary.csv")
    if config["corpus"]["metadata"]:
        return config["corpus"]["metadata"]
    # The official table shipped inside the sbvoicedb package (found without importing it).
    return str(Path(importlib.util.find_spec("sbvoicedb").origin).with_name("summary.csv"))


def catalog_inputs(wildcards):
    inputs = {"categories": str(BASE / "resources" / "pathology_categories.tsv")}
    if config["corpus"]["source"] == "synthetic":
        inputs["corpus"] = corpus_root()
    else:
        inputs["metadata"] = session_table()
    return inputs


checkpoint catalog:
    input:
        unpack(catalog_inputs),
        code=code("catalog", "audio"),
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
