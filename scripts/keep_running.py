"""Run a command and start it again whenever it exits, until this wrapper is told to stop.

`make run` starts the web server, the worker and beat with honcho, which stops all of them as soon as one
exits: a worker killed by the OOM killer (or crashing) would take the user's library offline. The Procfile
runs the worker and beat under this wrapper instead, so honcho only ever sees them stop when it stops them.

    python scripts/keep_running.py celery -A medialib worker ...

SIGTERM or SIGINT (honcho's stop, Ctrl-C) is passed to the command, and the wrapper exits when it has.
A command that keeps failing at once is restarted after a pause that doubles up to 30 s.
"""
import signal
import subprocess
import sys
import time

FIRST_PAUSE_SECONDS = 1.0
MAX_PAUSE_SECONDS = 30.0
# A run that lasted this long was not a failure at start: the pause starts from the beginning again.
HEALTHY_RUN_SECONDS = 60.0


def main(command: list[str]) -> int:
    stopping = False
    child: subprocess.Popen | None = None

    def stop(signum, frame):
        nonlocal stopping
        stopping = True
        if child is not None and child.poll() is None:
            child.send_signal(signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    pause = FIRST_PAUSE_SECONDS
    while True:
        started = time.monotonic()
        child = subprocess.Popen(command)
        code = child.wait()
        if stopping:
            return 0
        if time.monotonic() - started >= HEALTHY_RUN_SECONDS:
            pause = FIRST_PAUSE_SECONDS
        sys.stderr.write(f"keep_running: {command[0]} exited with {code}; starting it again in {pause:.0f} s\n")
        sys.stderr.flush()
        deadline = time.monotonic() + pause
        while not stopping and time.monotonic() < deadline:
            time.sleep(0.1)
        if stopping:
            return 0
        pause = min(pause * 2, MAX_PAUSE_SECONDS)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: keep_running.py COMMAND [ARG...]")
    sys.exit(main(sys.argv[1:]))
