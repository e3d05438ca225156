"""The green drivers: connections watched by the hub's own event loop
(gevent's or eventlet's), what they receive handled in greenlets.

The watchers' callbacks run in the hub, so nothing they call may wait:
a connection's lock is a native lock that no greenlet holds across a
switch (its sections are non-blocking system calls and bookkeeping), so
the hub never finds it held for more than a moment, even by an OS thread
writing to the connection.  Such a thread (a callback of a C library, a
thread pool) writes to the socket itself; only what it asks of the hub
(watch for writability, spawn the handler, close) is handed to the hub,
thread-safely.
"""
from __future__ import annotations

import collections
import errno
import logging
import os
import socket
import time

from . import drivers
from .connection import read_buffer

logger = logging.getLogger('flask_socketio')


class _GreenLoop:
    """What both hubs share: calls from other OS threads go to the hub;
    each connection has a read and a write watcher, on or off as its mask
    says."""

    READ = 1
    WRITE = 2
    #: the greenlet whose writes wait for :meth:`_uncork` (see ``cork``)
    corking = None
    #: who is running (the current greenlet): set by each hub's driver
    running = None

    def __init__(self, get_ident, allocate_lock):
        self._get_ident = get_ident
        self._thread = get_ident()
        self.Lock = allocate_lock
        self._watchers = {}   # conn: [read watcher, write watcher]
        self.read_buffer = read_buffer()
        self.workers = self
        self._jobs = collections.deque()  # for the worker greenlets
        self._idle = []                   # parked worker greenlets
        self._waking = 0                  # workers resumed, not yet running
        self._corked = collections.deque()  # connections to flush
        self._uncorking = False             # the flush is scheduled
        drivers.append(self)

    @classmethod
    def current(cls):
        """The loop of this thread's hub, made on first use."""
        hub = cls._hub()
        loop = getattr(hub, '_flask_socketio_loop', None)
        if loop is None:
            loop = hub._flask_socketio_loop = cls()
        return loop

    def __len__(self):
        return len(self._watchers)

    @staticmethod
    def forget(fd: int) -> None:
        """Nothing to drop of a descriptor the hub stops seeing."""

    def _in_hub_thread(self) -> bool:
        return self._get_ident() == self._thread

    # -- what a connection asks (all but submit under its lock) -------------

    def add(self, conn, mask: int) -> None:
        # from the request's greenlet, in the hub's thread
        self._watchers[conn] = [None, None]
        self._apply(conn, mask)

    def modify(self, conn, mask: int) -> None:
        if self._in_hub_thread():
            self._apply(conn, mask)
        else:
            self._soon(self._resync, conn)

    def discard(self, conn) -> None:
        if self._in_hub_thread():
            self._close(conn)
        else:
            # the peer hears of it now; the watchers and the descriptor
            # are the hub's to end
            try:
                conn.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._soon(self._close, conn)

    def watch_deadline(self, conn) -> None:
        self._in_hub(self._start_timer, conn)

    def submit(self, job) -> None:
        """Run ``job`` in a worker greenlet: an idle one, or a new one."""
        self._in_hub(self._hand, job)

    @staticmethod
    def detach() -> None:
        """Nothing: a busy worker greenlet holds nothing others wait for."""

    def cork(self) -> None:
        """Called in a job handling an event read with more behind it: in
        the hub's thread, what its greenlet writes waits until the hub
        runs again (the events behind it handled meanwhile, unless it
        waits), then leaves in one write per connection."""
        if self._in_hub_thread():
            self.corking = self.running()
            if not self._uncorking:
                self._uncorking = True
                self._callback(self._uncork)

    def defer(self, conn) -> bool:
        """Whether ``conn`` (its lock held) may keep a write of this
        greenlet for :meth:`_uncork`."""
        if self.corking is not self.running() or \
                not self._in_hub_thread():
            return False
        self._corked.append(conn)
        return True

    def _uncork(self) -> None:
        self.corking = None
        self._uncorking = False
        corked = self._corked
        while corked:
            self._guarded(corked.popleft().uncork)

    def _in_hub(self, call, *args) -> None:
        """``call(*args)`` now in the hub's thread, soon from another."""
        if self._in_hub_thread():
            call(*args)
        else:
            self._soon(call, *args)

    # -- in the hub's thread ---------------------------------------------------

    #: worker greenlets kept parked for the next jobs; more end when idle
    MAX_IDLE = 32

    def _hand(self, job) -> None:
        self._jobs.append(job)
        if not self._waking:
            self._wake()

    def _wake(self) -> None:
        # a parked worker is resumed where a new greenlet would cost its
        # creation, and a Python data stack mapped and unmapped; one on
        # its way takes every job queued by then
        self._waking += 1
        while self._idle:
            worker = self._idle.pop()
            if not worker.dead:
                self._callback(worker.switch)
                return
        self._spawn(self._work)

    def _work(self) -> None:
        me = self.running()
        self._waking -= 1
        while True:
            while self._jobs:
                job = self._jobs.popleft()
                if self._jobs and not self._waking:
                    self._wake()  # the rest go on should this job block
                try:
                    job()
                except Exception:
                    self._guarded(logger.exception, 'worker job failed')
                job = None
            if len(self._idle) >= self.MAX_IDLE:
                return
            self._idle.append(me)
            self._park()  # to the hub, until _wake resumes it
            if me in self._idle:
                self._idle.remove(me)  # woken by something else
            else:
                self._waking -= 1

    def _apply(self, conn, mask: int) -> None:
        watchers = self._watchers.get(conn)
        if watchers is None:
            return
        for i, bit in enumerate((self.READ, self.WRITE)):
            if mask & bit and watchers[i] is None:
                watchers[i] = self._watch(conn, bit)
            elif not mask & bit and watchers[i] is not None:
                self._unwatch(watchers[i])
                watchers[i] = None

    def _resync(self, conn) -> None:
        with conn.lock:
            if not conn.closed:
                self._apply(conn, conn.mask)

    def _close(self, conn) -> None:
        for watcher in self._watchers.pop(conn, ()):
            if watcher is not None:
                self._unwatch(watcher)
        try:
            conn.sock.close()
        except OSError:
            pass

    def _start_timer(self, conn) -> None:
        self._later(max(0.0, conn.deadline - time.monotonic()),
                    self._expire, conn)

    @staticmethod
    def _expire(conn) -> None:
        if not conn.closed:
            conn.fail('close timed out')

    def _ready(self, conn, writable: bool) -> None:
        try:
            if writable:
                conn.on_writable()
            else:
                conn.on_readable()
        except Exception:
            self._guarded(logger.exception,
                          'connection %d failed in the loop', conn.fd)
            self._guarded(conn.fail, 'internal error')

    @staticmethod
    def _guarded(call, *args) -> None:
        # an error must not reach the hub, which would print it and go on;
        # logging it may fail too, in the hub (a handler's contended lock)
        try:
            call(*args)
        except Exception:
            try:
                logger.exception('the transport loop caught an error')
            except Exception:
                pass


