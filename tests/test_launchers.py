"""Hydra's launchers run the same sweep, and the statistics come at the end under each of them;
threads per job; the Slurm presets compose."""

import importlib.util
import json
import os
import subprocess
import sys

import pandas as pd
import pytest
from omegaconf import OmegaConf

from experiments.threads import threads_per_job

CORES = os.cpu_count() or 1


def _plugin(name):
    return importlib.util.find_spec(f"hydra_plugins.{name}") is not None


def _sweep(sweep_dir, *overrides):
    command = [sys.executable, "-m", "experiments", "-m", "task=dense", "debug=smoke", "seed=0..1",
               f"hydra.sweep.dir={sweep_dir}", *overrides]
    return subprocess.run(command, capture_output=True, text=True, timeout=600)


def _check_sweep(sweep_dir, result, threads):
    assert result.returncode == 0, result.stderr[-3000:]
    summary = pd.read_csv(sweep_dir / "summary.csv")
    assert sorted(summary.seed) == [0, 1] and set(summary.status) == {"completed"}
    assert (sweep_dir / "summary.md").is_file() and (sweep_dir / "summary.png").is_file()
    for seed in (0, 1):
        metrics = json.loads((sweep_dir / "dense" / "block_2d" / f"seed={seed}" / "metrics.json").read_text())
        assert metrics["threads"] == threads


LAUNCHERS = [
    pytest.param(
        ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"], max(1, CORES // 2),
        marks=pytest.mark.skipif(not _plugin("hydra_joblib_launcher"), reason="pip install -e '.[joblib]'"),
        id="joblib",
    ),
    pytest.param(
        ["hydra/launcher=submitit_local", "hydra.launcher.cpus_per_task=1", "hydra.launcher.timeout_min=10"], 1,
        marks=pytest.mark.skipif(not _plugin("hydra_submitit_launcher"), reason="pip install -e '.[submitit]'"),
        id="submitit_local",
    ),
    pytest.param(
        ["hydra/launcher=ray", "+hydra.launcher.ray.init.num_cpus=2", "+hydra.launcher.ray.init.include_dashboard=false",
         "+hydra.launcher.ray.remote.num_cpus=1"], 1,
        marks=pytest.mark.skipif(not _plugin("hydra_ray_launcher"), reason="Ray is not installed: pip install -e '.[ray]'"),
        id="ray",
    ),
]


@pytest.mark.parametrize("overrides, threads", LAUNCHERS)
def test_each_launcher_runs_the_sweep_and_ends_with_its_statistics(overrides, threads, tmp_path):
    _check_sweep(tmp_path, _sweep(tmp_path, *overrides), threads)


def test_the_basic_launcher_leaves_the_threads_alone(tmp_path):
    _check_sweep(tmp_path, _sweep(tmp_path), None)


@pytest.mark.parametrize("preset, gpus", [("slurm_cpu", 0), ("slurm_gpu", 1)])
def test_the_slurm_presets_compose_into_array_jobs(compose_config, preset, gpus):
    if not _plugin("hydra_submitit_launcher"):
        pytest.skip("pip install -e '.[submitit]'")
    from hydra import compose, initialize_config_dir

    from experiments.cli import CONFIG_DIR

    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose(config_name="config", overrides=["task=imdb", f"hydra/launcher={preset}"], return_hydra_config=True)
    launcher = cfg.hydra.launcher
    assert launcher._target_ == "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher"
    assert launcher.gpus_per_node == gpus and launcher.cpus_per_task >= 4 and launcher.mem_gb >= 8
    assert launcher.timeout_min >= 30 and launcher.array_parallelism == 20
    assert threads_per_job("auto", launcher) == launcher.cpus_per_task


@pytest.mark.parametrize(
    "launcher, cores, expected",
    [
        (None, 8, None),  # the basic launcher: one job at a time, every core
        ({"n_jobs": 2}, 8, 4),
        ({"n_jobs": -1}, 8, 1),  # joblib's -1: as many jobs as cores
        ({"n_jobs": -2}, 8, 1),
        ({"n_jobs": 3}, 2, 1),
        ({"cpus_per_task": 6}, 8, 6),
        ({"ray": {"remote": {"num_cpus": 2}}}, 8, 2),
        ({"ray": {"remote": {}}}, 8, None),
    ],
)
def test_auto_threads_split_the_cores_between_parallel_jobs(launcher, cores, expected):
    launcher = None if launcher is None else OmegaConf.create(launcher)
    assert threads_per_job("auto", launcher, cores) == expected
    assert threads_per_job(3, launcher, cores) == 3


@pytest.mark.parametrize("setting", [0, -1, "many", 1.5, True])
def test_a_bad_threads_setting_names_what_is_accepted(setting):
    with pytest.raises(ValueError, match=r"trainer.threads must be 'auto' or a positive integer, got "):
        threads_per_job(setting, None)


def test_the_thread_count_changes_no_number(compose_config, tmp_path):
    """With TensorFlow's deterministic ops, 1 thread and 2 give the same numbers: the config
    fingerprint leaves `trainer.threads` out, so a sweep resumed under joblib skips finished jobs."""
    script = (
        "import sys, json, tensorflow as tf\n"
        "threads = int(sys.argv[1])\n"
        "tf.config.threading.set_intra_op_parallelism_threads(threads)\n"
        "tf.config.threading.set_inter_op_parallelism_threads(threads)\n"
        "from hydra import compose, initialize_config_dir\n"
        "from experiments.cli import CONFIG_DIR\n"
        "from experiments.runner import run\n"
        "with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base='1.3'):\n"
        "    cfg = compose(config_name='config', overrides=['task=lstm_after', 'debug=smoke', 'task.epochs=2',\n"
        "                  f'trainer.threads={threads}'])\n"
        "metrics = run(cfg, sys.argv[2], threads)\n"
        "print(json.dumps({k: metrics[k] for k in ('history', 'test', 'attention_quality', 'config')}))\n"
    )
    outputs = []
    for threads in (1, 2):
        result = subprocess.run([sys.executable, "-c", script, str(threads), str(tmp_path / str(threads))],
                                capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr[-3000:]
        outputs.append(json.loads(result.stdout.strip().splitlines()[-1]))
    assert outputs[0] == outputs[1]
    assert (tmp_path / "1" / "attention.npy").read_bytes() == (tmp_path / "2" / "attention.npy").read_bytes()
