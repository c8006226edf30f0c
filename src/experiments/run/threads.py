"""CPU threads per job, so that jobs running side by side do not fight over the cores.

`trainer.threads: auto` gives a job the cores its launcher leaves it: all of them for a job that
runs alone, cores ÷ `n_jobs` under joblib, `cpus_per_task` under submitit, the job's `num_cpus`
under Ray. A number sets it for every job of a launch (`trainer.threads=1`).
"""

import os
import sys


def _share_of_cores(launcher, cores):
    """The cores each job of `launcher` (Hydra's launcher config) may use, or None for all."""
    if launcher is None:
        return None
    if launcher.get("n_jobs") is not None:  # joblib: -1 = all cores, -2 = all but one, ...
        n_jobs = launcher.n_jobs if launcher.n_jobs > 0 else cores + 1 + launcher.n_jobs
        return max(1, cores // max(1, n_jobs))
    if launcher.get("cpus_per_task"):  # submitit (local and Slurm)
        return int(launcher.cpus_per_task)
    remote = launcher.get("ray", {}).get("remote", {})
    if remote.get("num_cpus"):
        return int(remote.num_cpus)
    return None


def threads_per_job(setting, launcher, cores=None):
    """The number of threads for one job, or None to leave the backend's default (all cores).

    Raises ValueError on a setting that is neither 'auto' nor a positive integer.
    """
    if setting == "auto":
        return _share_of_cores(launcher, cores or os.cpu_count() or 1)
    if isinstance(setting, int) and not isinstance(setting, bool) and setting >= 1:
        return setting
    raise ValueError(f"trainer.threads must be 'auto' or a positive integer, got {setting!r}")


def limit_threads(threads):
    """Caps the backend's CPU thread pools at `threads` (None leaves them alone).

    Call it after the backend is imported and before it runs anything. A joblib worker that is
    reused for another job of the same launch keeps the pools it was given: TensorFlow cannot
    change them once it has started. JAX offers no such setting; its jobs use every core.
    """
    if threads is None:
        return
    os.environ["OMP_NUM_THREADS"] = str(threads)
    if "tensorflow" in sys.modules:
        threading = sys.modules["tensorflow"].config.threading
        try:
            threading.set_intra_op_parallelism_threads(threads)
            threading.set_inter_op_parallelism_threads(threads)
        except RuntimeError:  # already running: set by this worker's first job
            pass
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)
