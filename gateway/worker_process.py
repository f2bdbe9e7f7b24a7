"""The embedded Celery worker's own process (`python -m gateway.worker_process`, started by
`gateway.worker`): one solo-pool worker with beat in a thread, so killing this one process
leaves nothing behind, and it ends when the gateway that started it goes, even by SIGKILL.

Never imported by the gateway itself (it only names this module).
"""

import ctypes
import ctypes.util
import os
import signal
import sys
import threading
import time

PARENT_ENV = "OPENCLAW_WORKER_PARENT"  # the gateway's pid, set by gateway.worker
PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int) -> None:
    """SIGTERM (a warm shutdown) once `parent` is gone: the kernel's parent-death signal on
    Linux, a thread watching the parent pid elsewhere. Exits at once if it is gone already.

    Linux sends the signal when the *thread* that forked us ends: the gateway starts workers
    from its event loop, which runs in its main thread for the life of the process."""
    libc_name = ctypes.util.find_library("c") if sys.platform.startswith("linux") else None
    if libc_name:
        libc = ctypes.CDLL(libc_name, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    else:
        threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    if os.getppid() != parent:  # it died before the signal was armed
        sys.exit(0)


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1.0)
    os.kill(os.getpid(), signal.SIGTERM)


def main() -> int:
    parent = int(os.environ.get(PARENT_ENV) or os.getppid())
    die_with_parent(parent)
    from celery.beat import EmbeddedService
    from celery.utils.nodenames import host_format

    from openclaw.celery import app

    app.loader.import_default_modules()  # django.setup() and the tasks, before beat reads them
    # A thread, not `worker --beat`'s forked process: that one outlives a killed worker.
    beat = EmbeddedService(app, thread=True, scheduler_cls=app.conf.beat_scheduler)
    if not isinstance(beat, threading.Thread):  # thread=True makes one wherever threads exist
        raise RuntimeError("Celery's embedded beat is not a thread here")
    worker = app.Worker(
        pool_cls="solo",
        concurrency=1,
        hostname=host_format("openclaw-embedded@%h"),
        loglevel="INFO",
        quiet=True,  # no banner: the gateway's log says it started
        without_gossip=True,
        without_mingle=True,
        without_heartbeat=True,
    )
    beat.start()
    try:
        worker.start()
    finally:
        beat.stop()
    return int(worker.exitcode or 0)


if __name__ == "__main__":
    sys.exit(main())
