# The AST models: the base checkpoint every model starts from, one training per entry of
# config["models"], and each model's scores and pooled embeddings for every recording.
# Trainer checkpoints live in results/work/train/{model}/, outside the outputs, so that a
# killed training resumes from its last epoch when rerun (src/svd_explain/train.py).


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
        source=config["checkpoint"]["source"],
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
