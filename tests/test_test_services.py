"""`scripts/test-services`, the first step of `make test`, on the machines it may meet.

The script is run for real, with a PATH that holds the basic tools and, in place of the
system's, small stand-ins for `id`, `pg_isready`, `pg_ctlcluster`, `apt-get` and `chromium`
that keep their state in files: the shared PostgreSQL server is never touched.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from core.config import PROJECT_ROOT

SCRIPT = PROJECT_ROOT / "scripts" / "test-services"
BASICS = ("seq", "sleep", "chmod")


@dataclass
class Machine:
    """A fresh machine of this kind, as the script sees it."""

    root: Path

    @property
    def bin(self) -> Path:
        return self.root / "bin"

    @property
    def calls(self) -> list[str]:
        log = self.root / "calls"
        return log.read_text().splitlines() if log.exists() else []

    def tool(self, name: str, body: str) -> None:
        path = self.bin / name
        path.write_text(f"#!/bin/sh\necho \"{name} $*\" >> {self.root}/calls\n{body}\n")
        path.chmod(0o755)

    def user(self, uid: int) -> None:
        self.tool("id", f"echo {uid}")

    def postgresql(self, *, installed: bool = True, running: bool, starts: bool = True) -> None:
        if not installed:
            return
        (self.root / "etc" / "15" / "main").mkdir(parents=True)
        if running:
            (self.root / "pg-up").touch()
        self.tool("pg_isready", f"[ -f {self.root}/pg-up ]")
        self.tool("pg_ctlcluster", f": > {self.root}/pg-up" if starts else "exit 1")

    def chromium(self) -> None:
        self.tool("chromium", "exit 0")

    def apt(self, *, lists_fresh: bool) -> None:
        """apt-get: `install chromium` works once the package lists are there (`update`)."""
        if lists_fresh:
            (self.root / "lists").touch()
        chromium = f"printf '#!/bin/sh\\nexit 0\\n' > {self.bin}/chromium; chmod 755 {self.bin}/chromium"
        self.tool("apt-get", f"""case "$1" in
  update) : > {self.root}/lists ;;
  install) [ -f {self.root}/lists ] || exit 100; {chromium} ;;
esac""")

    def run(self, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([shutil.which("bash"), str(SCRIPT)], capture_output=True, text=True, timeout=60,
                              env={"PATH": str(self.bin), "EHR_PG_CONFIG_DIR": str(self.root / "etc"),
                                   "EHR_PG_START_SECONDS": "1", **env})


@pytest.fixture
def machine(tmp_path: Path) -> Machine:
    made = Machine(tmp_path)
    made.bin.mkdir()
    for name in BASICS:
        (made.bin / name).symlink_to(shutil.which(name))
    return made


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0 and result.stdout == "", result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


def test_all_there_says_nothing_and_changes_nothing(machine: Machine) -> None:
    machine.user(1000)
    machine.postgresql(running=True)
    machine.chromium()
    result = machine.run()
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    assert not any(call.startswith(("pg_ctlcluster", "apt-get")) for call in machine.calls)


def test_as_root_it_starts_the_stopped_cluster_and_installs_chromium_updating_lists_first_if_needed(
        machine: Machine) -> None:
    machine.user(0)
    machine.postgresql(running=False)
    machine.apt(lists_fresh=False)
    result = machine.run()
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    calls = [c for c in machine.calls if c.startswith(("pg_ctlcluster", "apt-get"))]
    assert calls == ["pg_ctlcluster --skip-systemctl-redirect 15 main start",
                     "apt-get install -y -q chromium", "apt-get update -q", "apt-get install -y -q chromium"]
    assert (machine.bin / "chromium").exists()


def test_postgresql_down_without_root_stops_with_one_line_saying_how_to_start_it(machine: Machine) -> None:
    machine.user(1000)
    machine.postgresql(running=False)
    machine.chromium()
    line = one_line(machine.run())
    assert "PostgreSQL is not running" in line
    assert "pg_ctlcluster --skip-systemctl-redirect 15 main start" in line
    assert not any(call.startswith("pg_ctlcluster") for call in machine.calls)


def test_postgresql_not_installed_says_what_to_install(machine: Machine) -> None:
    machine.user(0)
    machine.postgresql(installed=False, running=False)
    machine.chromium()
    assert "apt-get install postgresql" in one_line(machine.run())


def test_a_cluster_that_will_not_start_is_named_with_where_to_look(machine: Machine) -> None:
    machine.user(0)
    machine.postgresql(running=False, starts=False)
    machine.chromium()
    line = one_line(machine.run())
    assert "did not start" in line and "/var/log/postgresql" in line


def test_chromium_missing_without_root_says_to_install_it(machine: Machine) -> None:
    machine.user(1000)
    machine.postgresql(running=True)
    machine.apt(lists_fresh=True)
    line = one_line(machine.run())
    assert "chromium" in line and "apt-get install chromium" in line
    assert not any(call.startswith("apt-get") for call in machine.calls)


def test_chromium_missing_without_apt_get_names_what_to_install(machine: Machine) -> None:
    machine.user(0)
    machine.postgresql(running=True)
    line = one_line(machine.run())
    assert "no apt-get" in line and "chromium" in line


def test_a_server_of_the_testers_choosing_is_left_to_them(machine: Machine) -> None:
    machine.user(1000)
    machine.chromium()  # and no PostgreSQL here at all
    result = machine.run(EHR_TEST_POSTGRES_URL="postgresql+asyncpg://postgres@db.internal/test")
    assert (result.returncode, result.stderr) == (0, "")
