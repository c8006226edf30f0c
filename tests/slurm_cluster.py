"""A real one-node Slurm cluster for the tests: munged, slurmctld and slurmd from Debian's packages,
listening on 127.0.0.1 only, in a temporary directory of their own, stopped by their PIDs.

`SlurmCluster.start()` raises `Unavailable` (with the reason) where the packages cannot be had or the
daemons do not come up; the tests skip on it. The measured facts behind the settings are in
`../shared/CLUSTER.md`.
"""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

PACKAGES = ["slurmctld", "slurmd", "slurm-client", "munge"]
DAEMONS = ["munged", "slurmctld", "slurmd"]
NODE_MEMORY_MB = 4000  # below the machine's memory: above it the node would be `inval`


class Unavailable(RuntimeError):
    """Slurm cannot run here; the message says why."""


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _install():
    """Debian's packages, when a daemon is missing and this is root on a machine with apt-get."""
    if all(shutil.which(daemon) for daemon in DAEMONS):
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise Unavailable(f"Slurm is not installed and cannot be here (needs root and apt-get): {' '.join(PACKAGES)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (
        ["apt-get", "update", "-qq"],
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *PACKAGES],
    ):
        done = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)
        if done.returncode != 0:
            last = (done.stderr.strip() or done.stdout.strip() or "no output").splitlines()[-1]
            raise Unavailable(f"{' '.join(command[:2])} failed: {last}")


def _wait_for(check, what, seconds, processes):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        for name, process in processes.items():
            if process.poll() is not None:
                raise Unavailable(f"{name} exited with code {process.returncode} before {what}")
        time.sleep(0.2)
    raise Unavailable(f"timed out after {seconds} s waiting for {what}")


class SlurmCluster:
    """One node of `cpus` CPUs in one partition, `debug` (the default)."""

    def __init__(self, cpus=None):
        self.cpus = cpus or os.cpu_count() or 1
        self.host = socket.gethostname().split(".")[0]
        self.processes = {}
        self.root = None
        self.env = {}

    def start(self):
        _install()
        if socket.gethostbyname(self.host) != "127.0.0.1":
            self.host = "localhost"  # then slurmd is told its node name
        # Short, world-traversable: munged (as the munge user) must reach its socket, and a Unix
        # socket's path has a length limit that pytest's temporary paths can exceed.
        self.root = Path(tempfile.mkdtemp(prefix="slurm-", dir="/tmp"))
        self.root.chmod(0o755)
        try:
            self._start_munge()
            self._start_slurm()
        except BaseException:
            self.stop()
            raise
        return self

    def _start_munge(self):
        munge_dir = self.root / "munge"
        munge_dir.mkdir()
        munge_dir.chmod(0o755)  # munged wants its socket directory open to all, its key private
        key = munge_dir / "munge.key"
        subprocess.run(["mungekey", "--create", "--keyfile", str(key)], check=True, capture_output=True)
        shutil.chown(munge_dir, "munge", "munge")
        shutil.chown(key, "munge", "munge")
        self.munge_socket = munge_dir / "munge.socket"
        self.processes["munged"] = subprocess.Popen(
            [
                "setpriv", "--reuid=munge", "--regid=munge", "--init-groups",
                "munged", "--foreground", f"--socket={self.munge_socket}", f"--key-file={key}",
                f"--pid-file={munge_dir / 'munged.pid'}", f"--log-file={munge_dir / 'munged.log'}",
                f"--seed-file={munge_dir / 'munged.seed'}",
            ],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        _wait_for(self.munge_socket.exists, "munged's socket", 30, self.processes)

    def _start_slurm(self):
        conf = self.root / "slurm.conf"
        conf.write_text(self._config(_free_port(), _free_port()))
        self.env = {**os.environ, "SLURM_CONF": str(conf)}
        log = (self.root / "daemons.log").open("w")
        self.processes["slurmctld"] = subprocess.Popen(
            ["slurmctld", "-D", "-i"], env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        self.processes["slurmd"] = subprocess.Popen(
            ["slurmd", "-D", "-N", self.host], env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        _wait_for(lambda: self.node_state() == "idle", "the node to be idle in sinfo", 60, self.processes)

    def _config(self, controller_port, node_port):
        state = self.root / "state"
        for folder in (state, state / "ctld", state / "d"):
            folder.mkdir(exist_ok=True)
        return "\n".join(
            [
                "ClusterName=tests",
                f"SlurmctldHost={self.host}(127.0.0.1)",
                f"SlurmctldPort={controller_port}",
                f"SlurmdPort={node_port}",
                "CommunicationParameters=NoCtldInAddrAny,NoInAddrAny",  # 127.0.0.1 only
                "AuthType=auth/munge",
                "CredType=cred/munge",
                f"AuthInfo=socket={self.munge_socket}",
                "SlurmUser=root",
                "SlurmdUser=root",
                f"StateSaveLocation={state / 'ctld'}",
                f"SlurmdSpoolDir={state / 'd'}",
                f"SlurmctldPidFile={state / 'slurmctld.pid'}",
                f"SlurmdPidFile={state / 'slurmd.pid'}",
                f"SlurmctldLogFile={state / 'slurmctld.log'}",
                f"SlurmdLogFile={state / 'slurmd.log'}",
                "ProctrackType=proctrack/linuxproc",
                "TaskPlugin=task/none",
                "JobAcctGatherType=jobacct_gather/none",
                "AccountingStorageType=accounting_storage/none",
                "MpiDefault=none",
                "SwitchType=switch/none",
                "SelectType=select/cons_tres",
                "SelectTypeParameters=CR_Core",
                "ReturnToService=2",
                "SlurmdParameters=config_overrides",  # the node as configured, whatever the hardware
                f"NodeName={self.host} NodeAddr=127.0.0.1 CPUs={self.cpus} RealMemory={NODE_MEMORY_MB} State=UNKNOWN",
                f"PartitionName=debug Nodes={self.host} Default=YES MaxTime=INFINITE State=UP",
                "",
            ]
        )

    def node_state(self):
        done = subprocess.run(["sinfo", "-h", "-N", "-o", "%T"], capture_output=True, text=True, env=self.env)
        return done.stdout.strip() if done.returncode == 0 else None

    def queue(self):
        """(array job id, task id, state) of every job in the queue."""
        done = subprocess.run(
            ["squeue", "-h", "-r", "-o", "%F %K %T"], capture_output=True, text=True, env=self.env, check=True
        )
        return [tuple(line.split()) for line in done.stdout.splitlines() if line.strip()]

    def log_tail(self, lines=40):
        state = self.root / "state"
        text = [f"--- {p.name}\n" + "\n".join(p.read_text().splitlines()[-lines:]) for p in state.glob("*.log")]
        return "\n".join(text)

    def stop(self):
        """Cancel what is left in the queue, stop the daemons by their PIDs (slurmd first), then remove
        the directory."""
        controller = self.processes.get("slurmctld")
        if controller is not None and controller.poll() is None:
            subprocess.run(["scancel", "--user", str(os.geteuid())], env=self.env, capture_output=True, timeout=30)
            try:
                _wait_for(lambda: not self.queue(), "the queue to empty", 30, {})
            except (Unavailable, subprocess.CalledProcessError):
                pass  # the daemons are stopped all the same
        for name in reversed(DAEMONS):
            process = self.processes.pop(name, None)
            if process is None or process.poll() is not None:
                continue
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
