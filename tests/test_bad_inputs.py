"""A table of bad inputs across the four CLIs: each exits 2 with no traceback and a message that
names the field, flag or file at fault, and nothing is written to --out."""

from __future__ import annotations

import contextlib
import io

import pytest

from analysis.__main__ import main as analysis_main
from pbt_econ.best_response.__main__ import main as br_main
from pbt_econ.search import main as search_main
from pbt_econ.train import main as train_main

CLIS = {"train": train_main, "search": search_main, "analysis": analysis_main, "best_response": br_main}

# (field=value, what the message must name)
CONFIG_CASES = [
    ("economy.num_consumers=0", "num_consumers"), ("economy.num_consumers=2.5", "num_consumers"),
    ("economy.num_consumers=many", "num_consumers"), ("economy.num_firms=0", "num_firms"),
    ("economy.episode_length=0", "episode_length"), ("economy.open_economy=maybe", "open_economy"),
    ("economy.importer_price=-1", "importer_price"), ("economy.importer_quantity=-1", "importer_quantity"),
    ("economy.interest_rate=2", "interest_rate"), ("economy.crra_eta=1", "crra_eta"),
    ("economy.crra_eta=-0.5", "crra_eta"), ("economy.technology=-1", "technology"),
    ("economy.labor_floor=-1", "labor_floor"), ("economy.theta_base=-1", "theta_base"),
    ("economy.theta_pareto_shape=0", "theta_pareto_shape"), ("economy.initial_price=-1", "initial_price"),
    ("economy.initial_wage=-1", "initial_wage"), ("economy.initial_consumer_budget=-5", "initial_consumer_budget"),
    ("economy.initial_firm_budget=-5", "initial_firm_budget"), ("economy.production_alpha=[1.5]", "production_alpha"),
    ("economy.num_consumer=3", "num_consumer"), ("economy.crra_eta=.nan", "crra_eta"),
    ("economy.importer_price=.inf", "importer_price"), ("economy.num_consumers.x=1", "economy.num_consumers"),
    ("spaces.tax=[0, 1.5]", "tax"), ("spaces.hours=[]", "hours"), ("spaces.price=[-5, 10]", "price"),
    ("training.batch_size=0", "batch_size"), ("training.algorithm=sac", "algorithm"),
    ("training.update_epochs=0", "update_epochs"), ("training.minibatches=0", "minibatches"),
    ("training.ppo_clip=0", "ppo_clip"), ("training.gae_lambda=2", "gae_lambda"),
    ("training.value_coef=-1", "value_coef"), ("training.max_grad_norm=0", "max_grad_norm"),
    ("training.hidden_size=0", "hidden_size"), ("training.log_every=0", "log_every"),
    ("training.checkpoint_every=0", "checkpoint_every"), ("training.consumer.lr=-0.1", "lr"),
    ("training.consumer.lr=5", "lr"), ("training.firm.gamma=1.5", "gamma"),
    ("training.government.reward_scale=0", "reward_scale"), ("training.consumer.entropy_coef=-1", "entropy_coef"),
    ("training.no_ponzi.multiplier_lr=-1", "multiplier_lr"), ("training.no_ponzi.consumer_budget_scale=0",
                                                              "consumer_budget_scale"),
    ("training.normalize_returns=sometimes", "normalize_returns"), ("training.episodes=-3", "episodes"),
    ("training.bogus=1", "bogus"),
    ("curriculum=nonexistent", "nonexistent"), ("curriculum.time_scale=0", "time_scale"),
    ("curriculum.theta_anneal=-1", "theta_anneal"), ("curriculum.consumer.learn_from=-5", "learn_from"),
    ("curriculum.firm.entropy_floor=2", "entropy_floor"), ("curriculum.firm.entropy_decay=-1", "entropy_decay"),
    ("curriculum={base: paper, firm: {mask: {start: {prize: 3}}}}", "prize"),
    ("curriculum={base: paper, consumer: {mask: {over_episodes: 3}}}", "consumer.mask"),
    ("curriculum={base: paper, firm: {mask: {over_episodes: -3}}}", "over_episodes"),
    ("population.size=0", "size"), ("population.quantile=0.9", "quantile"),
    ("population.episodes=-1", "episodes"), ("population.ready_interval=0", "ready_interval"),
    ("population.explore=random", "explore"), ("population.fitness_rows=0", "fitness_rows"),
    ("population.objectives=[]", "objectives"), ("population.cpus_per_member=-1", "cpus_per_member"),
    ("population.max_actor_restarts=-1", "max_actor_restarts"),
    ("population.archive.x=happiness", "archive.x"), ("population.archive.y=export_share", "archive.y"),
    ("population.archive.x_range=[1, 0]", "archive.x_range"), ("population.archive.y_range=[0]", "archive.y_range"),
    ("population.archive.bins=0", "archive.bins"), ("population.archive.probe_episodes=-1", "probe_episodes"),
    ("population.archive.probe_seeds=0", "probe_seeds"), ("population.archive.min_improvement=-0.1", "min_improvement"),
    ("population.archive.enabled=maybe", "archive.enabled"),
    ("best_response.episodes=0", "episodes"), ("best_response.eval_episodes=0", "eval_episodes"),
    ("best_response.types=[banker]", "banker"), ("best_response.tolerance={bank: 0.1}", "bank"),
    ("best_response.tolerance={firm: -0.1}", "tolerance.firm"), ("best_response.eval_seed=-1", "eval_seed"),
    ("analysis.method=kmeans", "method"), ("analysis.distance_threshold=-1", "distance_threshold"),
    ("analysis.min_cluster_size=1", "min_cluster_size"),
    ("search_space.economy.num_firms={low: 1, high: 3}", "search_space.economy.num_firms"),
    ("search_space.training.nonexistent={low: 1, high: 3}", "search_space.training.nonexistent"),
    ("search_space.training.consumer.lr={low: 0.1, high: 0.01}", "high"),
    ("search_space.training.consumer.lr={low: 0, high: 0.01, log: true}", "low"),
    ("seed=-1", "seed"), ("seed=1e20", "seed"), ("seed=100000000000000000000", "seed"),
    ("device=tpu", "device"), ("device=cuda:abc", "device"), ("dtype=float16", "dtype"),
    ("threads=-1", "threads"), ("name=..", "name"), ("name=a/b", "name"), ("name=.hidden", "name"),
    ("economy={num_consumers: 3, num_consumers: 4}", "duplicate key"),
]

