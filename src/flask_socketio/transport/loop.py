"""The threading driver: one epoll thread for every connection of the
process, and the worker threads that run what the connections receive.

The loop thread only reads, feeds the protocol core, and flushes backlogs
the sockets could not take when they were written; it never runs
application code.  Workers are started when every one is busy and end
after a while idle, so their number follows the handlers running at once,
not the clients connected.
"""
from __future__ import annotations

import collections
import logging
import select
import threading
import time

from .connection import read_buffer

logger = logging.getLogger('flask_socketio')


class Workers:
    """A pool of daemon threads: up to ``SOFT_MAX`` are started as jobs
    come; past that, jobs wait for a free worker, and one more is started
    whenever the oldest has waited ``PATIENCE`` seconds (handlers that
    block, e.g. waiting on an acknowledgement, cannot starve the rest).
    :meth:`run_now` (the app's event handlers) wakes an idle worker or
    starts one more, past ``SOFT_MAX`` too, as a thread of their own would
    start.  Workers idle for ``IDLE_TIMEOUT`` seconds end."""

    SOFT_MAX = 16
    PATIENCE = 0.1
    IDLE_TIMEOUT = 30.0

    def __init__(self, name: str = 'flask-socketio-worker'):
        self._name = name
        self._cond = threading.Condition(threading.Lock())
        self._queue = collections.deque()  # (when queued, job)
        self._idle = 0
        self._detached = threading.local()
        self.count = 0

    def submit(self, job) -> None:
        with self._cond:
            self._queue.append((time.monotonic(), job))
            if self._idle >= len(self._queue):
                self._cond.notify()
                return
            if self.count >= self.SOFT_MAX:
                return
            self.count += 1
        self._start()

    def run_now(self, job) -> None:
        """Run ``job`` at once: on an idle worker if there is one, on a
        new one otherwise (never behind busy ones, as a thread of its own
        would be, without starting a thread each time)."""
        with self._cond:
            self._queue.append((time.monotonic(), job))
            if self._idle >= len(self._queue):
                self._cond.notify()
                return
            self.count += 1
        self._start()

    def detach(self) -> None:
        """The calling worker's job goes on with an app's handler, which
        may block for long (see ``connection.take_turn``): the worker stops
        counting toward ``SOFT_MAX`` until the job ends, and a job waiting
        gets a worker now, as it would if the handler had one of its
        own."""
        with self._cond:
            self.count -= 1
            self._detached.now = True
            if not self._queue or self._idle or self.count >= self.SOFT_MAX:
                return
            self.count += 1
        self._start()

    def unstick(self) -> None:
        """Start a worker if the oldest job has waited too long (the
        loop calls this as it goes)."""
        if not self._queue:
            return
        with self._cond:
            if not self._queue or self._idle or \
                    time.monotonic() - self._queue[0][0] < self.PATIENCE:
                return
            self.count += 1
        self._start()

    def _start(self):
        threading.Thread(target=self._work, name=self._name,
                         daemon=True).start()

    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._queue:
                    self._idle += 1
                    woken = self._cond.wait(self.IDLE_TIMEOUT)
                    self._idle -= 1
                    if not woken and not self._queue:
                        self.count -= 1
                        return
                _, job = self._queue.popleft()
            try:
                job()
            except BaseException:
                logger.exception('worker job failed')
            job = None
            if getattr(self._detached, 'now', False):
                self._detached.now = False
                with self._cond:
                    self.count += 1


class Loop:
    """The epoll loop.  Connections call :meth:`add`, :meth:`modify` and
    :meth:`discard` under their own lock; epoll takes them from any
    thread."""

    READ = select.EPOLLIN if hasattr(select, 'EPOLLIN') else 1
    WRITE = select.EPOLLOUT if hasattr(select, 'EPOLLOUT') else 4
    TICK = 0.25  # seconds between checks of closing connections' deadlines
    Lock = threading.Lock  # what a connection's lock is

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
        self.read_buffer = read_buffer()
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

    @staticmethod
    def forget(fd: int) -> None:
        """Nothing: the WSGI servers of threading mode watch no socket."""

    def discard(self, conn) -> None:
        """Stop watching ``conn`` and close its socket."""
        if self._connections.get(conn.fd) is conn:
            del self._connections[conn.fd]
            try:
                self._epoll.unregister(conn.fd)
            except OSError:
                pass
        try:
            conn.sock.close()
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
                    self._guarded(conn.fail, 'internal error')
            if self._deadlines:
                self._guarded(self._check_deadlines)
            self._guarded(self.workers.unstick)

    @staticmethod
    def _guarded(call, *args) -> None:
        # nothing may end the loop thread: every connection depends on it
        try:
            call(*args)
        except Exception:
            logger.exception('the transport loop caught an error')

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
