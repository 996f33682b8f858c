# The classical voice features behind the classical baselines: one job per recording computing
# both sets (openSMILE eGeMAPS functionals, Praat voice measures) from its 16 kHz audio, so that
# a changed recording reruns only its own features; then one table per set. The log-mel
# statistics (the AST's own input, summarised) come from one job over every recording: they
# need the checkpoint's feature extractor and take well under a second a recording.


rule voice_features:
    input:
        audio=R("audio", "{session}.wav"),
        code=code("voice_features"),
    output:
        R("features", "recordings", "{session}.json"),
    log:
        R("logs", "features", "{session}.log"),
    conda:
        "../envs/audio.yaml"
    script:
        "../workflow/scripts/voice_features.py"


rule feature_tables:
    input:
        recordings=all_feature_recordings,
        code=code("voice_features"),
    output:
        egemaps=R("features", "egemaps.parquet"),
        praat=R("features", "praat.parquet"),
        egemaps_tsv=R("features", "egemaps.tsv"),
        praat_tsv=R("features", "praat.tsv"),
    log:
        R("logs", "features", "tables.log"),
    conda:
        "../envs/audio.yaml"
    script:
        "../workflow/scripts/feature_tables.py"


rule logmel_features:
    input:
        audio=all_recordings,
        checkpoint=R("checkpoint", "base"),
        code=code("features", "logmel_features"),
    output:
        R("features", "logmel.parquet"),
    params:
        sessions=lambda wildcards: session_ids(),
    log:
        R("logs", "features", "logmel.log"),
    conda:
        "../envs/torch.yaml"
    script:
        "../workflow/scripts/logmel_features.py"
