"""YAML configs: the shipped files load; bad input fails early, naming file and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from pbt_econ.config.load import CONFIG_DIR, RunConfig, config_from_dict, config_to_dict, load_config, load_curriculum
from pbt_econ.core.errors import ConfigError


def write(tmp_path: Path, text: str, name: str = "run.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_shipped_configs_load():
    default = load_config()
    assert default.economy.num_consumers == 10 and default.curriculum.name == "paper"
    assert default.curriculum.time_scale == pytest.approx(0.005)
    assert {c.niche for c in default.member_curricula} == {"paper", "none"}
    open_ = load_config(CONFIG_DIR / "paper-open.yaml")
    closed = load_config(CONFIG_DIR / "paper-closed.yaml")
    assert (open_.economy.num_consumers, open_.economy.num_firms, open_.training.batch_size) == (100, 10, 128)
    assert open_.economy.open_economy and not closed.economy.open_economy
    assert closed.economy.num_consumers == 100 and closed.population.gpus_per_member == 1


def test_resolved_config_round_trips():
    cfg = load_config()
    assert config_from_dict(config_to_dict(cfg)) == cfg


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("economy: {num_consumer: 5}", "economy.num_consumer: unknown field (did you mean 'num_consumers'?)"),
        ("economy: {num_consumers: ten}", "economy.num_consumers = 'ten': must be an integer"),
        ("economy: {crra_eta: 1}", "economy.crra_eta = 1"),
        ("economy: {importer_price: -5}", "economy.importer_price = -5.0: must be in [0, inf]"),
        ("training: {consumer: {lr: -0.1}}", "training.consumer.lr = -0.1: must be in (0, 1]"),
        ("spaces: {tax: [0.0, 0.5, 1.5]}", "spaces.tax[2] = 1.5: must be in [0, 1]"),
        ("spaces: {price: [0, 500, 500]}", "spaces.price = [0.0, 500.0, 500.0]: values must be strictly increasing"),
        ("curriculum: nonsense", "curriculum = 'nonsense': unknown curriculum"),
        ("curriculum: {base: paper, firm: {learn_frm: 3}}", "curriculum.firm.learn_frm: unknown field"),
        ("search_space: {economy.num_firms: {low: 1, high: 3}}", "only training.* and curriculum.*"),
        ("search_space: {training.consumer.lrr: {low: 0.1, high: 0.3}}", "no such config field"),
        ("unknown_section: 3", "unknown_section: unknown field"),
        ("- a list", "must hold a mapping"),
        ("economy: {num_firms: 2", "not valid YAML"),
    ],
)
def test_bad_yaml_names_file_and_field(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(path) in str(err.value)
    assert message in str(err.value)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "nope.yaml")


def test_overrides_and_base(tmp_path):
    base = write(tmp_path, "economy: {num_consumers: 7, num_firms: 3}\nseed: 4\n", "base.yaml")
    child = write(tmp_path, f"base: {base.name}\neconomy: {{num_firms: 5}}\n")
    cfg = load_config(child, ["training.batch_size=8", "curriculum=none", "economy.open_economy=false"])
    assert (cfg.economy.num_consumers, cfg.economy.num_firms, cfg.seed) == (7, 5, 4)
    assert cfg.training.batch_size == 8 and cfg.curriculum.name == "none" and not cfg.economy.open_economy
    with pytest.raises(ConfigError, match="must look like"):
        load_config(child, ["training.batch_size"])


def test_user_curriculum_file(tmp_path):
    path = write(tmp_path, "name: mine\nfirm: {learn_from: 5}\n", "mine.yaml")
    cur = load_curriculum(str(path))
    assert cur.name == "mine" and cur.firm.learn_from == 5 and cur.agent("consumer").learn_from == 0


def test_defaults_build_without_yaml():
    assert RunConfig().economy.num_consumers == 100
