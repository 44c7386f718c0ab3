"""Warm stage processes: a stage runs in a fork of a process that has already imported torch and friends.

Every DVC stage is a fresh `python -m stages.<stage>` process, and on the 2-core machine importing torch,
transformers, Accelerate, DVCLive and sentence-transformers costs 1.5-6 s per process, more than most
per-architecture stages compute (README, "Performance"). The stage command stays what dvc.yaml says; its
process hands its arguments, working directory, environment and standard streams to a per-user server that
keeps those libraries imported and forks a worker for each request (the fork starts in milliseconds). The
worker runs the same stage module as ``__main__`` and the command exits with the worker's exit status, so for
DVC (deps, outs, run-cache, `--queue`) nothing changes.

Why this is safe to leave on:
- the server imports third-party libraries only, never ragcun or stages code: each worker drops any it
  inherited and imports the project's code fresh from the stage's working directory, so an edited file (or a
  queued experiment's temporary copy) is what runs;
- the server is keyed by the interpreter, ``sys.path``, the installed packages' folders (their mtimes change
  on install), this file's own bytes and the environment: a different venv, a `pip install` or a changed
  variable starts a new server instead of reusing a stale import;
- the server imports modules and never runs a computation, so no thread pool, CUDA context or tokenizer
  state exists when it forks;
- Ctrl-C, SIGTERM and SIGHUP sent to the stage command reach the worker's process group; a command killed
  outright (SIGKILL) closes its socket and the server kills the worker;
- anything that fails before the worker starts (no socket, a platform without fork and fd passing) runs the
  stage in the command's own process, as before.

No library does this for Python stage commands (the pattern is nailgun's for the JVM or Spring's for Rails),
hence the ~250 lines here. ``RAGCUN_WARM=0`` turns it off; an idle server exits after ``RAGCUN_WARM_IDLE``
seconds (default 300).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import importlib
import io
import json
import os
import runpy
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Sequence
from pathlib import Path

# Every stage entry point imports this module first, before torch, and a warm server's libraries are loaded
# with the environment of the command that started it, so this must be set here. OpenMP's default
# busy-waiting makes a 2-thread torch process 12x slower when another process wants the same cores (a queued
# experiment, an evaluation in parallel); passive waiting keeps 2 threads ~1.6x faster than 1 when alone and no
# slower than 1 when the cores are shared (measured on the project's 2-core machine: benchmarks/threads.py).
# A user's own setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

SWITCH_ENV = "RAGCUN_WARM"  # "0": every stage runs in its own fresh process
DIR_ENV = "RAGCUN_WARM_DIR"  # where the sockets, pid files and server logs live
IDLE_ENV = "RAGCUN_WARM_IDLE"
WORKER_ENV = "RAGCUN_WARM_WORKER"  # set in a worker: its own stage module (and launched children) run in place
STARTED_ENV = "RAGCUN_STAGE_STARTED"  # the command's start (Unix seconds), for ragcun.cli's stage times
DEFAULT_IDLE_SECONDS = 300.0
CONNECT_TIMEOUT_SECONDS = 120.0  # the server accepts between two preloaded modules, so this is never reached

# In the order the stages need them: a request that arrives while the server is still importing is served
# between two modules with what is imported so far (the worker imports the rest itself).
PRELOAD: tuple[str, ...] = (
    "numpy", "yaml", "pydantic", "tqdm.auto", "safetensors.numpy", "pytrec_eval", "torch", "safetensors.torch",
    "torch.optim", "torch._dynamo", "dvclive", "accelerate", "transformers", "transformers.models.bert.modeling_bert",
    "transformers.models.mpnet.modeling_mpnet", "scipy.stats", "pandas", "matplotlib.figure",
    "matplotlib.backends.backend_agg", "beir.retrieval.evaluation", "bm25s", "sentence_transformers",
)
# Variables of a shell or of DVC's bookkeeping that no library reads when it is imported: they may differ
# between the stages of one run without starting another server. The worker still gets every one of them.
_VOLATILE_ENV = {"PWD", "OLDPWD", "SHLVL", "_", "COLUMNS", "LINES", STARTED_ENV, "RAGCUN_STAGE_TIMES"}
_VOLATILE_PREFIXES = ("DVC_", "RAGCUN_WARM")
_FORWARDED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)
_PROJECT_PACKAGES = ("ragcun", "stages")
# The server loads this file by path, as a module outside the ragcun package (so that no project code is
# imported), with the working directory (the state folder) off sys.path.
_SERVER_BOOT = """
import importlib.util, sys
sys.path.pop(0)
spec = importlib.util.spec_from_file_location("ragcun_warm_server", sys.argv[1])
server = importlib.util.module_from_spec(spec)
spec.loader.exec_module(server)
server.serve(sys.argv[2])
"""


def enabled() -> bool:
    """Warm workers are used on Linux (fork + passing file descriptors), unless switched off or already in one."""
    return (
        sys.platform == "linux"
        and os.environ.get(SWITCH_ENV, "1") != "0"
        and WORKER_ENV not in os.environ
        and hasattr(socket, "send_fds")
    )


def state_dir() -> Path:
    base = os.environ.get(DIR_ENV) or os.path.join(tempfile.gettempdir(), f"ragcun-warm-{os.getuid()}")
    return Path(base)


def server_key(environ: dict[str, str] | None = None) -> str:
    """What the preloaded modules depend on: interpreter, import path, installed packages, environment."""
    environ = dict(os.environ if environ is None else environ)
    digest = hashlib.sha256()
    digest.update(sys.executable.encode())
    digest.update(sys.version.encode())
    for entry in _library_path():
        digest.update(entry.encode())
        with contextlib.suppress(OSError):
            digest.update(str(os.stat(entry).st_mtime_ns).encode())
    digest.update(Path(__file__).read_bytes())
    for name in sorted(environ):
        if name not in _VOLATILE_ENV and not name.startswith(_VOLATILE_PREFIXES):
            digest.update(f"{name}={environ[name]}\0".encode())
    return digest.hexdigest()[:20]


def _library_path() -> list[str]:
    """sys.path without the script's or the working directory's entry (the project's code is never preloaded)."""
    own = {os.path.dirname(os.path.abspath(__file__)), os.getcwd(), ""}
    return [entry for entry in sys.path if entry not in own and os.path.abspath(entry or ".") not in own]


# ------------------------------------------------------------------------------------------------ client


def run_here_or_in_worker() -> None:
    """Called first by a stage entry point (``__main__``, run with ``-m`` or as a script): run this command in
    a warm worker and exit with its status.

    Returns (the stage then runs in this process) in a worker, when switched off, or when no worker can be
    had; it never returns after a worker has started.
    """
    if not enabled():
        return
    main = sys.modules["__main__"]
    spec = getattr(main, "__spec__", None)
    target = {"module": spec.name} if spec is not None else {"script": os.path.abspath(main.__file__)}
    started = float(os.environ.get(STARTED_ENV) or time.time())
    try:
        connection = _connect(state_dir(), server_key())
    except OSError as error:
        print(f"warning: warm stage server unavailable ({error}); running the stage in this process", file=sys.stderr)
        return
    environ = dict(os.environ, **{STARTED_ENV: f"{started:.6f}"})
    request = {**target, "argv": sys.argv, "cwd": os.getcwd(), "env": environ}
    with connection:
        try:
            _send_message(connection, request, fds=[0, 1, 2])
            pid = _receive_message(connection)["pid"]
        except (OSError, KeyError, ValueError) as error:
            print(f"warning: warm stage server refused the stage ({error}); running it in this process", file=sys.stderr)
            return
        _forward_signals(pid)
        try:
            outcome = _receive_message(connection)
        except (OSError, ValueError) as error:
            print(f"error: the warm stage worker was lost ({error})", file=sys.stderr)
            os._exit(1)
    _exit_like(int(outcome["status"]))


def _connect(folder: Path, key: str) -> socket.socket:
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    address = str(folder / f"{key}.sock")
    with contextlib.suppress(OSError):
        return _open(address)
    # One starter at a time: a second stage arriving now waits here and then finds the first one's server.
    with open(folder / f"{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with contextlib.suppress(OSError):
            return _open(address)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(address)  # a dead server's socket
        _start_server(folder, key, address)
        deadline = time.monotonic() + CONNECT_TIMEOUT_SECONDS
        while True:
            try:
                return _open(address)
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.01)


def _open(address: str) -> socket.socket:
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        connection.connect(address)
    except OSError:
        connection.close()
        raise
    return connection


def _start_server(folder: Path, key: str, address: str) -> None:
    log = open(folder / f"{key}.log", "ab")
    # Detached (own session, no inherited streams): DVC waits for the stage command's output to close, and a
    # server holding it would hang the stage.
    subprocess.Popen(
        [sys.executable, "-c", _SERVER_BOOT, os.path.abspath(__file__), address],
        stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True, close_fds=True, cwd=str(folder),
    )
    log.close()


def _forward_signals(pid: int) -> None:
    def forward(signum: int, _frame: object) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signum)

    for signum in _FORWARDED_SIGNALS:
        signal.signal(signum, forward)


