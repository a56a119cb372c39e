"""Docs that match the code: every config field is in docs/configuration.md, every
outcome/equilibrium column in docs/outputs.md, and README's commands exist."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from analysis.cluster import EquilibriumRow
from pbt_econ.best_response import BestResponseRow
from pbt_econ.config import (
    AgentTrainingConfig,
    AnalysisConfig,
    BestResponseConfig,
    NoPonziConfig,
    PopulationConfig,
    RunConfig,
    SearchParam,
    TrainingConfig,
)
from pbt_econ.curriculum import AgentCurriculum, Curriculum, MaskSchedule
from pbt_econ.economy import EconomyConfig
from pbt_econ.spaces import SpacesConfig
from pbt_econ.trainer import MetricsRow
from populations.driver import LineageRow

ROOT = Path(__file__).resolve().parents[1]


def test_every_config_field_is_documented():
    text = (ROOT / "docs" / "configuration.md").read_text()
    classes = (RunConfig, EconomyConfig, SpacesConfig, TrainingConfig, AgentTrainingConfig, NoPonziConfig,
               Curriculum, AgentCurriculum, MaskSchedule, PopulationConfig, SearchParam, BestResponseConfig,
               AnalysisConfig)
    missing = [f"{c.__name__}.{f.name}" for c in classes for f in dataclasses.fields(c) if f"`{f.name}`" not in text]
    assert not missing, missing


def test_every_table_column_is_documented():
    text = (ROOT / "docs" / "outputs.md").read_text()
    documented = set(re.findall(r"`([a-z_<>0-9]+)`", text))
    for row_type in (MetricsRow, LineageRow, BestResponseRow, EquilibriumRow):
        for f in dataclasses.fields(row_type):
            generic = re.sub(r"_(consumer|firm|government)$", "_<type>", f.name)
            assert f.name in documented or generic in documented or f.name in text, f"{row_type.__name__}.{f.name}"


def test_readme_test_command_is_what_ci_runs():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    command = re.search(r"(python -m pytest[^`\n]*)", readme).group(1).strip()
    assert command in ci


def test_importing_the_packages_starts_neither_ray_nor_cuda():
    import subprocess
    import sys

    code = ("import sys, pbt_econ.economy, pbt_econ.trainer, pbt_econ.search, analysis.report, populations.pbt; "
            "import torch; print('ray' in sys.modules, torch.cuda.is_initialized(), 'matplotlib.pyplot' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.split() == ["False", "False", "False"]
