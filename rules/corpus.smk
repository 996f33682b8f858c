# The embedded default corpus: sessions of the real SVD session table with synthetic phrase
# recordings in the official archive layout and their true phone boundaries
# (src/svd_explain/synth/). The catalog takes the folder as its corpus when
# config["corpus"]["source"] is synthetic. The pathology cues it plants (on every phone, or on
# corpus.synthetic.cue_phones, checked before the first job by config_checks) are listed per
# recording in results/corpus/cues.parquet (and .tsv).

SYNTHETIC = config["corpus"]["synthetic"]
# The synthesizer's modules, without synth/figures.py (redrawing the examples must not
# regenerate the corpus and everything after it) and synth/pretext.py (the pretext clips).
SYNTHESIZER = [
    f"synth.{module}"
    for module in ("__init__", "corpus", "cues", "phonetics", "recording", "selection", "source", "tract", "voice")
]


rule synthetic_corpus:
    input:
        lexicon=checkout_file("resources", "lexicon.txt"),
        phrase=checkout_file("resources", "phrase.txt"),
        categories=checkout_file("resources", "pathology_categories.tsv"),
        code=code(*SYNTHESIZER, "nsp", "catalog", "audio", "textgrids"),
    output:
        corpus=directory(R("corpus", "synthetic")),
        cues=R("corpus", "cues.parquet"),
        cues_tsv=R("corpus", "cues.tsv"),
    params:
        n_sessions=SYNTHETIC["n_sessions"],
        layout=SYNTHETIC["layout"],
        perturbation_scale=SYNTHETIC["perturbation_scale"],
        cue_phones=SYNTHETIC["cue_phones"],
        seed=config["seed"],
    threads: 2
    # First: it takes every core for a few seconds, then the one-core pretext pretraining runs
    # beside the per-recording jobs that need the corpus (else it waits for the pretraining).
    priority: 10
    resources:
        mem_mb=2000,
    log:
        R("logs", "corpus", "synthetic.log"),
    benchmark:
        R("benchmarks", "synthetic_corpus.tsv")
    conda:
        "../envs/audio.yaml"
    script:
        "../workflow/scripts/synthetic_corpus.py"


rule synthetic_examples:
    input:
        corpus=R("corpus", "synthetic"),
        cues=R("corpus", "cues.parquet"),
        categories=checkout_file("resources", "pathology_categories.tsv"),
        code=code("synth", "nsp", "audio", "catalog", "defects", "textgrids"),
    output:
        report(
            R("figures", "corpus", "examples.png"),
            caption="../report/corpus_examples.rst",
            category="Data",
            labels={"content": "synthetic voices (figure)"},
        ),
    params:
        n_per_class=3,
        seed=config["seed"],
    log:
        R("logs", "corpus", "synthetic_examples.log"),
    conda:
        "../envs/audio.yaml"
    script:
        "../workflow/scripts/synthetic_examples.py"
