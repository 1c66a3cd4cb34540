"""Bad input fails early with one line, exit code 2, and no traceback."""

from __future__ import annotations

import pytest

from genexp.callbacks.guards import FiniteLossGuard
from genexp.errors import TrainingError

BAD = [
    (["model=foo"], "unknown model 'foo'; choose one of:"),
    (["dataset=nope"], "unknown dataset 'nope'"),
    (["model.nonexistent_key=3"], "model.nonexistent_key"),
    (["model.beta=-1"], "model.beta=-1 is invalid"),
    (["model.beta=abc"], "model.beta='abc' is invalid"),
    (["prior=gmm", "prior.num_components=0"], "prior.num_components=0 is invalid"),
    (["dataset.batch_size=0"], "dataset.batch_size=0 is invalid"),
    (["trainer.max_epochs=ten"], "trainer.max_epochs='ten' is invalid"),
    (["resume=/no/such/file.ckpt"], "no checkpoint at"),
    (["model=vae", "model.likelihood=poisson"], "model.likelihood='poisson' is invalid: it must be one of"),
    (["model=gan", "model.loss=wgan"], "model.loss='wgan' is invalid: it must be one of 'non_saturating'"),
]


@pytest.mark.parametrize("args,message", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_input_is_one_line_exit_2(genexp_cli, args: list[str], message: str) -> None:
    run = genexp_cli("dataset=grid25", "trainer=debug", "logger=none", "metric=none", *args)
    assert run.returncode == 2, run.stderr[-2000:]
    lines = [ln for ln in run.stderr.strip().splitlines() if ln.strip()]
    assert lines[-1].startswith("genexp: error:") and message in lines[-1], run.stderr[-2000:]
    assert "Traceback" not in run.stderr


def test_missing_data_names_files_and_fix(genexp_cli, tmp_path) -> None:
    run = genexp_cli(
        "dataset=cifar10", f"dataset.root={tmp_path}/empty", "trainer=debug", "logger=none", "metric=none"
    )
    assert run.returncode == 2
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith("genexp: error:") and "cifar" in last.lower()
    assert "Traceback" not in run.stderr


def test_corrupt_checkpoint_is_refused(genexp_cli, tmp_path) -> None:
    bad = tmp_path / "broken" / "checkpoints" / "last.ckpt"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"not a checkpoint")
    run = genexp_cli("dataset=grid25", "trainer=debug", "logger=none", "metric=none", f"resume={bad}")
    assert run.returncode == 2
    assert "corrupt" in run.stderr.strip().splitlines()[-1]
    assert bad.read_bytes() == b"not a checkpoint"  # nothing overwritten


def test_full_error_env_shows_traceback(genexp_cli, monkeypatch) -> None:
    monkeypatch.setenv("HYDRA_FULL_ERROR", "1")
    run = genexp_cli("dataset=grid25", "trainer=debug", "logger=none", "model.beta=-1")
    assert run.returncode != 0 and "Traceback" in run.stderr


def test_finite_loss_guard_raises_on_nan(tmp_path) -> None:
    class _T:
        global_step, current_epoch, callbacks, default_root_dir = 12, 0, [], str(tmp_path)

    guard = FiniteLossGuard()
    guard.on_train_batch_end(_T(), None, {"loss": __import__("torch").tensor(1.0)}, None, 0)
    with pytest.raises(TrainingError, match="loss became nan at step 12"):
        guard.on_train_batch_end(_T(), None, {"loss": __import__("torch").tensor(float("nan"))}, None, 0)


def test_nan_loss_stops_run_and_keeps_last_good_checkpoint(genexp_cli, tmp_path) -> None:
    base = [
        "model=vae",
        "dataset=grid25",
        "dataset.n_train=512",
        "logger=none",
        "metric=none",
        "trainer.max_epochs=2",
        "callbacks.sample_figures.n_points=10",
    ]
    first = genexp_cli(*base)
    assert first.returncode == 0, first.stderr[-2000:]
    prov = first.metrics()["provenance"]  # every run records where it came from
    assert prov["command"].endswith(f"hydra.run.dir={first.run_dir}") and prov["device"] == "cpu"
    assert (
        prov["versions"]["lightning"] and prov["start_time"] <= prov["end_time"] and "commit" in prov["git"]
    )
    last = first.run_dir / "checkpoints" / "last.ckpt"
    before = last.read_bytes()
    blown = genexp_cli(*base, "trainer.max_epochs=4", "+dataset.params.sigma=nan", f"resume={last}")
    assert blown.returncode == 2, blown.stderr[-2000:]
    message = blown.stderr.strip().splitlines()[-1]
    assert "loss became nan" in message and f"the last good checkpoint is kept in {last}" in message, message
    assert last.read_bytes() == before