def _exit_like(status: int) -> None:
    """Exit as the worker did: its exit code, or death by the same signal."""
    sys.stdout.flush()
    sys.stderr.flush()
    if os.WIFSIGNALED(status):
        signum = os.WTERMSIG(status)
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
    os._exit(os.waitstatus_to_exitcode(status) if not os.WIFSIGNALED(status) else 128 + os.WTERMSIG(status))


# ------------------------------------------------------------------------------------------------ protocol


def _send_message(connection: socket.socket, message: dict, fds: Sequence[int] = ()) -> None:
    payload = json.dumps(message).encode()
    header = struct.pack("!I", len(payload))
    if fds:
        socket.send_fds(connection, [header], list(fds))
    else:
        connection.sendall(header)
    connection.sendall(payload)


def _receive_exactly(connection: socket.socket, size: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = connection.recv(size - len(chunks))
        if not chunk:
            raise ValueError("connection closed")
        chunks += chunk
    return bytes(chunks)


def _receive_message(connection: socket.socket, with_fds: int = 0) -> dict:
    if with_fds:
        header, fds, _flags, _address = socket.recv_fds(connection, 4, with_fds)
        header += _receive_exactly(connection, 4 - len(header))
    else:
        header, fds = _receive_exactly(connection, 4), []
    message = json.loads(_receive_exactly(connection, struct.unpack("!I", header)[0]))
    if with_fds:
        message["fds"] = fds
    return message


# ------------------------------------------------------------------------------------------------ server


def serve(address: str, modules: Sequence[str] = PRELOAD) -> None:
    """Bind, then import ``modules`` one by one, serving requests between them; exit when idle."""
    idle = float(os.environ.get(IDLE_ENV) or DEFAULT_IDLE_SECONDS)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        listener.bind(address)
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            return  # another server got there first
        raise
    listener.listen(64)
    bound = os.stat(address).st_ino
    Path(address).with_suffix(".pid").write_text(str(os.getpid()))
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # supervisors are reaped by the kernel
    for module in modules:
        _serve_pending(listener, timeout=0.0)
        with contextlib.suppress(Exception):
            importlib.import_module(module)
    Path(address).with_suffix(".ready").touch()
    last = time.monotonic()
    while time.monotonic() - last < idle:
        if _serve_pending(listener, timeout=min(5.0, idle)):
            last = time.monotonic()
        with contextlib.suppress(FileNotFoundError):
            if os.stat(address).st_ino == bound:
                continue
        return  # the socket was removed or replaced: a newer server owns the address


def _serve_pending(listener: socket.socket, timeout: float) -> bool:
    served = False
    while select.select([listener], [], [], timeout)[0]:
        connection, _ = listener.accept()
        if os.fork() == 0:
            listener.close()
            _supervise(connection)  # never returns
        connection.close()
        served, timeout = True, 0.0
    return served


def _supervise(connection: socket.socket) -> None:
    """In the fork for one request: start the worker, pass its pid and exit status, kill it if the command dies."""
    status = 1 << 8
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        request = _receive_message(connection, with_fds=3)
        pid = os.fork()
        if pid == 0:
            connection.close()
            _work(request)  # never returns
        with contextlib.suppress(OSError):
            os.setpgid(pid, pid)  # as the worker does itself: a signal forwarded at once finds the group
        for fd in request["fds"]:
            os.close(fd)
        _send_message(connection, {"pid": pid})
        watched = os.pidfd_open(pid)
        while True:
            ready = select.select([watched, connection], [], [])[0]
            if watched in ready:
                status = os.waitpid(pid, 0)[1]
                break
            if connection.recv(1, socket.MSG_PEEK) == b"":  # the command is gone: so must the worker be
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGTERM)
                os.waitpid(pid, 0)
                os._exit(0)
        _send_message(connection, {"status": status})
    except Exception:
        traceback.print_exc()
    os._exit(0)


