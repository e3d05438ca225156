"""The threading driver: one epoll thread for every connection of the
process, and the worker threads that run what the connections receive.

The loop thread only reads, feeds the protocol core, and flushes backlogs
the sockets could not take when they were written; it never runs
application code.  Workers are started when every one is busy and end
after a while idle, so their number follows the handlers running at once,
not the clients connected.
"""
from __future__ import annotations

import logging
import queue
import select
import threading
import time

logger = logging.getLogger('flask_socketio')


class Workers:
    """A pool of daemon threads that grows on demand."""

    IDLE_TIMEOUT = 30.0

    def __init__(self, name: str = 'flask-socketio-worker'):
        self._name = name
        self._lock = threading.Lock()
        self._jobs = queue.SimpleQueue()
        self._idle = 0
        self.count = 0

    def submit(self, job) -> None:
        with self._lock:
            if self._idle:
                self._idle -= 1
                self._jobs.put(job)
                return
            self.count += 1
        threading.Thread(target=self._work, args=(job,), name=self._name,
                         daemon=True).start()

    def _work(self, job) -> None:
        while True:
            try:
                job()
            except BaseException:
                logger.exception('worker job failed')
            job = None
            with self._lock:
                self._idle += 1
            try:
                job = self._jobs.get(timeout=self.IDLE_TIMEOUT)
            except queue.Empty:
                with self._lock:
                    # a job submitted as the wait ended was counted for us
                    try:
                        job = self._jobs.get_nowait()
                    except queue.Empty:
                        self._idle -= 1
                        self.count -= 1
                        return


class Loop:
    """The epoll loop.  Connections call :meth:`add`, :meth:`modify` and
    :meth:`remove` under their own lock; epoll takes them from any
    thread."""

    READ = select.EPOLLIN if hasattr(select, 'EPOLLIN') else 1
    WRITE = select.EPOLLOUT if hasattr(select, 'EPOLLOUT') else 4
    TICK = 0.25  # seconds between checks of closing connections' deadlines

    _instance = None
    _instance_lock = threading.Lock()

    @classmethod
    def shared(cls) -> 'Loop':
        """The process's loop, started on first use."""
        with cls._instance_lock:
            if cls._instance is None:
                cls._instance = cls()
            return cls._instance

    def __init__(self):
        self._epoll = select.epoll()
        self._connections = {}
        self._deadlines = []
        self._deadline_lock = threading.Lock()
        self.workers = Workers()
        self.thread = threading.Thread(target=self._run,
                                       name='flask-socketio-loop',
                                       daemon=True)
        self.thread.start()

    def __len__(self):
        return len(self._connections)

    def add(self, conn, mask: int) -> None:
        self._connections[conn.fd] = conn
        self._epoll.register(conn.fd, mask)

    def modify(self, conn, mask: int) -> None:
        self._epoll.modify(conn.fd, mask)

    def remove(self, conn) -> None:
        if self._connections.get(conn.fd) is conn:
            del self._connections[conn.fd]
            try:
                self._epoll.unregister(conn.fd)
            except OSError:
                pass

    def watch_deadline(self, conn) -> None:
        with self._deadline_lock:
            self._deadlines.append(conn)

    def _run(self) -> None:
        hangup = select.EPOLLHUP | select.EPOLLERR
        while True:
            try:
                ready = self._epoll.poll(self.TICK)
            except InterruptedError:
                continue
            for fd, mask in ready:
                conn = self._connections.get(fd)
                if conn is None:
                    continue
                try:
                    if mask & self.WRITE:
                        conn.on_writable()
                    if mask & (self.READ | hangup):
                        conn.on_readable()
                except Exception:
                    logger.exception('connection %d failed in the loop', fd)
                    conn.fail('internal error')
            if self._deadlines:
                self._check_deadlines()

    def _check_deadlines(self) -> None:
        now = time.monotonic()
        due = []
        waiting = []
        with self._deadline_lock:
            for conn in self._deadlines:
                if conn.closed or conn.deadline <= now:
                    due.append(conn)
                else:
                    waiting.append(conn)
            self._deadlines = waiting
        for conn in due:
            if not conn.closed:
                conn.fail('close timed out')
