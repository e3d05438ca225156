"""The threading driver: an epoll loop for every connection of the
process, and the worker threads that run what the loop cannot.

The thread leading the loop reads, feeds the protocol core, and runs what
the reads complete (the events' handlers included) itself, one after
another, as Node's loop does: no hand-off to another thread, no GIL
passed back and forth.  A handler that may block for long is the
exception: one that waits for an acknowledgement or sleeps through the
server (``call()``, ``socketio.sleep()``) hands the loop to another thread
first (:func:`hand_over`), and a watchdog hands it over from any job that
has run for :attr:`Loop.RESCUE_AFTER` seconds (a job that computes all
along: :attr:`Loop.RESCUE_COMPUTING_AFTER`), so the other connections
go on while it runs.  The thread it leaves then ends its job and goes
back to the pool.  Workers are started when every one is busy and end
after a while idle, so their number follows the handlers blocking at once,
not the clients connected.
"""
from __future__ import annotations

import collections
import functools
import logging
import select
import threading
import time

from . import drivers
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
        own.  Once per job."""
        if getattr(self._detached, 'now', False):
            return
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


class _Leader:
    """One thread's lead of the loop: what it runs after each read, and
    since when it has been running one (0.0: it is not)."""

    __slots__ = ('ident', 'jobs', 'busy_since')

    def __init__(self):
        self.ident = None
        self.jobs = collections.deque()
        self.busy_since = 0.0


class Loop:
    """The epoll loop.  Connections call :meth:`add`, :meth:`modify` and
    :meth:`discard` under their own lock; epoll takes them from any
    thread."""

    READ = select.EPOLLIN if hasattr(select, 'EPOLLIN') else 1
    WRITE = select.EPOLLOUT if hasattr(select, 'EPOLLOUT') else 4
    TICK = 0.25  # seconds between checks of closing connections' deadlines
    #: seconds a job may run on the loop's thread before another thread
    #: takes the loop over, when the job waits (sleeps, blocks in a call)
    RESCUE_AFTER = 0.01
    #: the same for a job that computes all along (a broadcast to
    #: thousands): another thread would only wait for the GIL it holds,
    #: so it is given longer
    RESCUE_COMPUTING_AFTER = 0.05
    Lock = threading.Lock  # what a connection's lock is
    #: who is running: the thread (a green driver's: the greenlet)
    running = staticmethod(threading.get_ident)

    _instance = None
    _instance_lock = threading.Lock()

    @classmethod
    def shared(cls) -> 'Loop':
        """The process's loop, started on first use."""
        with cls._instance_lock:
            if cls._instance is None:
                cls._instance = cls()
            return cls._instance

    #: the thread whose writes wait for :meth:`_uncork` (see ``cork``)
    corking = None

    def __init__(self):
        self._epoll = select.epoll()
        self._corked = collections.deque()  # connections to flush
        self._connections = {}
        self._deadlines = []
        self._deadline_lock = threading.Lock()
        self.read_buffer = read_buffer()
        self.workers = Workers()
        self._lead_lock = threading.Lock()
        self._leader = _Leader()
        self._busy = threading.Event()  # the watchdog watches while set
        self.workers.run_now(functools.partial(self._run, self._leader))
        threading.Thread(target=self._watch_leader,
                         name='flask-socketio-watchdog', daemon=True).start()
        drivers.append(self)

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

    def submit(self, job) -> None:
        """Run ``job`` soon: on the loop's thread, after what it is doing,
        when the loop's thread asks (a job that then runs too long hands
        the ones queued behind it to workers, see :meth:`_promote`); on a
        worker otherwise."""
        leader = self._leader
        if leader.ident == threading.get_ident():
            leader.jobs.append(job)
            if self._leader is not leader:
                # handed over meanwhile: _promote may have moved the queue
                # before this append
                self._to_workers(leader)
        else:
            self.workers.submit(job)

    def cork(self) -> None:
        """Called in a job handling an event read with more behind it: on
        the loop's thread, what its handlers write waits until the jobs of
        that read are done, then leaves in one write per connection."""
        ident = threading.get_ident()
        if self._leader.ident == ident:
            self.corking = ident
            if self._leader.ident != ident:
                self.corking = None  # handed over meanwhile

    def defer(self, conn) -> bool:
        """Whether ``conn`` (its lock held) may keep a write of this thread
        for :meth:`_uncork`."""
        if self.corking != threading.get_ident():
            return False
        self._corked.append(conn)
        # False if the loop was handed over meanwhile (its flush may have
        # come before the append: the connection then writes now)
        return self.corking == threading.get_ident()

    def _uncork(self) -> None:
        self.corking = None
        corked = self._corked
        while corked:
            try:
                conn = corked.popleft()
            except IndexError:
                return  # another thread flushed it meanwhile
            self._guarded(conn.uncork)

    def detach(self) -> None:
        """The calling job goes on with an app's handler: on a worker, see
        ``Workers.detach``; on the loop's thread, the watchdog sees to
        it."""
        if self._leader.ident != threading.get_ident():
            self.workers.detach()

    def hand_over(self) -> None:
        """The calling job is about to wait: if it runs on the loop's
        thread, another thread takes the loop over now."""
        leader = self._leader
        if leader.ident == threading.get_ident() and leader.busy_since:
            self._promote(leader)

    # -- the loop's thread -----------------------------------------------------

    def _run(self, leader: _Leader) -> None:
        leader.ident = threading.get_ident()
        self.workers.detach()  # as long as it leads: not a worker's job
        hangup = select.EPOLLHUP | select.EPOLLERR
        while self._leader is leader:
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
                if not self._settle(leader):
                    return  # what is left of ``ready``: the next leader's
            if self._deadlines:
                self._guarded(self._check_deadlines)
                if not self._settle(leader):
                    return
            self._guarded(self.workers.unstick)

    def _settle(self, leader: _Leader) -> bool:
        """Run the jobs queued, and write what they held back, until
        neither is left (a flush may queue a job: a connection found
        lost); False if the loop was handed over meanwhile."""
        while True:
            if leader.jobs and not self._run_jobs(leader):
                return False
            if not self.corking:
                return True
            self._uncork()

    def _run_jobs(self, leader: _Leader) -> bool:
        """Run what the last read completed; False if the loop was handed
        over meanwhile (what is left then goes to workers)."""
        while leader.jobs:
            try:
                job = leader.jobs.popleft()
            except IndexError:
                break  # moved to workers meanwhile (see submit)
            leader.busy_since = time.monotonic()
            if not self._busy.is_set():
                self._busy.set()
            try:
                job()
            except BaseException:
                logger.exception('worker job failed')
            finally:
                leader.busy_since = 0.0
            job = None
            if self._leader is not leader:
                self._to_workers(leader)
                return False
        return True

    def _promote(self, leader: _Leader) -> None:
        """Another thread leads the loop from now on (``leader``'s ends
        when its job does)."""
        with self._lead_lock:
            if self._leader is not leader:
                return
            self._leader = _Leader()
            self.workers.run_now(functools.partial(self._run, self._leader))
        # what was queued behind the job that keeps the old leader: on
        # workers now, not after it; what its jobs wrote: sent now
        self._uncork()
        self._to_workers(leader)

    def _to_workers(self, leader: _Leader) -> None:
        """The jobs queued on a former leader, to workers."""
        while leader.jobs:
            try:
                job = leader.jobs.popleft()
            except IndexError:
                return  # taken meanwhile
            self.workers.submit(job)

    def _watch_leader(self) -> None:
        seen, seen_cpu = 0.0, None  # the last look at a job, and the CPU
        while True:                 # time of its thread then
            self._busy.wait()
            time.sleep(self.RESCUE_AFTER / 2)
            leader = self._leader
            since = leader.busy_since
            if since:
                now = time.monotonic()
                cpu = _cpu_time(leader.ident)
                if cpu is None or seen_cpu is None:
                    computing = False  # (no way to tell)
                elif since > seen:
                    computing = True  # too young to tell: one more look
                else:  # it ran all along since the last look: on the CPU?
                    computing = cpu - seen_cpu >= (now - seen) / 2
                seen, seen_cpu = now, cpu
                if now - since >= (self.RESCUE_COMPUTING_AFTER if computing
                                   else self.RESCUE_AFTER):
                    self._guarded(self._promote, leader)
            else:
                # asleep until the next job: it sets _busy again (checked
                # after clearing, should one have started in between)
                self._busy.clear()
                if self._leader.busy_since:
                    self._busy.set()

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


def _cpu_time(ident):
    """The CPU seconds thread ``ident`` has used (None where the system
    cannot tell)."""
    try:
        return time.clock_gettime(time.pthread_getcpuclockid(ident))
    except (AttributeError, OSError, TypeError):
        return None


def hand_over() -> None:
    """Before a wait in an app's handler (``call()``, ``sleep()``): the
    loop's thread, if that is where it runs, passes the loop on."""
    loop = Loop._instance
    if loop is not None:
        loop.hand_over()
