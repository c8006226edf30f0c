"""Hydra's launchers run the same sweep, and the statistics come at the end under each of them (a real
one-node Slurm cluster and Ray included); threads per job; the Slurm presets compose."""

import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import pytest
from omegaconf import OmegaConf

from experiments.run.threads import threads_per_job
from slurm_cluster import SlurmCluster, Unavailable

CORES = os.cpu_count() or 1


def _plugin(name):
    return importlib.util.find_spec(f"hydra_plugins.{name}") is not None


def _sweep_command(sweep_dir, *overrides, seeds="0..1"):
    return [sys.executable, "-m", "experiments", "-m", "task=dense", "debug=smoke", f"seed={seeds}",
            f"hydra.sweep.dir={sweep_dir}", *overrides]  # fmt: skip


def _sweep(sweep_dir, *overrides, env=None, prefix=()):
    command = [*prefix, *_sweep_command(sweep_dir, *overrides)]
    return subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)


# A network namespace of the command's own, with only the loopback interface up: Ray's servers
# listen on every interface whatever its init options say, and here there is only 127.0.0.1.
LOOPBACK_ONLY = ["unshare", "--net", "--", "sh", "-c", 'ip link set lo up && exec "$@"', "sh"]


def _metrics(sweep_dir, seed):
    path = sweep_dir / "dense" / "block_2d" / f"seed={seed}" / "metrics.json"
    return json.loads(path.read_text()) if path.is_file() else None


def _check_sweep(sweep_dir, result, threads, seeds=(0, 1)):
    assert result.returncode == 0, result.stderr[-3000:]
    summary = pd.read_csv(sweep_dir / "summary.csv")
    assert sorted(summary.seed) == list(seeds) and set(summary.status) == {"completed"}
    assert (sweep_dir / "summary.md").is_file() and (sweep_dir / "summary.png").is_file()
    for seed in seeds:
        assert _metrics(sweep_dir, seed)["threads"] == threads


