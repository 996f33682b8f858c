# Attention-rollout relevance maps: one file per model with a map for every recording of the
# configured splits (results/maps/rollout/{model}.npz; format in src/svd_explain/rollout.py),
# the study's explainer; the other explainers' maps: rules/explanations.smk.


rule rollout:
    wildcard_constraints:
        model=MODEL_PATTERN,
    input:
        model=R("models", "{model}"),
        split=R("split", "split.parquet"),
        audio=all_recordings,
        code=code("ast_model", "features", "rollout"),
    output:
        R("maps", "rollout", "{model}.npz"),
    params:
        splits=config["rollout"]["splits"],
        head_fusion=config["rollout"]["head_fusion"],
        tokens=config["rollout"]["tokens"],
        batch_size=config["rollout"]["batch_size"],
        device=config["training"]["device"],
        audio_dir=R("audio"),
    threads: 4
    resources:
        gpu=GPUS,
    log:
        R("logs", "explanations", "rollout", "{model}.log"),
    benchmark:
        R("benchmarks", "explanations", "rollout", "{model}.tsv")
    conda:
        "../envs/torch.yaml"
    script:
        "../workflow/scripts/rollout.py"
