"""Docs that match the code: every config field has a row in its section's table of
docs/configuration.md, every table column a row in its table of docs/outputs.md, and
README's commands exist. The tests parse each table's first (field) column, so a name
mentioned in passing elsewhere does not count, and a documented name the code lacks fails too."""

from __future__ import annotations

import dataclasses
import re
import typing
from pathlib import Path

import pytest

from analysis.cluster import EquilibriumRow
from pbt_econ.config.curriculum import AgentCurriculum, Curriculum, MaskSchedule
from pbt_econ.config.load import (
    AgentTrainingConfig,
    AnalysisConfig,
    ArchiveConfig,
    BestResponseConfig,
    NoPonziConfig,
    PopulationConfig,
    RunConfig,
    SearchParam,
    TrainingConfig,
)
from pbt_econ.config.population import Objective, RefineConfig, SolveConfig
from pbt_econ.core.tables import columns_of
from pbt_econ.economies.rbc.spaces import SpacesConfig
from pbt_econ.economy import EconomyConfig
from pbt_econ.equilibrium.best_response import BestResponseRow
from pbt_econ.equilibrium.outcomes import OutcomeRow
from pbt_econ.learning.records import MetricsRow
from pbt_econ.studies.paper.runner import ReproductionRow
from populations.driver import LineageRow
from populations.quality_diversity import ArchiveRow, ProbeRow

ROOT = Path(__file__).resolve().parents[1]


def field_column(markdown: str, heading: str) -> set[str]:
    """Names in the first column of the table under the ``## heading`` that starts with ``heading``.

    A cell like ```a`, `b`` names both; ``x_<type>`` expands to the three agent types.
    """
    sections = re.split(r"^## ", markdown, flags=re.M)
    section = next((sec for sec in sections if sec.startswith(heading)), None)
    assert section is not None, f"no section '## {heading}'"
    names: set[str] = set()
    for line in section.splitlines():
        if not line.startswith("| `"):
            continue
        first = line.split("|")[1]
        for name in re.findall(r"`([^`]+)`", first):
            if "<type>" in name:
                names |= {name.replace("<type>", t) for t in ("consumer", "firm", "government")}
            else:
                names.add(name)
    return names


CONFIG_SECTIONS = {
    "Top level": (RunConfig,),
    "`economy`": (EconomyConfig,),
    "`spaces`": (SpacesConfig,),
    "`training`": (TrainingConfig, AgentTrainingConfig, NoPonziConfig),
    "`curriculum`": (Curriculum, AgentCurriculum, MaskSchedule),
    "`population`": (PopulationConfig, Objective),
    "`population.archive`": (ArchiveConfig,),
    "`population.refine`": (RefineConfig,),
    "`population.solve`": (SolveConfig,),
    "`search_space`": (SearchParam,),
    "`best_response`": (BestResponseConfig,),
    "`analysis`": (AnalysisConfig,),
}


def test_every_config_field_is_documented_in_its_sections_table():
    text = (ROOT / "docs" / "configuration.md").read_text()
    missing = []
    for heading, classes in CONFIG_SECTIONS.items():
        documented = field_column(text, heading)
        documented |= {name.rsplit(".", 1)[-1] for name in documented}  # `no_ponzi.enabled` documents `enabled`
        for c in classes:
            hints = typing.get_type_hints(c)
            per_type = getattr(c, "PER_TYPE_FIELD", None)  # YAML keys are the agent types: their rows document it
            missing += [f"{c.__name__}.{f.name}" for f in dataclasses.fields(c) if f.name not in documented
                        and not dataclasses.is_dataclass(hints[f.name])  # a section of its own
                        and f"## `{f.name}`" not in text
                        and not (f.name == per_type and set(RunConfig().agent_types) <= documented)]
    assert not missing, missing


TABLES = {
    "`metrics`": (MetricsRow, {"segment", "trial", "restarts", "exploitability"}),  # the search adds these
    "`lineage`": (LineageRow, set()),
    "`best_response`": (BestResponseRow, set()),
    "`outcomes`": (OutcomeRow, {"cluster", "cluster_note", "regime", "verified_as", "run"}),  # analysis adds these
    "`equilibria`": (EquilibriumRow, set()),
    "`archive`": (ArchiveRow, set()),
    "`probes`": (ProbeRow, set()),
    "`reproduction`": (ReproductionRow, set()),
}


def _metrics_columns() -> set[str]:
    """The columns training writes to ``metrics.parquet`` for the default (RBC) economy (one short run)."""
    from pbt_econ.config.load import load_config
    from pbt_econ.core.tables import flatten
    from pbt_econ.learning.member import Member

    config = load_config(overrides=["economy.num_consumers=2", "training.batch_size=2", "training.hidden_size=8"])
    return set(flatten(Member(config).train(1)[0]))


