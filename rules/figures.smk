# The relevance figures (one job per test recording: rollout's with both study models side by
# side, and one with every explainer) and the relevance statistics of every explainer's maps
# (per phone, spread, against energy; results/relevance/{method}/).
# Which recordings get a figure is known only once the cases exist: the figure_selection
# checkpoint writes the chosen sessions, and figure_targets() reads them.


checkpoint figure_selection:
    input:
        cases=R("cases.tsv"),
        code=code("cases", "labels"),
    output:
        R("figures", "selection.tsv"),
    params:
        select=config["figures"]["select"],
        n_per_case=config["figures"]["n_per_case"],
        seed=config["seed"],
    log:
        R("logs", "figures", "selection.log"),
    conda:
        "../envs/analysis.yaml"
    script:
        "../workflow/scripts/figure_selection.py"


rule rollout_figure:
    wildcard_constraints:
        session=r"\d+",
    input:
        rollouts=expand(R("maps", "rollout", "{model}.npz"), model=FIGURE_MODELS),
        predictions=expand(R("predictions", "{model}.parquet"), model=FIGURE_MODELS),
        split=R("split", "split.parquet"),
        cases=R("cases.tsv"),
        alignment=R("alignment", "{session}.TextGrid"),
        status=R("alignment", "status", "{session}.json"),
        code=code("figures", "cases", "frames", "labels", "textgrids", "align.status"),
    output:
        figure_outputs(),
    params:
        models=FIGURE_MODELS,
        dpi=config["figures"]["dpi"],
        width_in=config["figures"]["width_in"],
    log:
        R("logs", "figures", "rollout", "{session}.log"),
    conda:
        "../envs/analysis.yaml"
    script:
        "../workflow/scripts/rollout_figure.py"


rule relevance_phones:
    input:
        unpack(all_alignments),
        maps=expand(R("maps", "{{method}}", "{model}.npz"), model=MODELS),
        split=R("split", "split.parquet"),
        code=code("relevance", "intervals", "frames", "labels", "textgrids", "align.status"),
    output:
        table=R("relevance", "{method}", "phones.tsv"),
        excluded=R("relevance", "{method}", "phones_excluded.tsv"),
    params:
        models=MODELS,
        alignment_dir=R("alignment"),
        status_dir=R("alignment", "status"),
        bootstrap=config["metrics"]["bootstrap"],
        confidence=config["metrics"]["confidence"],
        seed=config["seed"],
    log:
        R("logs", "relevance", "{method}", "phones.log"),
    benchmark:
        R("benchmarks", "relevance", "{method}", "phones.tsv")
    conda:
        "../envs/analysis.yaml"
    script:
        "../workflow/scripts/relevance_phones.py"


rule relevance_phones_figure:
    input:
        table=R("relevance", "{method}", "phones.tsv"),
        code=code(
            "relevance_figures",
            "relevance",
            "figures",
            "cases",
            "frames",
            "labels",
            "intervals",
            "textgrids",
            "align.status",
        ),
    output:
        report(
            R("figures", "relevance", "{method}", "phones.png"),
            caption="../report/relevance_phones_figure.rst",
            category="Relevance statistics",
            labels={"method": "{method}", "model": "all", "content": "relevance per phone (figure)"},
        ),
    params:
        models=MODELS,
        dpi=config["figures"]["dpi"],
        confidence=config["metrics"]["confidence"],  # for the caption only
    log:
        R("logs", "relevance", "{method}", "phones_figure.log"),
    conda:
        "../envs/analysis.yaml"
    script:
        "../workflow/scripts/relevance_phones_figure.py"


rule relevance_spread:
    input:
        maps=expand(R("maps", "{{method}}", "{model}.npz"), model=MODELS),
        split=R("split", "split.parquet"),
        code=code("relevance", "intervals", "frames", "labels", "textgrids", "align.status"),
    output:
        table=R("relevance", "{method}", "spread.tsv"),
        recordings=R("relevance", "{method}", "spread.parquet"),
    params:
        models=MODELS,
        pair=FIGURE_MODELS,
        bootstrap=config["metrics"]["bootstrap"],
        confidence=config["metrics"]["confidence"],
        seed=config["seed"],
    log:
        R("logs", "relevance", "{method}", "spread.log"),
    benchmark:
        R("benchmarks", "relevance", "{method}", "spread.tsv")
    conda:
        "../envs/analysis.yaml"
    script:
        "../workflow/scripts/relevance_spread.py"


