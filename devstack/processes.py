"""Child processes: started in a session of their own, stopped gently then firmly, and
never outliving the launcher."""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

BASE_DIR = Path(__file__).resolve().parent.parent
# Seconds a child gets to finish its current work on Ctrl-C before it is killed.
# A Celery task killed here is not lost: it is acknowledged only when done.
STOP_GRACE_SECONDS = 10


def say(message: str) -> None:
    print(f"[devstack] {message}", flush=True)


def die_with_parent() -> None:
    """Runs in each child before exec: if the launcher dies (even by SIGKILL), the child gets SIGTERM."""
    pr_set_pdeathsig = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def stop_process(proc: subprocess.Popen[bytes], name: str = "child", grace: float = STOP_GRACE_SECONDS) -> None:
    """SIGTERM to the child's process group, SIGKILL after ``grace`` seconds."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        say(f"{name} did not stop within {grace}s; killing it")
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    except ProcessLookupError:
        pass


def start_process(
    args: list[str], env: dict[str, str], *, cwd: Path = BASE_DIR, output: IO[bytes] | None = None
) -> subprocess.Popen[bytes]:
    """Start ``args`` in a session of its own (Ctrl-C reaches only the launcher, which then
    stops everything in order) that gets SIGTERM if the launcher dies, even by SIGKILL.
    ``output``: where its stdout and stderr go (the launcher's own by default)."""
    return subprocess.Popen(args, cwd=cwd, env=env, preexec_fn=die_with_parent, start_new_session=True,
                            stdout=output, stderr=subprocess.STDOUT if output is not None else None)  # fmt: skip


@dataclass
class Children:
    """The long-running processes ``run`` started, stopped together in reverse order."""

    procs: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)

    def start(self, name: str, args: list[str], env: dict[str, str]) -> None:
        self.procs.append((name, start_process(args, env)))

    def first_exited(self) -> tuple[str, int] | None:
        for name, proc in self.procs:
            if proc.poll() is not None:
                return name, proc.returncode
        return None

    def stop_all(self) -> None:
        for name, proc in reversed(self.procs):
            stop_process(proc, name)
