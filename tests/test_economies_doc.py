"""The worked example of docs/economies.md runs as written: a user economy by dotted path, end to end."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml

from pbt_econ.config.load import config_from_dict
from pbt_econ.equilibrium.best_response import assess_outcome
from pbt_econ.learning.member import Member

DOC = Path(__file__).resolve().parents[1] / "docs" / "economies.md"


def test_worked_example_trains_and_is_checked(tmp_path, monkeypatch):
    text = DOC.read_text()
    code = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    config = yaml.safe_load(re.search(r"```yaml\n(.*?)```", text, re.S).group(1))
    package = tmp_path / "mymodels"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "entry.py").write_text(code)
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("mymodels", None)
    sys.modules.pop("mymodels.entry", None)
    config["training"]["episodes"] = 60
    run = config_from_dict(config)
    assert run.agent_types == ("entrant",)
    member = Member(run, seed=0)
    member.train(60)
    descriptors, _, rows = assess_outcome(member, run.best_response, 2)
    assert set(descriptors) == {"entry", "welfare", "reward_entrant"}
    # with value 3, cost 1 and 4 entrants, entry pays for up to 2 entrants: some enter, not all
    assert 0.0 < descriptors["entry"] < 1.0
    assert {r.start for r in rows} == {"learned", "constant"}
