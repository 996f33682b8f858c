# Per-recording resampling to 16 kHz mono: one job per recording, so that a changed raw file
# reruns only its own chain. Its entry point runs as a plain command (rules/common.smk: SCRIPTS).


rule resample:
    input:
        recording=raw_recording,
        entry=checkout_file(*SCRIPTS, "resample.py"),
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
    shell:
        '"$SVD_EXPLAIN_PYTHON" {input.entry:q} --recording {input.recording:q} --output {output:q}'
        " --sample-rate {params.sample_rate} --rebuild-nsp-sizes {params.rebuild_nsp_sizes} --log {log:q}"
