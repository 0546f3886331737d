"""lab/device/bg.sh: a detached job, started in one call and waited for in later ones."""
import subprocess
import tarfile
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BG_SH = REPO / "lab" / "device" / "bg.sh"


def _bg(tmp_path, *args, out=None):
    env = {"PATH": "/usr/bin:/bin", "BG": str(tmp_path / "bg"), "HOME": str(tmp_path)}
    if out is not None:
        env["OUT"] = str(out)
    return subprocess.run(["bash", str(BG_SH), *args], env=env, capture_output=True, text=True, timeout=120)


def test_job_runs_detached_in_a_snapshot_and_its_results_come_back(tmp_path):
    job = 'pwd > "$R/cwd"; echo hello > "$R/result.txt"; sleep 2; echo done; exit 3'
    started = _bg(tmp_path, "start", "demo", "bash", "-c", job)
    assert started.returncode == 0, started.stderr
    # the start call returned while the job still sleeps; a second start is refused
    again = _bg(tmp_path, "start", "demo", "true")
    assert again.returncode == 2 and "already running" in again.stderr

    early = _bg(tmp_path, "wait", "demo", "0")
    assert "still running" in early.stdout

    out = tmp_path / "out"
    out.mkdir()
    done = _bg(tmp_path, "wait", "demo", "60", out=out)
    assert "demo finished: exit 3" in done.stdout and "done" in done.stdout
    with tarfile.open(out / "demo.tgz") as tar:
        names = tar.getnames()
        assert "out/result.txt" in names and "job.log" in names
        assert tar.extractfile("out/result.txt").read() == b"hello\n"
        cwd = tar.extractfile("out/cwd").read().decode().strip()
    snapshot = tmp_path / "bg" / "demo" / "repo"
    assert Path(cwd) == snapshot  # not the working tree, which later device calls overwrite
    assert (snapshot / "lab" / "device" / "bg.sh").read_text() == BG_SH.read_text()
    assert not (snapshot / ".git").exists() and not (snapshot / ".venv").exists()


def test_bad_calls_are_clear_errors(tmp_path):
    r = _bg(tmp_path, "wait", "nothing")
    assert r.returncode == 2 and "no job nothing" in r.stderr
    r = _bg(tmp_path, "start", "empty")
    assert r.returncode == 2 and "no command" in r.stderr
    r = _bg(tmp_path, "pause", "x")
    assert r.returncode == 2 and "unknown command" in r.stderr


def test_stop_ends_the_job_and_its_children_and_wait_says_so(tmp_path):
    assert _bg(tmp_path, "start", "victim", "bash", "-c", "sleep 60; sleep 60").returncode == 0
    time.sleep(0.5)
    stopped = _bg(tmp_path, "stop", "victim")
    assert stopped.returncode == 0 and "stopped victim" in stopped.stdout
    r = _bg(tmp_path, "wait", "victim", "30")
    assert "died without an exit status" in r.stdout
    assert not [c for c in _command_lines() if "sleep 60; sleep 60" in c]


def _command_lines():
    for p in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            yield p.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # the process ended meanwhile
            pass


@pytest.fixture(autouse=True)
def _no_leftover_jobs(tmp_path):
    yield
    for name in (tmp_path / "bg").glob("*/pid"):
        _bg(tmp_path, "stop", name.parent.name)
