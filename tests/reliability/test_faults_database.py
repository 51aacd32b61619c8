"""PostgreSQL restarting under the app: while it is down, pages and the API answer a clean 503 with a message
(never a 500 traceback), and the same app's pool serves again once it is back, without a restart.

The server is a private, throwaway cluster on its own port (initdb + pg_ctl), so stopping it cannot disturb the
shared PostgreSQL other runs use. Skipped where the PostgreSQL server binaries are not installed.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app import create_app
from tests.conftest import DEMO_PASSWORD, MANAGER_A, _migrate, seed
from tests.web.test_cli_and_server import _free_port

pytestmark = pytest.mark.slow  # a private cluster, migrated: about 15 s

MESSAGE = "The database is not answering (it may be restarting), so nothing was saved"


def _has_user(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


class PrivateCluster:
    """A PostgreSQL cluster in a temporary directory on a free port, run as the postgres user when we are root."""

    def __init__(self) -> None:
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb")) or [shutil.which("initdb") or ""]
        if not found[-1] or not os.path.exists(found[-1]):
            pytest.skip("the PostgreSQL server binaries (initdb, pg_ctl) are not installed")
        self.bin = Path(found[-1]).parent
        self.directory = Path(tempfile.mkdtemp(prefix="sightline-pg-"))
        self.prefix: list[str] = []
        if os.geteuid() == 0:  # initdb refuses to run as root
            if shutil.which("runuser") is None or not _has_user("postgres"):
                pytest.skip("running as root without runuser or a postgres user to start PostgreSQL as")
            shutil.chown(self.directory, "postgres")
            self.prefix = ["runuser", "-u", "postgres", "--"]
        self.port = _free_port()
        self.data = self.directory / "data"
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8")
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run([*self.prefix, str(self.bin / tool), *args], check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.directory / "log"), "-o", options, "-w", "start")

    def crash(self) -> None:
        """Stop at once, as a crash or `systemctl restart` does: open connections are cut mid-session."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def remove(self) -> None:
        """Stop the server if it runs and delete its files."""
        subprocess.run([*self.prefix, str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"],
                       capture_output=True, timeout=60)
        shutil.rmtree(self.directory, ignore_errors=True)


@pytest.fixture
def cluster() -> Iterator[PrivateCluster]:
    """A running private PostgreSQL cluster, removed afterwards."""
    server = PrivateCluster()
    try:
        server.start()
        yield server
    finally:
        server.remove()


def _app(cluster: PrivateCluster, tmp_path: Path, **overrides: object):  # type: ignore[no-untyped-def]
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": cluster.url, "WTF_CSRF_ENABLED": False,
                      "SECRET_KEY": "test-secret", "HUEY_BACKEND": "immediate",
                      "UPLOAD_FOLDER": str(tmp_path / "uploads"), **overrides})
    _migrate(app)
    seed(app)
    return app


def _signed_in(app):  # type: ignore[no-untyped-def]
    client = app.test_client()
    assert client.post("/login", data={"email": MANAGER_A, "password": DEMO_PASSWORD}).status_code == 302
    return client


def test_requests_get_a_clean_503_while_postgresql_is_down_and_the_pool_recovers(cluster, tmp_path) -> None:
    client = _signed_in(_app(cluster, tmp_path))
    assert client.get("/").status_code == 200  # the pool now holds a live connection
    cluster.crash()
    page = client.get("/")
    assert page.status_code == 503 and page.headers["Retry-After"] == "30"
    text = page.get_data(as_text=True)
    assert MESSAGE in text and "Traceback" not in text and "psycopg" not in text
    api = client.get("/api/v1/venues")
    assert api.status_code == 503 and api.get_json()["error"].startswith(MESSAGE)
    write = client.post("/venues/new", data={"name": "Written while down"})
    assert write.status_code == 503
    assert client.get("/readyz").status_code == 503
    cluster.start()
    # The same app, no restart: the pool discards the connections the crash cut (pre-ping on SQLite, the socket check of connections.py on PostgreSQL), and the session still holds.
    page = client.get("/")
    assert page.status_code == 200 and "Bund View Hotel" in page.get_data(as_text=True)
    assert client.get("/readyz").status_code == 200
    assert "Written while down" not in client.get("/").get_data(as_text=True)


def test_requests_in_flight_while_postgresql_restarts_are_200_or_503_never_500(cluster, tmp_path) -> None:
    app = _app(cluster, tmp_path)
    statuses: list[int] = []
    stop = threading.Event()

    errors: list[BaseException] = []

    def browse(client) -> None:  # type: ignore[no-untyped-def]
        try:
            while not stop.is_set():
                statuses.append(client.get("/").status_code)
        except BaseException as error:  # an exception escaping the app is what a server would answer 500 with
            errors.append(error)

    users = [threading.Thread(target=browse, args=(_signed_in(app),)) for _ in range(3)]
    for user in users:
        user.start()
    try:
        time.sleep(1.0)
        cluster.crash()
        time.sleep(1.0)
        cluster.start()
        time.sleep(1.5)
    finally:
        stop.set()
        for user in users:
            user.join(timeout=60)
    assert not errors, errors
    assert set(statuses) == {200, 503}, sorted(set(statuses))
    assert statuses[-3:] == [200, 200, 200]  # every user is served again after the restart


def test_a_plan_run_on_a_worker_rides_out_a_postgresql_restart(cluster, tmp_path) -> None:
    from jobs.queue import huey_for_app
    from plans.models import PlanState
    from tests.web.test_plan_worker import _big_floor, _login, _stop, _wait
    from tests.workers import start_worker

    # A heartbeat timeout well beyond the outage: the run should not even need its second attempt.
    app = _app(cluster, tmp_path, HUEY_BACKEND="sqlite", HUEY_SQLITE_PATH=str(tmp_path / "jobs.sqlite"),
               PLAN_HEARTBEAT_SECONDS=0.5, PLAN_HEARTBEAT_TIMEOUT=30.0, JOB_HOUSEKEEPING_SECONDS=1.0)
    huey_for_app(app).flush()
    floor_id = _big_floor(app)
    client = _login(app)
    response = client.post(f"/floors/{floor_id}/plans", data={"mode": "reduce", "reaim": "true", "reaim_step": "45",
                                                              "time_limit": "15"})
    plan_id = int(response.headers["Location"].rsplit("/", 1)[1])
    worker = start_worker(app)
    try:
        _wait(app, plan_id, lambda p: p.state == PlanState.RUNNING and p.heartbeat_at is not None, 90, worker)
        cluster.crash()
        time.sleep(2.0)  # heartbeats and housekeeping fail meanwhile (logged); the solver goes on
        cluster.start()
        plan = _wait(app, plan_id, lambda p: p.finished, 240, worker)
        assert worker.poll() is None, "the worker died with the database"
    finally:
        output = _stop(worker)
    assert plan.state == PlanState.DONE and plan.error is None, (plan.error, output[-3000:])
    assert plan.attempts == 1
    assert len(plan.result["kept"]) + len(plan.result["removed"]) == 120
    assert "heartbeat of plan" in output  # the outage was felt: heartbeats failed while it lasted
