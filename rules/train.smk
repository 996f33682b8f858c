# The AST models: the base checkpoint every model starts from, one training per entry of
# config["models"], and each model's scores and pooled embeddings for every recording.
# Trainer checkpoints live in results/work/train/{model}/, outside the outputs, so that a
# killed training resumes from its last epoch when rerun (src/svd_explain/train.py).
# With checkpoint.source pretext, the base starts from the demo's stand-in for the AudioSet
# checkpoint, pretrained here (src/svd_explain/pretrain.py) and loaded like a real one.


rule pretext_checkpoint:
    input:
        code=code(
            "pretrain",
            "ast_model",
            "features",
            "train",
            "textgrids",
            *(
                f"synth.{m}"
                for m in ("__init__", "pretext", "recording", "source", "tract", "voice", "phonetics", "cues")
            ),
        ),
    output:
        directory(R("checkpoint", "pretext")),
    params:
        architecture=config["checkpoint"]["tiny"],
        pretext=config["checkpoint"]["pretext"],
        seed=config["seed"],
        device=config["training"]["device"],
    # One core: it needs nothing from the corpus, so it runs beside the per-recording jobs.
    threads: 1
    resources:
        gpu=GPUS,
    log:
        R("logs", "train", "pretext_checkpoint.log"),
    benchmark:
        R("benchmarks", "train", "pretext_checkpoint.tsv")
    conda:
        "../envs/torch.yaml"
    script:
        "../workflow/scripts/pretext_checkpoint.py"


rule base_checkpoint:
    input:
        audio=all_recordings,
        # max_length auto is sized on train and dev only.
        split=R("split", "split.parquet"),
        source=checkpoint_source,
        code=code("ast_model", "features"),
    output:
        directory(R("checkpoint", "base")),
    params:
        source=CHECKPOINT_SOURCE,
        max_length=config["checkpoint"]["max_length"],
        tiny=config["checkpoint"]["tiny"] if config["checkpoint"]["source"] == "tiny" else None,
        seed=config["seed"],
    log:
        R("logs", "train", "base_checkpoint.log"),
    conda:
        "../envs/torch.yaml"
    script:
        "../workflow/scripts/base_checkpoint.py"


rule train_model:
    wildcard_constraints:
        model=MODEL_PATTERN,
    input:
        base=R("checkpoint", "base"),
        split=R("split", "split.parquet"),
        audio=all_recordings,
        code=code("ast_model", "features", "train"),
    output:
        directory(R("models", "{model}")),
    params:
        model=lambda wildcards: config["models"][wildcards.model],
        training=config["training"],
        seed=config["seed"],
        audio_dir=R("audio"),
        work_dir=lambda wildcards: R("work", "train", wildcards.model),
    threads: 4
    resources:
        gpu=GPUS,
    log:
        R("logs", "train", "{model}.log"),
    benchmark:
        R("benchmarks", "train", "{model}.tsv")
    conda:
        "../envs/torch.yaml"
    script:
        "../workflow/scripts/train_model.py"


rule predict:
    wildcard_constraints:
        model=MODEL_PATTERN,
    input:
        model=R("models", "{model}"),
        split=R("split", "split.parquet"),
        audio=all_recordings,
        code=code("ast_model", "features", "predict", "thresholds"),
    output:
        predictions=R("predictions", "{model}.parquet"),
        embeddings=R("embeddings", "{model}.parquet"),
        # The decision threshold, chosen on dev (src/svd_explain/thresholds.py).
        threshold=R("models", "{model}.threshold.json"),
    params:
        batch_size=config["training"]["per_device_batch_size"],
        device=config["training"]["device"],
        audio_dir=R("audio"),
    threads: 4
    resources:
        gpu=GPUS,
    log:
        R("logs", "predict", "{model}.log"),
    benchmark:
        R("benchmarks", "predict", "{model}.tsv")
    conda:
        "../envs/torch.yaml"
    script:
        "../workflow/scripts/predict.py"