SEARCH_CASES = [
    (["--set", "population.fitness=bogus"], "population.fitness"),
    (["--set", "population.objectives=[{metric: bogus}]"], "objectives[0].metric"),
    (["--set", "population.storage=bogus://x"], "population.storage"),
    (["--set", "population.storage=journal:"], "population.storage"),
    (["--set", "search_space.training.consumer.lr={low: 0.5, high: 5}"], "search_space.training.consumer.lr"),
    (["--set", "search_space.training.batch_size={low: 0, high: 5, integer: true}"], "search_space.training.batch_size"),
    (["--set", "search_space.training.batch_size={low: 2, high: 5}"], "integer"),
    (["--set", "search_space.training.consumer.lr.low=0.5"], "search_space.training.consumer.lr"),
    (["--address", "127.0.0.1:1"], "--address"),
    (["--address", "nonsense"], "--address"),
    (["--set", "device=cuda"], "device"),
    (["--resume", "{tmp}/nothing"], "nothing"),
    (["--resume", "{tmp}", "--set", "seed=3"], "--resume"),
]


def run(cli: str, args: list[str]) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = CLIS[cli](args)
    return code, err.getvalue()


def check(code: int, err: str, expected: str) -> None:
    assert code == 2, err
    assert "Traceback" not in err
    assert expected in err, err


@pytest.mark.parametrize(("override", "expected"), CONFIG_CASES, ids=[c[0][:60] for c in CONFIG_CASES])
def test_bad_config_values_in_train(override, expected, tmp_path):
    out = tmp_path / "out"
    code, err = run("train", ["--set", override, "--episodes", "1", "--out", str(out), "--no-progress"])
    check(code, err, expected)
    assert not out.exists()  # nothing written before validation passed


@pytest.mark.parametrize(("args", "expected"), SEARCH_CASES, ids=[" ".join(c[0])[:60] for c in SEARCH_CASES])
def test_bad_search_inputs(args, expected, tmp_path):
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    out = tmp_path / "run"
    extra = [] if "--resume" in args else ["--out", str(out)]
    code, err = run("search", args + extra + ["--no-progress"])
    check(code, err, expected)
    assert not out.exists()


def test_bad_paths_for_every_cli(tmp_path):
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    cases = [
        ("train", ["--out", str(a_file), "--episodes", "1", "--no-progress"], "exists and is not a directory"),
        ("train", ["--out", str(a_file / "sub"), "--episodes", "1", "--no-progress"], "is a file"),
        ("train", ["--config", str(tmp_path / "missing.yaml"), "--no-progress"], "missing.yaml"),
        ("train", ["--config", str(a_file), "--no-progress"], "file.txt"),
        ("train", ["--out", str(tmp_path / "r"), "--resume", "--no-progress"], "no checkpoint to resume"),
        ("train", ["--episodes", "-1", "--out", str(tmp_path / "r2")], "--episodes"),
        ("train", ["--set", "novalue", "--out", str(tmp_path / "r3")], "novalue"),
        ("train", ["--set", "economy.crra_eta=[unclosed", "--out", str(tmp_path / "r4")], "not valid YAML"),
        ("search", ["--out", str(a_file), "--no-progress"], "exists and is not a directory"),
        ("search", ["--resume", str(a_file), "--no-progress"], "config.yaml"),
        ("search", ["--resume", str(tmp_path), "--config", str(a_file)], "--resume"),
        ("analysis", [str(tmp_path / "nowhere")], "not a directory"),
        ("analysis", [str(a_file)], "not a directory"),
        ("analysis", [str(tmp_path)], "outcomes.parquet"),
        ("best_response", [str(tmp_path / "nothing.pt"), "--no-progress"], "no such checkpoint"),
        ("best_response", [str(a_file), "--no-progress"], "not a readable pbt-econ checkpoint"),
        ("best_response", [str(tmp_path), "--no-progress"], "holds no checkpoint.pt"),
        ("best_response", [str(a_file), "--episodes", "0", "--no-progress"], "--episodes"),
    ]
    for cli, args, expected in cases:
        code, err = run(cli, args)
        assert code == 2 and "Traceback" not in err and expected in err, (cli, args, err)
    # analysis of a run whose config.yaml is corrupt: an error naming it, not a fall-back to defaults
    run_dir = tmp_path / "corrupt"
    run_dir.mkdir()
    (run_dir / "config.yaml").write_text("economy: {num_consumers: -4}\n")
    code, err = run("analysis", [str(run_dir)])
    assert code == 2 and "config.yaml" in err and "num_consumers" in err, err
    assert not (run_dir / "report.md").exists()