rule relevance_spread_figure:
    input:
        table=R("relevance", "{method}", "spread.tsv"),
        recordings=R("relevance", "{method}", "spread.parquet"),
        code=code(
            "relevance_figures",
            "relevance",
            "figures",
            "cases",
            "frames",
            "labels",
            "intervals",
            "textgrids",
            "align.status",
        ),
    output:
        report(
            R("figures", "relevance", "{method}", "spread.png"),
            caption="../report/relevance_spread_figure.rst",
            category="Relevance statistics",
            labels={
                "method": "{method}",
                "model": " | ".join(FIGURE_MODELS),
                "content": "spread of the maps (figure)",
            },
        ),
    params:
        pair=FIGURE_MODELS,
        dpi=config["figures"]["dpi"],
    log:
        R("logs", "relevance", "{method}", "spread_figure.log"),
    conda:
        "../envs/analysis.yaml"
    script:
        "../workflow/scripts/relevance_spread_figure.py"


rule relevance_energy:
    input:
        maps=expand(R("maps", "{{method}}", "{model}.npz"), model=MODELS),
        split=R("split", "split.parquet"),
        code=code("relevance", "intervals", "frames", "labels", "textgrids", "align.status"),
    output:
        table=R("relevance", "{method}", "energy.tsv"),
        recordings=R("relevance", "{method}", "energy.parquet"),
    params:
        models=MODELS,
        bootstrap=config["metrics"]["bootstrap"],
        confidence=config["metrics"]["confidence"],
        seed=config["seed"],
    log:
        R("logs", "relevance", "{method}", "energy.log"),
    benchmark:
        R("benchmarks", "relevance", "{method}", "energy.tsv")
    conda:
        "../envs/analysis.yaml"
    script:
        "../workflow/scripts/relevance_energy.py"


rule relevance_energy_figure:
    input:
        recordings=R("relevance", "{method}", "energy.parquet"),
        code=code(
            "relevance_figures",
            "relevance",
            "figures",
            "cases",
            "frames",
            "labels",
            "intervals",
            "textgrids",
            "align.status",
        ),
    output:
        report(
            R("figures", "relevance", "{method}", "energy.png"),
            caption="../report/relevance_energy_figure.rst",
            category="Relevance statistics",
            labels={"method": "{method}", "model": "all", "content": "relevance against energy (figure)"},
        ),
    params:
        dpi=config["figures"]["dpi"],
    log:
        R("logs", "relevance", "{method}", "energy_figure.log"),
    conda:
        "../envs/analysis.yaml"
    script:
        "../workflow/scripts/relevance_energy_figure.py"


rule explanations_figure:
    wildcard_constraints:
        session=r"\d+",
    input:
        maps=expand(R("maps", "{method}", "{model}.npz"), method=EXPLAIN_METHODS, model=FIGURE_MODELS),
        predictions=expand(R("predictions", "{model}.parquet"), model=FIGURE_MODELS),
        split=R("split", "split.parquet"),
        cases=R("cases.tsv"),
        alignment=R("alignment", "{session}.TextGrid"),
        status=R("alignment", "status", "{session}.json"),
        code=code("figures", "cases", "frames", "labels", "textgrids", "align.status"),
    output:
        explanations_figure_outputs(),
    params:
        methods=EXPLAIN_METHODS,
        models=FIGURE_MODELS,
        dpi=config["figures"]["dpi"],
        width_in=config["figures"]["width_in"],
    log:
        R("logs", "figures", "explanations", "{session}.log"),
    conda:
        "../envs/analysis.yaml"
    script:
        "../workflow/scripts/explanations_figure.py"