class GeventLoop(_GreenLoop):
    """gevent's hub: libev (or libuv) watchers, and the loop's own
    thread-safe callbacks."""

    def __init__(self):
        import gevent
        from gevent import monkey
        super().__init__(monkey.get_original('_thread', 'get_ident'),
                         monkey.get_original('_thread', 'allocate_lock'))
        self._spawn = gevent.spawn_raw  # no Greenlet object: none is kept
        self.running = gevent.getcurrent
        self._park = gevent.get_hub().switch
        self._loop = gevent.get_hub().loop
        try:
            self._epoll = monkey.get_original('select', 'epoll')
        except AttributeError:
            self._epoll = None  # forget() then finds no epoll loop

    @staticmethod
    def _hub():
        import gevent
        return gevent.get_hub()

    def forget(self, fd: int) -> None:
        """Drop ``fd`` from the hub's epoll set.  libev leaves a
        descriptor registered after its watchers stop; once the number
        points elsewhere (see ``handshake.take_over``) the connection,
        alive under its new number, would still be reported under the old
        one, and libev would rebuild its whole set at the first such
        event."""
        try:
            epoll = self._epoll.fromfd(os.dup(self._loop.fileno()))
        except (AttributeError, OSError, TypeError, ValueError):
            return  # not an epoll loop (fileno() may be None)
        try:
            epoll.unregister(fd)
        except OSError:
            pass  # not registered
        finally:
            epoll.close()

    def _soon(self, call, *args) -> None:
        self._loop.run_callback_threadsafe(self._guarded, call, *args)

    def _callback(self, call) -> None:
        self._loop.run_callback(call)

    def _watch(self, conn, bit):
        watcher = self._loop.io(conn.fd, bit)  # libev's EV_READ, EV_WRITE
        watcher.start(self._ready, conn, bit == self.WRITE)
        return watcher

    @staticmethod
    def _unwatch(watcher) -> None:
        watcher.stop()
        watcher.close()

    def _later(self, delay, call, *args) -> None:
        timer = self._loop.timer(delay)

        def fire():
            timer.close()
            self._guarded(call, *args)
        timer.start(fire)


class EventletLoop(_GreenLoop):
    """eventlet's hub: its listeners and timers; other OS threads wake it
    through a pipe it listens on."""

    def __init__(self):
        import eventlet
        import eventlet.hubs
        from eventlet import patcher
        thread = patcher.original('_thread')
        super().__init__(thread.get_ident, thread.allocate_lock)
        self._os = patcher.original('os')
        self._spawn = eventlet.spawn_n
        self.running = eventlet.getcurrent
        self._hub = eventlet.hubs.get_hub()
        self._park = self._hub.switch
        self._calls = collections.deque()
        self._wake_r, self._wake_w = self._os.pipe()
        self._os.set_blocking(self._wake_r, False)
        self._os.set_blocking(self._wake_w, False)
        self._hub.add(self._hub.READ, self._wake_r, self._woken,
                      self._nothing, self._nothing)

    @staticmethod
    def _hub():
        import eventlet.hubs
        return eventlet.hubs.get_hub()

    @staticmethod
    def _nothing(*args) -> None:
        pass

    def _soon(self, call, *args) -> None:
        self._calls.append((call, args))
        try:
            self._os.write(self._wake_w, b'.')
        except BlockingIOError:
            pass  # the hub has wake-ups enough waiting

    def _callback(self, call) -> None:
        self._hub.schedule_call_global(0, call)

    def _woken(self, fd) -> None:
        # nothing may raise here: eventlet would drop this listener, and
        # every later hand-off with it
        try:
            while self._os.read(self._wake_r, 4096):
                pass
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EWOULDBLOCK):
                self._guarded(logger.warning, 'transport wake-up pipe: %s',
                              exc)
        while self._calls:
            call, args = self._calls.popleft()
            self._guarded(call, *args)

    def _watch(self, conn, bit):
        writable = bit == self.WRITE
        return self._hub.add(
            self._hub.WRITE if writable else self._hub.READ, conn.fd,
            lambda fd: self._ready(conn, writable), self._nothing,
            self._nothing)

    def _unwatch(self, listener) -> None:
        self._hub.remove(listener)

    def _later(self, delay, call, *args) -> None:
        self._hub.schedule_call_global(delay, self._guarded, call, *args)