def group_columns(row_type) -> set[str]:
    """The columns of ``row_type``'s ColumnGroup fields (``columns_of`` leaves them out: they are data),
    as the default (RBC) economy declares them; nested rows included."""
    from pbt_econ.equilibrium.outcomes import outcome_groups

    config = RunConfig()
    names = tuple(d.name for d in config.economy_model.descriptors)
    types = config.agent_types
    if row_type is MetricsRow:
        return _metrics_columns() - set(columns_of(MetricsRow))
    groups = {OutcomeRow: outcome_groups(names, types),
              EquilibriumRow: {"centroid": names, "centroid_se": tuple(f"{d}_se" for d in names),
                               "epsilon": tuple(f"epsilon_rel_{t}" for t in types)}}
    hints = typing.get_type_hints(row_type)
    out = {c for cols in groups.get(row_type, {}).values() for c in cols}
    for f in dataclasses.fields(row_type):
        if dataclasses.is_dataclass(hints[f.name]):
            out |= group_columns(hints[f.name])
    return out


@pytest.mark.parametrize("heading", list(TABLES))
def test_every_table_column_is_documented_in_its_table_and_nothing_else(heading):
    text = (ROOT / "docs" / "outputs.md").read_text()
    row_type, extra = TABLES[heading]
    documented = field_column(text, heading)
    columns = set(columns_of(row_type)) | group_columns(row_type)
    assert not columns - documented, f"undocumented: {sorted(columns - documented)}"
    assert not documented - columns - extra, f"documented but not written: {sorted(documented - columns - extra)}"


def test_readme_test_command_is_what_ci_runs():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    command = re.search(r"(python -m pytest[^`\n]*)", readme).group(1).strip()
    assert command in ci


def test_importing_the_packages_starts_neither_ray_nor_cuda():
    import subprocess
    import sys

    code = ("import sys, pbt_econ.economy, pbt_econ.learning.member, pbt_econ.search, analysis.report, populations.pbt; "
            "import torch; print('ray' in sys.modules, torch.cuda.is_initialized(), 'matplotlib.pyplot' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.split() == ["False", "False", "False"]


def test_every_reference_resolves_inside_the_repository():
    """Code, configs and docs cite docs/*.md files that exist, never a file outside the repository,
    and every `docs/model.md §N` names a section model.md has."""
    model = (ROOT / "docs" / "model.md").read_text()
    sections = {int(n) for n in re.findall(r"^## (\d+)\. ", model, flags=re.M)}
    files = [p for d in ("pbt_econ", "populations", "analysis", "configs", "docs", "bench") for p in (ROOT / d).rglob("*")
             if p.suffix in (".py", ".md", ".yaml")] + [ROOT / "README.md"]
    bad = []
    for path in files:
        text = path.read_text()
        outside = ("../" + "shared", "shared/" + "docs", "rbc" + "-model")  # spelled apart: this file must not match
        if any(word in text for word in outside):
            bad.append(f"{path.name}: points outside the repository")
        for ref in re.findall(r"docs/([a-z-]+\.md)", text):
            if not (ROOT / "docs" / ref).is_file():
                bad.append(f"{path.name}: docs/{ref} does not exist")
        for n in re.findall(r"model\.md §(\d+)", text):
            if int(n) not in sections:
                bad.append(f"{path.name}: docs/model.md §{n} does not exist")
    assert sections == set(range(1, 13))
    assert not bad, bad


def _ground_truth_section(kind: str) -> str:
    """The ``## <Kind>`` section of docs/ground-truth.md (empty if it has none)."""
    text = (ROOT / "docs" / "ground-truth.md").read_text()
    return next((sec for sec in re.split(r"^## ", text, flags=re.M)[1:]
                 if sec.split("\n", 1)[0].strip().lower() == kind.lower()), "")


@pytest.mark.parametrize("kind", sorted(__import__("pbt_econ.economies.registry", fromlist=["BUILTIN"]).BUILTIN))
def test_every_economys_descriptors_are_documented(kind):
    """Each built-in economy's declared descriptors are documented: in the `outcomes` table of
    docs/outputs.md, or (the ground-truth economies) in the economy's section of docs/ground-truth.md."""
    from pbt_econ.economies.registry import describe, get_entry

    economy = describe(get_entry(kind).config_class())
    outputs = field_column((ROOT / "docs" / "outputs.md").read_text(), "`outcomes`")
    section = _ground_truth_section(kind)
    ground_truth = set(re.findall(r"`([^`]+)`", section))
    ranges = re.findall(r"`(\w+?)0` … `\1T`", section)  # `savings_t0` … `savings_tT`: one per period

    def documented(name: str) -> bool:
        return name in outputs | ground_truth or any(re.fullmatch(rf"{p}\d+", name) for p in ranges)

    missing = [d.name for d in economy.descriptors if not documented(d.name)]
    assert not missing, f"{kind}: undocumented descriptors {missing}"
