# The relevance figures (one job per test recording, both study models side by side) and the
# relevance statistics (per phone, spread, against energy).
# Which recordings get a figure is known only once the cases exist: the figure_selection
# checkpoint writes the chosen sessions, and figures_targets() reads them.

# The study pair, drawn side by side and compared: the models the cases compare.
FIGURE_MODELS = [CASE_MODELS["freeze"], CASE_MODELS["finetuned"]]


@functools.lru_cache(maxsize=4)
def _read_tsv(path, mtime):
    return pd.read_csv(path, sep="\t")


def figure_case(wildcards):
    """The report subcategory of a recording's figure: its case (the caption explains them)."""
    path = R("cases.tsv")
    cases = _read_tsv(path, os.path.getmtime(path)).set_index("session_id")["case"]
    return f"case {cases[int(wildcards.session)]}"


def figure_outputs():
    png = report(
        R("figures", "rollout", "{session}.png"),
        caption="../report/rollout_figure.rst",
        category="Relevance maps by case",
        subcategory=figure_case,
        labels={"session": "{session}", "models": " | ".join(FIGURE_MODELS)},
    )
    pdf = [R("figures", "rollout", "{session}.pdf")] if "pdf" in config["figures"]["formats"] else []
    return [png, *pdf]


def figures_targets():
    """Every output of the rollout and figures stages, for `rule all` (call it inside an input
    function: the figure list comes from a checkpoint)."""
    targets = [
        *expand(R("rollout", "{model}.npz"), model=MODELS),
        R("relevance", "phones.tsv"),
        R("figures", "relevance", "phones.png"),
        R("relevance", "energy.tsv"),
        R("figures", "relevance", "energy.png"),
    ]
    if not HAS_CASE_MODELS:  # evaluate.smk has warned: no cases, so no figures or comparison
        return targets
    selection = checkpoints.figure_selection.get().output[0]
    sessions = _read_tsv(selection, os.path.getmtime(selection))["session_id"]
    return [
        *targets,
        R("relevance", "spread.tsv"),
        R("figures", "relevance", "spread.png"),
        *expand(R("figures", "rollout", "{session}.{ext}"), session=sessions, ext=config["figures"]["formats"]),
    ]


def all_alignments(wildcards):
    return {
        "alignments": expand(R("alignment", "{session}.TextGrid"), session=session_ids()),
        "statuses": expand(R("alignment", "status", "{session}.json"), session=session_ids()),
    }


checkpoint figure_selection:
    input:
        cases=R("cases.tsv"),
        code=code("figures", "textgrids", "align.status"),
    output:
        R("figures", "rollout", "selection.tsv"),
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
        rollouts=expand(R("rollout", "{model}.npz"), model=FIGURE_MODELS),
        predictions=expand(R("predictions", "{model}.parquet"), model=FIGURE_MODELS),
        split=R("split", "split.parquet"),
        cases=R("cases.tsv"),
        alignment=R("alignment", "{session}.TextGrid"),
        status=R("alignment", "status", "{session}.json"),
        code=code("figures", "textgrids", "align.status"),
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
        rollouts=expand(R("rollout", "{model}.npz"), model=MODELS),
        split=R("split", "split.parquet"),
        code=code("relevance", "figures", "textgrids", "align.status"),
    output:
        table=report(
            R("relevance", "phones.tsv"),
            caption="../report/relevance_phones.rst",
            category="Relevance statistics",
            labels={"model": "all", "content": "relevance per phone (table)"},
        ),
        excluded=R("relevance", "phones_excluded.tsv"),
    params:
        models=MODELS,
        alignment_dir=R("alignment"),
        status_dir=R("alignment", "status"),
        bootstrap=config["metrics"]["bootstrap"],
        confidence=config["metrics"]["confidence"],
        seed=config["seed"],
    log:
        R("logs", "relevance", "phones.log"),
    benchmark:
        R("benchmarks", "relevance", "phones.tsv")
    conda:
        "../envs/analysis.yaml"
    script:
        "../workflow/scripts/relevance_phones.py"


