"""`python -m bot serve --workers N`: N webhook processes sharing one listening socket.

The parent binds the port once (a port in use is refused here, in one line) and starts N
`python -m bot serve` processes that inherit the socket: the kernel hands each connection to
whichever worker accepts it first. Each worker has its own event loop and database pool, and
they share everything else through the database (the inbox, the outbox, the send paces), so a
worker may take a connection, or an update another worker stored, for any chat.

The parent only supervises: SIGTERM or Ctrl+C is passed on and each worker finishes what it
holds; a worker that exits on its own stops the others and the parent exits with its code, for
the platform to restart the service (as it would restart one process).
"""

from __future__ import annotations

import errno
import logging
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Sequence

from core.config import ConfigurationError
from core.i18n import N_

log = logging.getLogger(__name__)


def listen(host: str, port: int) -> socket.socket:
    """The socket every worker accepts on, taken once: a port in use is one line (exit 2)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        listener = socket.create_server((host, port), family=family, backlog=1024)
    except OSError as error:
        if error.errno != errno.EADDRINUSE:
            raise
        raise ConfigurationError(N_("Port {port} on {host} is already in use. Stop that program, "
                                    "or choose another port: python -m bot serve --port 8090."),
                                 port=port, host=host) from None
    listener.set_inheritable(True)
    return listener


def run_workers(count: int, listener: socket.socket, worker_args: Sequence[str]) -> int:
    """Starts `count` workers on the listener and waits for them; the exit code."""
    fd = listener.fileno()
    command = [sys.executable, "-m", "bot", "serve", *worker_args, "--listen-fd", str(fd)]
    workers = {process.pid: process for process in
               (subprocess.Popen(command, pass_fds=(fd,)) for _ in range(count))}
    listener.close()  # the workers hold it now
    stopping = False
    code = 0

    def stop(_signum: int = signal.SIGTERM, _frame: object = None) -> None:
        nonlocal stopping
        stopping = True
        for process in workers.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        while workers:
            pid, status = os.wait()
            if workers.pop(pid, None) is None:
                continue
            exit_code = os.waitstatus_to_exitcode(status)
            if not stopping:
                log.error("bot worker %s exited (%s); stopping the others", pid, exit_code)
                code = exit_code or 1
                stop()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return code
