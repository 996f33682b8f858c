# Phone alignment of every recording: results/alignment/{session}.TextGrid (tiers words and
# phones, MFA's format) and results/alignment/status/{session}.json, with one of two backends
# (config["align"]["backend"]):
#   kaldi: a GMM-HMM aligner trained on the corpus itself (one training job), then one
#          alignment job per recording, so that with a fixed model (align.kaldi.model) a new or
#          changed recording realigns on its own.
#   mfa:   the Montreal Forced Aligner in envs/mfa.yaml, one job for the whole corpus (MFA
#          loads its models once per run), then one light job per recording that collects its
#          TextGrid.
# A recording that cannot be aligned gets an empty TextGrid and a status with the reason;
# results/alignment/failed.tsv lists them all.

ALIGN = config["align"]
ALIGN_PHRASE = checkout_file("resources", "phrase.txt")
ALIGN_LEXICON = checkout_file("resources", "lexicon.txt")


if ALIGN["backend"] == "kaldi":
    ALIGN_KALDI = ALIGN["kaldi"]
    # A fixed, already trained model folder, or the one trained here.
    ALIGNER_MODEL = ALIGN_KALDI["model"] or R("alignment", "model")

    if not ALIGN_KALDI["model"]:

        rule align_train:
            input:
                audio=all_recordings,
                phrase=ALIGN_PHRASE,
                lexicon=ALIGN_LEXICON,
                code=code(
                    "align.training",
                    "align.flatstart",
                    "align.classes",
                    "align.estimation",
                    "align.aligner",
                    "align.guard",
                    "align.hmm",
                    "align.features",
                    "align.lexicon",
                    "textgrids",
                ),
            output:
                directory(R("alignment", "model")),
            params:
                em_iterations=ALIGN_KALDI["em_iterations"],
                split_at=ALIGN_KALDI["split_at"],
                max_gaussians=ALIGN_KALDI["max_gaussians"],
                silence_probability=ALIGN_KALDI["silence_probability"],
                sample_rate=config["audio"]["sample_rate"],
                seed=config["seed"],
            resources:
                mem_mb=2000,
            log:
                R("logs", "alignment", "train.log"),
            benchmark:
                R("benchmarks", "alignment", "train.tsv")
            conda:
                "../envs/align.yaml"
            script:
                "../workflow/scripts/align_train.py"

    rule align_recording:
        input:
            audio=R("audio", "{session}.wav"),
            model=ALIGNER_MODEL,
            phrase=ALIGN_PHRASE,
            code=code(
                "align.recording",
                "align.aligner",
                "align.classes",
                "align.guard",
                "align.hmm",
                "align.features",
                "align.lexicon",
                "align.status",
                "textgrids",
            ),
        output:
            textgrid=R("alignment", "{session}.TextGrid"),
            status=R("alignment", "status", "{session}.json"),
        log:
            R("logs", "alignment", "{session}.log"),
        conda:
            "../envs/align.yaml"
        script:
            "../workflow/scripts/align_recording.py"

else:
    ALIGN_MFA = ALIGN["mfa"]

    rule align_mfa:
        input:
            audio=all_recordings,
            sessions=R("catalog", "sessions.tsv"),
            phrase=ALIGN_PHRASE,
            code=code("align.mfa"),
        output:
            directory(R("alignment", "mfa")),
        params:
            mode=ALIGN_MFA["mode"],
            command=ALIGN_MFA["command"],
            dictionary=ALIGN_MFA["dictionary"],
            acoustic_model=ALIGN_MFA["acoustic_model"],
            num_jobs=ALIGN_MFA["num_jobs"],
        threads: ALIGN_MFA["num_jobs"]
        resources:
            mem_mb=8000,
        log:
            R("logs", "alignment", "mfa.log"),
        benchmark:
            R("benchmarks", "alignment", "mfa.tsv")
        conda:
            "../envs/mfa.yaml"
        script:
            "../workflow/scripts/align_mfa.py"

    rule align_mfa_collect:
        input:
            mfa=R("alignment", "mfa"),
            audio=R("audio", "{session}.wav"),
            code=code("align.mfa_outputs", "align.status", "textgrids"),
        output:
            textgrid=R("alignment", "{session}.TextGrid"),
            status=R("alignment", "status", "{session}.json"),
        localrule: True
        log:
            R("logs", "alignment", "{session}.log"),
        conda:
            "../envs/align.yaml"
        script:
            "../workflow/scripts/align_mfa_collect.py"


rule align_failures:
    input:
        statuses=alignment_statuses,
        code=code("align.status"),
    output:
        R("alignment", "failed.tsv"),
    log:
        R("logs", "alignment", "failed.log"),
    conda:
        "../envs/align.yaml"
    script:
        "../workflow/scripts/align_failures.py"


if config["corpus"]["source"] == "synthetic":

    rule alignment_accuracy:
        input:
            statuses=alignment_statuses,
            alignments=lambda wildcards: expand(R("alignment", "{session}.TextGrid"), session=session_ids()),
            audio=all_recordings,
            corpus=R("corpus", "synthetic"),
            code=code("align.accuracy", "align.status", "textgrids"),
        output:
            table=R("alignment", "accuracy.tsv"),
            figure=report(
                R("figures", "alignment", "boundaries.png"),
                caption="../report/alignment_boundaries.rst",
                category="Alignment",
                labels={"content": "true and found phone boundaries (figure)"},
            ),
        params:
            truth_dir=R("corpus", "synthetic", "truth"),
        log:
            R("logs", "alignment", "accuracy.log"),
        conda:
            "../envs/analysis.yaml"
        script:
            "../workflow/scripts/align_accuracy.py"
