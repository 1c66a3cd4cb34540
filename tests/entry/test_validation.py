"""The pre-flight check: every group's keys, the prior choice and the data's presence are checked
before a run folder, a logger or a model exists (issue 15). In-process cases run the CLI's own
pre-flight (:func:`genexp.cli.precompose`); a few cases go through the real command line."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from genexp.callbacks.guards import FiniteLossGuard
from genexp.cli import precompose
from genexp.config import CONFIG_DIR, register_resolvers
from genexp.errors import ConfigError, DataError, GenexpError, TrainingError
from genexp.losses.gaussian import diag_gaussian_log_prob, kl_diag_to_standard_normal
from genexp.priors import NormalPrior

register_resolvers()

# (group, overrides, start of the one-line message): a wrong type and an impossible value per group
GROUP_CASES = [
    ("model", ["model.latent_dim=true"], "model.latent_dim=True is invalid: it must be an integer > 0"),
    ("model", ["model.beta=-1"], "model.beta=-1 is invalid: it must be a number >= 0"),
    ("model", ["model=gan", "model.loss=wgan"], "model.loss='wgan' is invalid: it must be one of"),
    ("nets", ["model.encoder.hidden=wide"], "model.encoder.hidden='wide' is invalid: it must be a list"),
    ("nets", ["model.encoder.hidden=[64,0]"], "model.encoder.hidden=[64, 0] is invalid"),
    ("nets", ["model.decoder.arch=cnn"], "model.decoder.arch='cnn' is invalid: it must be one of 'auto'"),
    ("nets", ["+model.encoder.hiden=[8]"], "model.encoder.hiden is not a parameter of genexp.nets.factory"),
    ("prior", ["prior=gmm", "prior.num_components=two"], "prior.num_components='two' is invalid"),
    ("prior", ["prior=gmm", "prior.num_components=0"], "prior.num_components=0 is invalid"),
    ("optimizer", ["model.optimizer.lr=fast"], "model.optimizer.lr='fast' is invalid: it must be a number"),
    (
        "optimizer",
        ["model.optimizer.lr=-1"],
        "model.optimizer.lr=-1 is invalid: torch.optim.adam.Adam refuses",
    ),
    ("optimizer", ["+model.optimizer.betas=[1.5,0.9]"], "model.optimizer.betas=[1.5, 0.9] is invalid"),
    ("dataset", ["dataset.batch_size=1.5"], "dataset.batch_size=1.5 is invalid: it must be an integer > 0"),
    ("dataset", ["dataset.batch_size=0"], "dataset.batch_size=0 is invalid"),
    (
        "dataset",
        ["dataset=grid25", "dataset.distribution=grid99"],
        "dataset.distribution='grid99' is invalid",
    ),
    ("dataset", ["+dataset.foo=1"], "dataset.foo is not a parameter of genexp.data.digits.DigitsDataModule"),
    ("trainer", ["trainer.max_epochs=ten"], "trainer.max_epochs='ten' is invalid"),
    ("trainer", ["trainer.precision=17"], "trainer.precision=17 is invalid: it must be one of 64, 32, 16"),
    ("trainer", ["trainer.devices=-2"], "trainer.devices=-2 is invalid"),
    ("trainer", ["trainer.strategy=ddpx"], "trainer.strategy='ddpx' is invalid: it must be one of 'auto'"),
    ("trainer", ["trainer.max_steps=-5"], "trainer.max_steps=-5 is invalid: it must be an integer >= -1"),
    ("trainer", ["trainer=ddp", "trainer.strategy.start_method=thread"], "trainer.strategy.start_method="),
    ("metric", ["metric.default.inception=maybe"], "metric.default.inception='maybe' is invalid"),
    ("metric", ["metric=fid", "metric.fid.n_samples=0"], "metric.fid.n_samples=0 is invalid"),
    ("metric", ["metric.default.seed=abc"], "metric.default.seed='abc' is invalid: it must be an integer"),
    ("logger", ["logger.wandb.project=5"], "logger.wandb.project=5 is invalid: it must be a string or null"),
    ("logger", ["logger.wandb.log_model=sometimes"], "logger.wandb.log_model='sometimes' is invalid"),
    ("logger", ["logger=csv", "+logger.csv.flush_logs_every_n_steps=often"], "logger.csv.flush_logs_every_n"),
    (
        "callbacks",
        ["callbacks.sample_figures.n_images=x"],
        "callbacks.sample_figures.n_images='x' is invalid",
    ),
    ("callbacks", ["callbacks.last_checkpoint.every_n_train_steps=-1"], "callbacks.last_checkpoint.every_n"),
    ("root", ["seed=-1"], "seed=-1 is invalid: it must be an integer >= 0"),
    ("root", ["num_threads=many"], "num_threads='many' is invalid: it must be 'auto' or an integer >= 0"),
]


def _on_digits(overrides: list[str]) -> list[str]:
    """``overrides`` on the digits dataset (no files needed) unless they choose a dataset."""
    return overrides if any(o.startswith("dataset=") for o in overrides) else ["dataset=digits", *overrides]


@pytest.mark.parametrize("group,overrides,message", GROUP_CASES, ids=[" ".join(c[1]) for c in GROUP_CASES])
def test_every_group_rejects_wrong_types_and_impossible_values(group: str, overrides, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        precompose(_on_digits(overrides))
    text = str(err.value)
    assert text.startswith(message), text
    assert "\n" not in text


@pytest.mark.parametrize(
    "overrides",
    [
        ["model=vae", "prior=gmm"],
        ["model=lc_vae_baseline", "dataset=lightcurves_synthetic", "prior=gmm"],
        ["model=gan", "prior=normal"],
        ["trainer.precision=bf16-mixed", "trainer.devices='0,1'"],
        ["trainer=ddp_cpu", "logger=tensorboard", "metric=[fid,clustering]"],
    ],
    ids=lambda o: " ".join(o),
)
def test_good_configs_pass(overrides: list[str]) -> None:
    precompose(_on_digits(overrides))


PRIOR_CASES = [
    (["model=mpcc"], "model mpcc owns its prior (FlooredGMMPrior); set model.prior.* instead of prior="),
    (["model=vade"], "model vade owns its prior (GMMPrior); set model.prior.* instead"),
    (["model=lc_vade", "dataset=lightcurves_synthetic"], "model lc_vade owns its prior (GMMPrior)"),
    (["model=lc_energy_gmm", "dataset=lightcurves_synthetic"], "model lc_energy_gmm uses no prior"),
    (["model=aim_mpcc"], "model aim_mpcc uses no prior from the prior group; drop prior="),
    (["model=scgan", "dataset=ring8"], "model scgan uses no prior"),
]


@pytest.mark.parametrize("overrides,message", PRIOR_CASES, ids=[c[0][0] for c in PRIOR_CASES])
def test_a_model_that_owns_its_prior_refuses_the_prior_group(overrides: list[str], message: str) -> None:
    with pytest.raises(ConfigError) as err:
        precompose(_on_digits([*overrides, "prior=normal"]))
    assert str(err.value).startswith(message), str(err.value)
    precompose(_on_digits(overrides))  # without a prior choice the model's own prior is fine


def test_lc_vae_baseline_uses_the_chosen_prior() -> None:
    """It takes the ``prior`` group; with ``prior=normal`` (its default) the terms are the
    closed forms it hard-coded before."""
    assert (
        OmegaConf.load(CONFIG_DIR / "model" / "lc_vae_baseline.yaml")._get_node("prior")._value()
        == "${prior}"
    )
    normal = NormalPrior(4)
    mu, logvar = torch.randn(5, 4), torch.randn(5, 4)
    assert torch.allclose(normal.kl_from(mu, logvar, mu), kl_diag_to_standard_normal(mu, logvar))
    assert torch.allclose(normal.log_prob(mu), diag_gaussian_log_prob(mu, torch.zeros(4), torch.zeros(4)))


@pytest.mark.parametrize(
    "dataset,message",
    [
        ("cifar10", "CIFAR-10 not found: missing {root}/cifar-10-batches-py/"),
        ("cifar20", "CIFAR-100 (CIFAR-20) not found: missing {root}/cifar-100-python/"),
        ("fashion_mnist", "Fashion-MNIST not found: missing {root}/FashionMNIST/raw/"),
        ("mnist", "MNIST not found: missing {root}/MNIST/raw/"),
        ("stl10", "STL-10 not found: missing {root}/stl10_binary/"),
        ("celeba", "CelebA not found: missing {root}/celeba/"),
        ("stacked_mnist", "MNIST not found: missing {root}/MNIST/raw/"),
        ("lightcurves_files", "light-curve file {root}/catalogue.csv not found"),
    ],
)
def test_missing_data_fails_in_the_pre_flight(tmp_path: Path, dataset: str, message: str) -> None:
    with pytest.raises(DataError) as err:
        precompose([f"dataset={dataset}", f"dataset.root={tmp_path}"])
    assert str(err.value).startswith(message.format(root=tmp_path)), str(err.value)


def test_data_that_needs_no_files_passes(tmp_path: Path) -> None:
    precompose(["dataset=digits", f"paths.data_dir={tmp_path}"])
    precompose(["dataset=cifar10", f"dataset.root={tmp_path}", "dataset.download=true"])


class _Trainer:
    """What the guard reads of a trainer (its run record falls back to ``default_root_dir``)."""

    global_step, current_epoch, callbacks = 2, 0, []

    def __init__(self, folder: Path) -> None:
        self.default_root_dir = str(folder)


def test_nan_guard_says_no_checkpoint_was_written_yet(tmp_path: Path) -> None:
    guard, trainer = FiniteLossGuard(), _Trainer(tmp_path)
    guard.on_train_batch_end(trainer, None, {"loss": torch.tensor(1.0)}, None, 0)
    with pytest.raises(TrainingError) as err:
        guard.on_train_batch_end(trainer, None, {"loss": torch.tensor(float("nan"))}, None, 0)
    assert str(err.value).startswith("loss became nan at step 2 (epoch 0)")
    assert "no checkpoint was written yet" in str(err.value) and "last.ckpt" not in str(err.value)


def test_nan_guard_names_the_checkpoint_it_kept(tmp_path: Path) -> None:
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "step0000010.ckpt").write_bytes(b"")
    with pytest.raises(TrainingError, match="kept in .*step0000010.ckpt"):
        FiniteLossGuard().on_train_batch_end(_Trainer(tmp_path), None, torch.tensor(float("inf")), None, 0)
    last = tmp_path / "checkpoints" / "last.ckpt"
    last.write_bytes(b"")
    with pytest.raises(TrainingError) as err:
        FiniteLossGuard().on_train_batch_end(_Trainer(tmp_path), None, torch.tensor(float("inf")), None, 0)
    assert f"the last good checkpoint is kept in {last}: resume={last}" in str(err.value)


def test_provenance_records_code_libraries_machine_command_and_times(tmp_path: Path) -> None:
    from genexp.provenance import device_info, git_state, provenance

    prov = provenance()
    assert prov["genexp_version"] and prov["host"] and prov["start_time"] and "python" in prov["command"]
    assert set(prov["versions"]) == {"torch", "lightning", "hydra-core", "torch-fidelity"}
    assert all(prov["versions"].values()), prov["versions"]
    assert set(prov["git"]) == {"commit", "dirty"}
    assert git_state(tmp_path) == {"commit": None, "dirty": None}  # not a checkout: no error
    info = device_info(None)
    assert info["device"] == "cpu" and info["device_name"] and info["world_size"] == 1


# -- through the command line: one line on stderr, exit 2, nothing left behind --------------------
CLI_CASES = [
    (["model.optimizer.lr=fast"], "model.optimizer.lr='fast' is invalid"),
    (["trainer.precision=17"], "trainer.precision=17 is invalid"),
    (["model=mpcc", "prior=normal"], "model mpcc owns its prior (FlooredGMMPrior); set model.prior.*"),
    (["model.encoder.hidden=[0]"], "model.encoder.hidden=[0] is invalid"),
    (["prior=gmm", "prior.num_components=two"], "prior.num_components='two' is invalid"),
    (["dataset.batch_size=0"], "dataset.batch_size=0 is invalid"),
    (["metric.default.n_samples=-3"], "metric.default.n_samples=-3 is invalid"),
    (["logger.wandb.project=5"], "logger.wandb.project=5 is invalid"),
    (["callbacks.finite_loss_guard.check_every_n_steps=0"], "callbacks.finite_loss_guard.check_every_n"),
    (["dataset=cifar10", "dataset.root={tmp}/empty"], "CIFAR-10 not found: missing {tmp}/empty/cifar-10"),
]


@pytest.mark.parametrize("args,message", CLI_CASES, ids=[" ".join(a) for a, _ in CLI_CASES])
def test_bad_input_stops_before_any_run_folder_or_logger(genexp_cli, tmp_path: Path, args, message) -> None:
    run = genexp_cli(*_on_digits([a.format(tmp=tmp_path) for a in args]))
    assert run.returncode == 2, run.stderr[-2000:]
    lines = [ln for ln in run.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, run.stderr[-2000:]
    assert lines[0].startswith(f"genexp: error: {message.format(tmp=tmp_path)}"), lines[0]
    assert not run.run_dir.exists()
    assert not list(tmp_path.rglob("wandb")) and not list(tmp_path.rglob("*.ckpt"))


def test_nan_without_a_checkpoint_says_so(genexp_cli) -> None:
    run = genexp_cli(
        "model=vae", "dataset=grid25", "dataset.n_train=512", "logger=none", "metric=none",
        "trainer.max_epochs=1", "+dataset.params.sigma=nan",
    )  # fmt: skip
    assert run.returncode == 2, run.stderr[-2000:]
    last = run.stderr.strip().splitlines()[-1]
    assert (
        last.startswith("genexp: error: loss became nan at step") and "no checkpoint was written yet" in last
    )
    assert "Traceback" not in run.stderr and not (run.run_dir / "checkpoints").exists()


def test_a_net_that_cannot_take_the_data_is_a_config_error(genexp_cli) -> None:
    run = genexp_cli("model=pgmgan_image", "dataset=digits", "trainer=debug", "logger=none", "metric=none")
    assert run.returncode == 2, run.stderr[-2000:]
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith("genexp: error:") and "cannot squeeze a 1-px map" in last
    assert "Traceback" not in run.stderr


def test_resume_is_checked_against_the_saved_config(tmp_path: Path) -> None:
    """Pre-flight of ``resume=<run>`` checks the run's own config (its dataset's files), not the
    defaults composed fresh: a run on digits resumes without MNIST files."""
    run = tmp_path / "run"
    (run / ".hydra").mkdir(parents=True)
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose(config_name="train", overrides=["dataset=digits", "model.beta=2"])
    OmegaConf.save(cfg, run / ".hydra" / "config.yaml")
    precompose([f"resume={run}", f"paths.data_dir={tmp_path}/none"])
    with pytest.raises(GenexpError, match=r"^model\.beta=-1 is invalid"):
        precompose([f"resume={run}", "model.beta=-1"])