def test_bad_checkpoints_for_best_response_and_resume(tmp_path):
    """A truncated checkpoint and one from another economy size are clear errors for train --resume and
    best_response, with nothing computed first."""
    from pbt_econ.config.load import load_config
    from pbt_econ.learning.member import Member

    out = tmp_path / "run"
    assert run("train", ["--set", "economy.num_consumers=3", "--set", "training.batch_size=2", "--episodes", "1",
                         "--out", str(out), "--no-progress"])[0] == 0
    data = (out / "checkpoint.pt").read_bytes()
    (out / "checkpoint.pt").write_bytes(data[: len(data) // 2])
    for cli, args in (("train", ["--set", "economy.num_consumers=3", "--set", "training.batch_size=2",
                                 "--episodes", "2", "--out", str(out), "--resume", "--no-progress"]),
                      ("best_response", [str(out), "--no-progress"])):
        code, err = run(cli, args)
        check(code, err, "checkpoint.pt")
    other = Member(load_config(overrides=["economy.num_consumers=5", "training.batch_size=2"]))
    other.save(out / "checkpoint.pt")
    code, err = run("train", ["--set", "economy.num_consumers=3", "--set", "training.batch_size=2", "--episodes", "2",
                              "--out", str(out), "--resume", "--no-progress"])
    check(code, err, "economy.num_consumers = 5 in the checkpoint, 3 in the config")
    code, err = run("best_response", [str(out / "checkpoint.pt"), "--out", str(tmp_path), "--no-progress"])
    check(code, err, "is a directory")


def test_an_internal_error_shows_its_traceback_and_says_it_is_a_bug(capsys):
    from pbt_econ.core.cli import BUG_LINE, run

    def broken_main() -> int:
        raise AttributeError("'NoneType' object has no attribute 'price'")

    with pytest.raises(SystemExit) as exit_info:
        run(broken_main)
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "AttributeError" in err and err.strip().endswith(BUG_LINE)
    with pytest.raises(SystemExit) as exit_info:
        run(lambda: 2)
    assert exit_info.value.code == 2


def test_unknown_best_response_type_is_named(tmp_path):
    """``--types`` is checked against the checkpoint's economy (its agent types are data)."""
    out = tmp_path / "run"
    assert run("train", ["--set", "economy.num_consumers=3", "--set", "training.batch_size=2", "--episodes", "1",
                         "--out", str(out), "--no-progress"])[0] == 0
    code, err = run("best_response", [str(out), "--types", "banker", "--no-progress"])
    check(code, err, "banker")
    assert "consumer, firm, government" in err


def test_checkpoint_whose_config_disagrees_with_its_weights(tmp_path):
    import torch

    from pbt_econ.core.checkpoints import CheckpointError
    from pbt_econ.learning.member import load_member

    out = tmp_path / "run"
    assert run("train", ["--set", "economy.num_consumers=3", "--set", "training.batch_size=2", "--episodes", "1",
                         "--out", str(out), "--no-progress"])[0] == 0
    payload = torch.load(out / "checkpoint.pt", weights_only=True)
    payload["config"]["training"]["hidden_size"] = 64  # the weights are 128 wide
    torch.save(payload, out / "checkpoint.pt")
    with pytest.raises(CheckpointError, match="does not fit"):
        load_member(out / "checkpoint.pt")
    code, err = run("best_response", [str(out), "--no-progress"])
    check(code, err, "does not fit")


@pytest.mark.parametrize(("override", "says"), [("population.size=1", "PBT is off"),
                                                ("population.quantile=0", "PBT is off"),
                                                ("population.size=3", "niche")])
def test_settings_that_turn_pbt_off_are_announced(override, says):
    from pbt_econ.config.load import load_config
    from pbt_econ.learning.preflight import pbt_notice

    assert says in pbt_notice(load_config(overrides=[override]))
    assert pbt_notice(load_config()) is None