LAUNCHERS = [
    pytest.param(
        ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"],
        max(1, CORES // 2),
        marks=pytest.mark.skipif(
            not _plugin("hydra_joblib_launcher"), reason="pip install -e packages/attention -e '.[joblib]'"
        ),
        id="joblib",
    ),
    pytest.param(
        ["hydra/launcher=submitit_local", "hydra.launcher.cpus_per_task=1", "hydra.launcher.timeout_min=10"],
        1,
        marks=pytest.mark.skipif(
            not _plugin("hydra_submitit_launcher"), reason="pip install -e packages/attention -e '.[submitit]'"
        ),
        id="submitit_local",
    ),
]


@pytest.mark.parametrize("overrides, threads", LAUNCHERS)
def test_each_launcher_runs_the_sweep_and_ends_with_its_statistics(overrides, threads, tmp_path):
    _check_sweep(tmp_path, _sweep(tmp_path, *overrides), threads)


@pytest.fixture
def ray_on_loopback():
    """Ray's environment for one sweep: no usage reporting, no auth token, its files in a fresh short
    directory (a Unix socket's path is short) that is removed afterwards with anything new in ~/.ray."""
    if not _plugin("hydra_ray_launcher"):
        pytest.skip("Ray is not installed: pip install -e packages/attention -e '.[ray]'")
    probe = subprocess.run([*LOOPBACK_ONLY, "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"no network namespace of loopback only here (unshare needs root): {probe.stderr.strip()}")
    home_ray = Path.home() / ".ray"
    before = set(home_ray.rglob("*")) if home_ray.exists() else None
    temp = Path(tempfile.mkdtemp(prefix="ray-", dir="/tmp"))
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}
    yield env, temp
    shutil.rmtree(temp, ignore_errors=True)
    if before is None:
        shutil.rmtree(home_ray, ignore_errors=True)
    elif home_ray.exists():
        for path in sorted(set(home_ray.rglob("*")) - before, reverse=True):
            path.unlink() if path.is_file() or path.is_symlink() else shutil.rmtree(path, ignore_errors=True)


# A resource of the machine's own: runs on one pytest-xdist worker, one such test at a time.
@pytest.mark.xdist_group("machine")
def test_a_ray_sweep_runs_on_loopback_and_ends_with_its_statistics(ray_on_loopback, tmp_path):
    env, temp = ray_on_loopback
    overrides = [
        "hydra/launcher=ray",
        "+hydra.launcher.ray.init.num_cpus=2",
        "+hydra.launcher.ray.init.include_dashboard=false",
        "+hydra.launcher.ray.init._node_ip_address=127.0.0.1",
        f"+hydra.launcher.ray.init._temp_dir={temp}",
        "+hydra.launcher.ray.remote.num_cpus=1",
    ]
    _check_sweep(tmp_path, _sweep(tmp_path, *overrides, env=env, prefix=LOOPBACK_ONLY), threads=1)
    assert any(temp.glob("session_*")), "Ray kept its files elsewhere than the directory it was given"


def test_the_basic_launcher_leaves_the_threads_alone(tmp_path):
    _check_sweep(tmp_path, _sweep(tmp_path), None)


@pytest.fixture(scope="module")
def slurm():
    """A one-node Slurm cluster on 127.0.0.1, installed from Debian's packages where missing."""
    if not _plugin("hydra_submitit_launcher"):
        pytest.skip("pip install -e packages/attention -e '.[submitit]'")
    cluster = SlurmCluster(cpus=min(2, CORES))  # at most two: the test needs jobs that wait for a CPU
    try:
        cluster.start()
    except Unavailable as error:
        pytest.skip(f"no Slurm cluster here: {error}")
    yield cluster
    cluster.stop()


def _wait_until(condition, what, seconds=120):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


# A resource of the machine's own: runs on one pytest-xdist worker, one such test at a time.
@pytest.mark.xdist_group("machine")
def test_a_slurm_sweep_runs_as_an_array_and_resumes_a_cancelled_job(slurm, tmp_path):
    """`hydra/launcher=slurm_cpu` on a real cluster: the sweep is one array job; a job cancelled with
    scancel never runs, and the same command again runs only that job and ends with the statistics."""
    command = _sweep_command(
        tmp_path, "hydra/launcher=slurm_cpu", "hydra.launcher.cpus_per_task=1", "hydra.launcher.mem_gb=1",
        "hydra.launcher.timeout_min=10", seeds="0..3",
    )  # fmt: skip
    sweep = subprocess.Popen(command, env=slurm.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        # Two CPUs of one each: tasks 0 and 1 run while 2 and 3 wait; cancel 3 while it waits.
        queue = _wait_until(lambda: len(queued := slurm.queue()) == 4 and queued, "the array of four tasks in squeue")
        assert len({array for array, _, _ in queue}) == 1, queue  # one array job, not four jobs
        assert dict((task, state) for _, task, state in queue)["3"] == "PENDING", queue
        subprocess.run(["scancel", f"{queue[0][0]}_3"], env=slurm.env, check=True)
        _wait_until(lambda: not slurm.queue(), "the other three tasks to end", seconds=300)
        # Without slurmdbd there is no sacct, so submitit cannot learn that task 3 was cancelled and
        # waits for its result: stop the sweep as its user would. SIGTERM, which the suite turns into
        # the KeyboardInterrupt of Ctrl-C: a shell starts a background job with SIGINT ignored, and
        # its children (this sweep) inherit that, so SIGINT would not stop a suite run with `&`.
        sweep.send_signal(signal.SIGTERM)
        sweep.communicate(timeout=60)
    finally:
        sweep.kill()
    finished = {seed: _metrics(tmp_path, seed) for seed in range(3)}
    assert all(m and m["status"] == "completed" for m in finished.values()), slurm.log_tail()
    assert _metrics(tmp_path, 3) is None

    resumed = subprocess.run(command, capture_output=True, text=True, timeout=600, env=slurm.env)
    _check_sweep(tmp_path, resumed, threads=1, seeds=(0, 1, 2, 3))  # threads = the job's CPUs
    assert {seed: _metrics(tmp_path, seed) for seed in range(3)} == finished  # skipped, not run again


@pytest.mark.parametrize("preset, gpus", [("slurm_cpu", 0), ("slurm_gpu", 1)])
def test_the_slurm_presets_compose_into_array_jobs(compose_config, preset, gpus):
    if not _plugin("hydra_submitit_launcher"):
        pytest.skip("pip install -e packages/attention -e '.[submitit]'")
    from hydra import compose, initialize_config_dir

    from experiments.run.config import CONFIG_DIR

    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose(
            config_name="config", overrides=["task=imdb", f"hydra/launcher={preset}"], return_hydra_config=True
        )
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
        "from experiments.run.config import CONFIG_DIR\n"
        "from experiments.run.runner import run\n"
        "with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base='1.3'):\n"
        "    cfg = compose(config_name='config', overrides=['task=lstm_after', 'debug=smoke', 'task.epochs=2',\n"
        "                  f'trainer.threads={threads}'])\n"
        "metrics = run(cfg, sys.argv[2], threads)\n"
        "print(json.dumps({k: metrics[k] for k in ('history', 'test', 'attention_quality', 'config')}))\n"
    )
    outputs = []
    for threads in (1, 2):
        result = subprocess.run(
            [sys.executable, "-c", script, str(threads), str(tmp_path / str(threads))],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        outputs.append(json.loads(result.stdout.strip().splitlines()[-1]))
    assert outputs[0] == outputs[1]
    assert (tmp_path / "1" / "attention.npy").read_bytes() == (tmp_path / "2" / "attention.npy").read_bytes()