def _work(request: dict) -> None:
    """The worker: become the stage command (streams, directory, environment, argv) and run its module."""
    code = 1
    try:
        os.setpgid(0, 0)
        for signum in (*_FORWARDED_SIGNALS, signal.SIGCHLD, signal.SIGPIPE):
            signal.signal(signum, signal.SIG_DFL)
        for target, fd in enumerate(request["fds"]):
            os.dup2(fd, target)
            os.close(fd)
        _reopen_standard_streams()
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        os.environ[WORKER_ENV] = "1"
        for name in [name for name in sys.modules if name.split(".")[0] in _PROJECT_PACKAGES]:
            del sys.modules[name]
        importlib.invalidate_caches()
        sys.argv = list(request["argv"])
        if "module" in request:  # python -m: the working directory first on sys.path
            sys.path[:] = [request["cwd"], *_library_path()]
            runpy.run_module(request["module"], run_name="__main__", alter_sys=True)
        else:  # python path/to/script.py: the script's folder first
            sys.path[:] = [os.path.dirname(request["script"]), *_library_path()]
            runpy.run_path(request["script"], run_name="__main__")
        code = 0
    except SystemExit as exiting:
        code = exiting.code if isinstance(exiting.code, int) else (0 if exiting.code is None else 1)
        if not isinstance(exiting.code, (int, type(None))):
            print(exiting.code, file=sys.stderr)
    except BaseException:
        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def _reopen_standard_streams() -> None:
    """Text streams on the command's descriptors, buffered as a fresh interpreter would buffer them."""
    sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False))
    sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), line_buffering=os.isatty(1), write_through=False)
    sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), line_buffering=True, errors="backslashreplace")
    sys.__stdin__, sys.__stdout__, sys.__stderr__ = sys.stdin, sys.stdout, sys.stderr


