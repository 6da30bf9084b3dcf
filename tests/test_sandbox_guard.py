"""The sandbox never touches real data and answers only this computer's own browser and bot.

Each test starts `python -m sandbox` as `make run` does and talks to it over real HTTP,
with the headers a browser (or an attacker's page) would send.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from core.config import PROJECT_ROOT
from tests.sandbox_world import free_port

TWELVE_DIGITS = re.compile(r"(?<!\d)\d{12}(?!\d)")
PHONE = re.compile(r"(?<!\d)(?:\+?84|0)\d{9}(?!\d)")


@dataclass
class RunningSandbox:
    port: int
    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def request(self, method: str, path: str, body: bytes | None = None,
                **headers: str) -> tuple[int, bytes]:
        """One HTTP request with exactly these headers (`Host` included when given)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            named = {name.replace("_", "-"): value for name, value in headers.items()}
            connection.request(method, path, body=body, headers=named)
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def own(self) -> dict[str, str]:
        return {"Host": f"127.0.0.1:{self.port}"}

    def post_json(self, path: str, payload: dict, **headers: str) -> tuple[int, bytes]:
        return self.request("POST", path, json.dumps(payload).encode(),
                            **{"Content_Type": "application/json", **self.own(), **headers})

    def get_json(self, path: str) -> object:
        status, body = self.request("GET", path, **self.own())
        assert status == 200, body
        return json.loads(body)


def sandbox_env(database: Path, **changes: str | None) -> dict[str, str]:
    env = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{database}", "EHR_LANG": "en"}
    env.pop("TELEGRAM_BOT_TOKEN", None)
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


@contextmanager
def running_sandbox(database: Path, *args: str, ready: str, **env: str | None) -> Iterator[RunningSandbox]:
    """`python -m sandbox` on `database`, once it printed the line holding `ready`."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "sandbox", "--port", str(port), *args],
                               cwd=PROJECT_ROOT, env=sandbox_env(database, **env), stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    sandbox = RunningSandbox(port, process)
    reader = threading.Thread(target=lambda: sandbox.lines.extend(iter(process.stdout.readline, "")),
                              daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 30
        while ready not in sandbox.output:
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the sandbox did not start:\n{sandbox.output}")
            time.sleep(0.1)
        yield sandbox
    finally:
        process.terminate()
        process.wait(timeout=15)
        reader.join(timeout=5)
        assert "Traceback" not in sandbox.output, sandbox.output


@pytest.fixture
def demo_sandbox(sandbox_database: Path) -> Iterator[RunningSandbox]:
    with running_sandbox(sandbox_database, ready="Ward volunteers:") as sandbox:
        yield sandbox


def test_the_sandbox_refuses_a_database_the_demo_seed_did_not_make(sqlite_template: Path,
                                                                   tmp_path: Path) -> None:
    database = tmp_path / "ehr.sqlite3"
    shutil.copyfile(sqlite_template, database)  # migrated, but never seeded: it could be anyone's
    refused = subprocess.run([sys.executable, "-m", "sandbox", "--port", str(free_port())],
                             cwd=PROJECT_ROOT, env=sandbox_env(database), capture_output=True, text=True,
                             timeout=60)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and "--allow-any-database" in lines[0] and "demo seed" in lines[0]
    assert "Traceback" not in refused.stderr and "Sandbox ready" not in refused.stdout


def test_with_allow_any_database_the_sandbox_runs_but_says_so_loudly_and_lists_no_one(
        sqlite_template: Path, tmp_path: Path) -> None:
    database = tmp_path / "other.sqlite3"
    shutil.copyfile(sqlite_template, database)
    with running_sandbox(database, "--allow-any-database", ready="Sandbox ready") as sandbox:
        deadline = time.monotonic() + 10
        while not any(line.startswith("WARNING:") for line in sandbox.lines):
            assert time.monotonic() < deadline, sandbox.output
            time.sleep(0.1)
        warning = next(line for line in sandbox.lines if line.startswith("WARNING:"))
        assert "not made by the demo seed" in warning and "data it did not create" in warning
        assert sandbox.get_json("/sandbox/api/personas") == []


def test_allow_any_database_still_needs_the_databases_own_secret_key(sqlite_template: Path,
                                                                     tmp_path: Path) -> None:
    database = tmp_path / "other.sqlite3"
    shutil.copyfile(sqlite_template, database)
    refused = subprocess.run([sys.executable, "-m", "sandbox", "--port", str(free_port()),
                              "--allow-any-database"], cwd=PROJECT_ROOT,
                             env=sandbox_env(database, EHR_SECRET_KEY=None), capture_output=True, text=True,
                             timeout=60)
    assert refused.returncode == 2 and "EHR_SECRET_KEY is not set" in refused.stderr, refused.stderr


def test_the_demo_sandbox_runs_with_the_local_key_when_no_key_is_set(sandbox_database: Path) -> None:
    with running_sandbox(sandbox_database, ready="Ward volunteers:", EHR_SECRET_KEY=None) as sandbox:
        assert sandbox.get_json("/sandbox/api/personas")


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "::", "ehr.example.vn"])
def test_the_sandbox_refuses_to_listen_beyond_this_computer(host: str, sandbox_database: Path) -> None:
    refused = subprocess.run([sys.executable, "-m", "sandbox", "--host", host, "--port",
                              str(free_port())], cwd=PROJECT_ROOT, env=sandbox_env(sandbox_database),
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and "loopback" in lines[0] and host in lines[0]


def test_python_m_bot_sandbox_still_starts_the_sandbox_with_its_guard(sandbox_database: Path) -> None:
    """The documented `python -m bot sandbox` reaches the sandbox's own command (an entry point)."""
    def bot(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "bot", *args], cwd=PROJECT_ROOT,
                              env=sandbox_env(sandbox_database), capture_output=True, text=True, timeout=60)

    assert re.search(r"^\s+sandbox\s", bot("--help").stdout, re.MULTILINE)
    assert "--allow-any-database" in bot("sandbox", "--help").stdout
    refused = bot("sandbox", "--host", "0.0.0.0", "--port", str(free_port()))
    assert refused.returncode == 2, refused.stdout + refused.stderr
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and "loopback" in lines[0] and "0.0.0.0" in lines[0]


