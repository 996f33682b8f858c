# Per-recording resampling to 16 kHz mono: one job per recording, so that a changed raw file
# reruns only its own chain.


rule resample:
    input:
        recording=raw_recording,
        code=code("audio", "nsp"),
    output:
        R("audio", "{session}.wav"),
    params:
        sample_rate=config["audio"]["sample_rate"],
        rebuild_nsp_sizes=rebuild_nsp_sizes,
    log:
        R("logs", "audio", "{session}.log"),
    conda:
        "../envs/audio.yaml"
    script:
        "../workflow/scripts/resample.py"