rule relevance_phones_figure:
    input:
        table=R("relevance", "phones.tsv"),
        code=code("relevance", "figures", "textgrids", "align.status"),
    output:
        report(
            R("figures", "relevance", "phones.png"),
            caption="../report/relevance_phones_figure.rst",
            category="Relevance statistics",
            labels={"model": "all", "content": "relevance per phone (figure)"},
        ),
    params:
        models=MODELS,
        dpi=config["figures"]["dpi"],
        confidence=config["metrics"]["confidence"],  # for the caption only
    log:
        R("logs", "relevance", "phones_figure.log"),
    conda:
        "../envs/analysis.yaml"
    script:
        "../workflow/scripts/relevance_phones_figure.py"


rule relevance_spread:
    input:
        rollouts=expand(R("rollout", "{model}.npz"), model=MODELS),
        split=R("split", "split.parquet"),
        code=code("relevance", "figures", "textgrids", "align.status"),
    output:
        table=report(
            R("relevance", "spread.tsv"),
            caption="../report/relevance_spread.rst",
            category="Relevance statistics",
            labels={"model": "all", "content": "spread of the maps (table)"},
        ),
        recordings=R("relevance", "spread.parquet"),
    params:
        models=MODELS,
        pair=FIGURE_MODELS,
    log:
        R("logs", "relevance", "spread.log"),
    benchmark:
        R("benchmarks", "relevance", "spread.tsv")
    conda:
        "../envs/analysis.yaml"
    script:
        "../workflow/scripts/relevance_spread.py"


rule relevance_spread_figure:
    input:
        table=R("relevance", "spread.tsv"),
        recordings=R("relevance", "spread.parquet"),
        code=code("relevance", "figures", "textgrids", "align.status"),
    output:
        report(
            R("figures", "relevance", "spread.png"),
            caption="../report/relevance_spread_figure.rst",
            category="Relevance statistics",
            labels={"model": " | ".join(FIGURE_MODELS), "content": "spread of the maps (figure)"},
        ),
    params:
        pair=FIGURE_MODELS,
        dpi=config["figures"]["dpi"],
    log:
        R("logs", "relevance", "spread_figure.log"),
    conda:
        "../envs/analysis.yaml"
    script:
        "../workflow/scripts/relevance_spread_figure.py"


rule relevance_energy:
    input:
        rollouts=expand(R("rollout", "{model}.npz"), model=MODELS),
        split=R("split", "split.parquet"),
        code=code("relevance", "figures", "textgrids", "align.status"),
    output:
        table=report(
            R("relevance", "energy.tsv"),
            caption="../report/relevance_energy.rst",
            category="Relevance statistics",
            labels={"model": "all", "content": "relevance against energy (table)"},
        ),
        recordings=R("relevance", "energy.parquet"),
    params:
        models=MODELS,
        bootstrap=config["metrics"]["bootstrap"],
        confidence=config["metrics"]["confidence"],
        seed=config["seed"],
    log:
        R("logs", "relevance", "energy.log"),
    benchmark:
        R("benchmarks", "relevance", "energy.tsv")
    conda:
        "../envs/analysis.yaml"
    script:
        "../workflow/scripts/relevance_energy.py"


rule relevance_energy_figure:
    input:
        recordings=R("relevance", "energy.parquet"),
        code=code("relevance", "figures", "textgrids", "align.status"),
    output:
        report(
            R("figures", "relevance", "energy.png"),
            caption="../report/relevance_energy_figure.rst",
            category="Relevance statistics",
            labels={"model": "all", "content": "relevance against energy (figure)"},
        ),
    params:
        dpi=config["figures"]["dpi"],
    log:
        R("logs", "relevance", "energy_figure.log"),
    conda:
        "../envs/analysis.yaml"
    script:
        "../workflow/scripts/relevance_energy_figure.py"
