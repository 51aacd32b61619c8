"""`flask create-user`, `flask seed-demo`, and gunicorn serving the factory."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import sqlalchemy as sa

from accounts.models import Role, User
from extensions import db
from tests.workers import alive, children

ROOT = Path(__file__).resolve().parents[2]


def test_create_user_command(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-user", "--email", "Li@Example.com", "--name", "Li", "--role", "manager",
                                 "--organisation", "Acme Hotels", "--password", "long-enough-pw"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == "li@example.com"))
        assert user.role == Role.MANAGER and user.organisation.name == "Acme Hotels"
        assert user.password_hash != "long-enough-pw" and user.check_password("long-enough-pw")


def test_create_user_rejects_bad_input_and_saves_nothing(app):
    runner = app.test_cli_runner()
    cases = [
        (["--role", "manager", "--password", "long-enough-pw"], "a manager needs --organisation"),
        (["--role", "inspector", "--password", "long-enough-pw"], "an inspector needs --jurisdiction"),
        (["--role", "manager", "--organisation", "X", "--password", "short"], "at least 8 characters"),
        (["--role", "wizard", "--password", "long-enough-pw"], "Invalid value for '--role'"),
    ]
    for extra, message in cases:
        result = runner.invoke(args=["create-user", "--email", "a@b.example", "--name", "A", *extra])
        assert result.exit_code != 0 and message in result.output, (extra, result.output)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0


def test_seed_demo_only_into_an_empty_database(app):
    runner = app.test_cli_runner()
    assert "demo data loaded" in runner.invoke(args=["seed-demo"]).output
    again = runner.invoke(args=["seed-demo", "--if-empty"])
    assert again.exit_code == 0 and "not loaded" in again.output
    refused = runner.invoke(args=["seed-demo"])
    assert refused.exit_code != 0 and "already has users" in refused.output


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_gunicorn_serves_the_factory(tmp_path, template_database):
    """`gunicorn 'app:create_app()'` starts, migrates nothing by itself, and serves the sign-in page."""
    import shutil

    port = _free_port()
    env = dict(os.environ, SECRET_KEY="gunicorn-test-" + "k" * 32, SIGHTLINE_ENV="production")
    if not os.environ.get("DATABASE_URL"):
        shutil.copy(template_database, tmp_path / "db.sqlite")
        env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'db.sqlite'}"
    gunicorn = Path(sys.executable).with_name("gunicorn")
    server = subprocess.Popen([str(gunicorn), "-w", "1", "-b", f"127.0.0.1:{port}", "app:create_app()"],
                              cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        body = b""
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2) as response:
                    body = response.read()
                    break
            except OSError:
                time.sleep(0.2)
        assert b"Sign in" in body
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_the_development_server_stops_its_worker_when_killed(tmp_path, template_database):
    """`make run`'s server (jobs.serve) ended by a plain kill (SIGTERM) takes its queue worker with it."""
    import shutil
    import signal

    port = _free_port()
    env = dict(os.environ, SECRET_KEY="serve-test-" + "k" * 32, HUEY_BACKEND="sqlite",
               HUEY_SQLITE_PATH=str(tmp_path / "huey.db"))
    if not os.environ.get("DATABASE_URL"):
        shutil.copy(template_database, tmp_path / "db.sqlite")
        env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'db.sqlite'}"
    server = subprocess.Popen([sys.executable, "-m", "jobs.serve", "--port", str(port)], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers: set[int] = set()
    try:
        for _ in range(150):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2):
                    break
            except OSError:
                time.sleep(0.2)
        workers = set(children(server.pid))
        assert workers, "the server started no worker"
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=20) == 0
        for _ in range(100):
            if not any(alive(pid) for pid in workers):
                break
            time.sleep(0.1)
        assert not [pid for pid in workers if alive(pid)]
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        for pid in workers:  # never leave one behind, even when the test fails
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_a_served_worker_freezes_what_it_loaded():
    """gunicorn's post_worker_init hook moves the loaded objects out of the collector's passes (jobs.serve)."""
    import gc

    from jobs import serve

    try:
        serve.post_worker_init(None)
        frozen = gc.get_freeze_count()
        assert frozen > 10_000  # the interpreter, the test run and the app's modules
        gc.collect()
        assert gc.get_freeze_count() == frozen  # a collection leaves them where they are
    finally:
        gc.unfreeze()