def test_demo_personas_have_telegram_ids_no_real_account_can_have_and_the_bot_answers_them(
        demo_sandbox: RunningSandbox) -> None:
    personas = demo_sandbox.get_json("/sandbox/api/personas")
    roles = {p["role"] for p in personas}
    assert roles == {"citizen", "feature_phone", "receptionist", "volunteer", "station"}
    # The Bot API: user ids have at most 52 significant bits. JavaScript numbers are exact below 2**53.
    assert all(2**52 <= p["user_id"] < 2**53 for p in personas)
    for persona in (next(p for p in personas if p["role"] == role)
                    for role in ("citizen", "receptionist", "station")):
        user_id = persona["user_id"]
        status, _ = demo_sandbox.post_json(f"/sandbox/api/chats/{user_id}/send", {"text": "/start"})
        assert status == 200
        events = demo_sandbox.get_json(f"/sandbox/api/chats/{user_id}/events?after=0&timeout=20")["events"]
        deadline = time.monotonic() + 20
        while not any(e.get("message", {}).get("from", {}).get("is_bot") for e in events):
            assert time.monotonic() < deadline, events
            events = demo_sandbox.get_json(f"/sandbox/api/chats/{user_id}/events?after=0&timeout=5")["events"]
        answer = next(e["message"] for e in events if e.get("message", {}).get("from", {}).get("is_bot"))
        assert answer["chat"]["id"] == user_id and answer["text"]


def test_a_web_page_elsewhere_cannot_drive_the_sandbox(demo_sandbox: RunningSandbox) -> None:
    port = demo_sandbox.port
    citizen = next(p for p in demo_sandbox.get_json("/sandbox/api/personas") if p["role"] == "citizen")
    send = f"/sandbox/api/chats/{citizen['user_id']}/send"
    # DNS rebinding: the attacker's name resolved to 127.0.0.1, and the browser says so in Host.
    assert demo_sandbox.request("GET", "/sandbox/api/personas", Host=f"evil.example:{port}")[0] == 403
    assert demo_sandbox.request("GET", "/sandbox/api/personas", Host="127.0.0.1:1")[0] == 403
    assert demo_sandbox.request("GET", "/", Host="127.0.0.1")[0] == 403
    # Another site's script or form: its Origin, or a form's content type.
    assert demo_sandbox.post_json(send, {"text": "/start"}, Origin="http://evil.example")[0] == 403
    assert demo_sandbox.post_json(send, {"text": "/start"}, Origin="null")[0] == 403
    for form in ("application/x-www-form-urlencoded", "text/plain", "multipart/form-data; boundary=x"):
        status, _ = demo_sandbox.request("POST", send, b'{"text": "/start"}', Content_Type=form,
                                         **demo_sandbox.own())
        assert status == 415, form
    assert demo_sandbox.request("POST", "/sandbox/ussd", b"phone=0912345678", **demo_sandbox.own(),
                                Content_Type="application/x-www-form-urlencoded")[0] == 415
    # A script or image tag elsewhere, as the browser labels it.
    assert demo_sandbox.request("GET", "/sandbox/api/personas", **demo_sandbox.own(),
                                Sec_Fetch_Site="cross-site", Sec_Fetch_Mode="no-cors")[0] == 403
    # The emulated Bot API takes forms (python-telegram-bot sends them), but never from a page.
    bot_call = demo_sandbox.request("POST", "/bot100000001:guess/getMe", b"", **demo_sandbox.own(),
                                    Origin="http://evil.example",
                                    Content_Type="application/x-www-form-urlencoded")
    assert bot_call[0] == 403
    chat = demo_sandbox.get_json(f"/sandbox/api/chats/{citizen['user_id']}")
    assert chat["messages"] == []  # nothing of the above reached the chat
    # The page itself, opened as 127.0.0.1 or localhost, and a link followed from elsewhere.
    assert demo_sandbox.post_json(send, {"text": "/help"}, Origin=f"http://127.0.0.1:{port}")[0] == 200
    assert demo_sandbox.request("GET", "/sandbox/api/personas", Host=f"localhost:{port}")[0] == 200
    assert demo_sandbox.request("GET", "/", **demo_sandbox.own(), Sec_Fetch_Site="cross-site",
                                Sec_Fetch_Mode="navigate")[0] == 200


def test_the_sandbox_prints_no_full_personal_id_or_phone_number(demo_sandbox: RunningSandbox) -> None:
    printed = demo_sandbox.output
    assert not TWELVE_DIGITS.search(printed) and not PHONE.search(printed), printed
    masked = re.findall(r"personal ID (\d{4}\*{4}\d{4})", printed)
    personas = demo_sandbox.get_json("/sandbox/api/personas")
    full_ids = [m.group() for p in personas if p["role"] == "citizen"
                for m in [TWELVE_DIGITS.search(p["hint"])] if m]
    # Every demo resident is listed, masked; the page's list holds the details to type.
    assert masked and sorted(masked) == sorted(f"{i[:4]}****{i[-4:]}" for i in full_ids)
    assert "page" in printed and re.search(r"phone \d{4}\*{4}\d{3}, dial \*384#", printed)

