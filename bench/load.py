"""B5: gunicorn with 1 and with 2 workers on PostgreSQL, under Debian's `wrk` (127.0.0.1 only).

wrk runs `bench/wrk.lua`: 32 connections cycle through the mixed pages with the session cookie of
a signed-in user, for a bounded time, and print requests/s, p50, p95 and errors as one JSON line.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.worker import spawn

ROOT = Path(__file__).resolve().parent.parent
LUA = Path(__file__).resolve().parent / "wrk.lua"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(port: int, proc, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("gunicorn exited while starting")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError("gunicorn did not start")


def run_b5(
    url: str, files: str, *, workers_list=(1, 2), seconds=30, connections=32, threads=2, log=print
) -> dict:
    """One wrk run per worker count; returns {workers: figures}."""
    from bench.pages import BENCH_USERS, LOAD_ROLE

    if shutil.which("wrk") is None:
        return {
            "skipped": "wrk is not installed (Debian package wrk; `make bench` installs it as root)"
        }
    results = {}
    secret = os.urandom(16).hex()  # one key for every worker of a run (README: same SECRET_KEY)
    for workers in workers_list:
        port = free_port()
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "FILES_DIR": files,
            "SECRET_KEY": secret,
            "AUTH_RATE_LIMIT": "10000 per minute",
            "SIGN_IN_LIMIT_PER_ACCOUNT": "10000 per minute",
            "SIGN_IN_LIMIT_PER_IP_ACCOUNT": "10000 per minute",
            "TWO_FACTOR_REQUIRED_ROLES": "",  # generated accounts: password only
        }
        log_path = Path(tempfile.gettempdir()) / f"malan-bench-gunicorn-{port}.log"
        with open(log_path, "w") as log_fh:
            server = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "-w",
                    str(workers),
                    "-b",
                    f"127.0.0.1:{port}",
                    "--timeout",
                    "120",
                    "run:app",
                ],
                cwd=ROOT,
                env=env,
                stdout=log_fh,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            _wait(port, server)
            base = f"http://127.0.0.1:{port}"
            login = spawn("login-cookie", url, files, base=base, username=BENCH_USERS[LOAD_ROLE])
            if "/login" in login["final_url"]:
                raise RuntimeError(f"B5 login failed: {login}")
            urls = login["urls"]
            env_wrk = {
                **os.environ,
                "MALAN_COOKIE": login["cookie"],
                "MALAN_PATHS": "\n".join(urls),
            }
            proc = subprocess.run(
                [
                    "wrk",
                    "-t",
                    str(threads),
                    "-c",
                    str(connections),
                    "-d",
                    f"{seconds}s",
                    "--timeout",
                    "10s",
                    "-s",
                    str(LUA),
                    base,
                ],
                env=env_wrk,
                capture_output=True,
                text=True,
                timeout=seconds + 60,
            )
            line = next(
                (ln for ln in proc.stdout.splitlines() if ln.startswith("MALAN_JSON ")), None
            )
            if line is None:
                raise RuntimeError(
                    f"wrk printed no result: {proc.stdout[-800:]} {proc.stderr[-800:]}"
                )
            figures = json.loads(line[len("MALAN_JSON ") :])
            figures.update(
                workers=workers, connections=connections, seconds=seconds, pages=len(urls)
            )
            results[str(workers)] = figures
            log(
                f"  B5 {workers} worker(s): {figures['requests_per_s']:.1f} req/s, "
                f"p50 {figures['p50_ms']:.0f} ms, p95 {figures['p95_ms']:.0f} ms, "
                f"errors {figures['errors']}"
            )
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
    return results
