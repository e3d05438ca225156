"""One client's WebSocket once the transport owns it.

Writes go straight to the socket from whichever thread or greenlet sends,
under the connection's lock, when nothing is waiting before them; what
the socket does not take waits in the protocol core's bounded backlog and
leaves when the socket drains (the driver watches for writability), many
frames in one write.  While a driver's thread handles events that came
in one read, with more behind the one at hand, what they write waits too
(the driver ``corking``), and leaves once they are handled, each
connection's frames in one write (a burst of broadcasts costs a system
call per recipient, not one per frame).  Bytes read go into the core;
the events they complete are handed to the session's handler in order,
one at a time, in a job of the driver's (a worker thread, or a greenlet),
so a slow handler never holds the loop, and a client whose events pile up
is not read from until they are handled (TCP then slows the sender).

The connection asks its driver (``loop``: :mod:`.loop` or :mod:`.green`)
to watch, stop watching and close its socket under its lock, once; the
driver closes the descriptor only after it stops watching it (a green
driver, asked from another OS thread, does both later in its hub), so a
descriptor number is never watched for a connection that no longer owns
it.
"""
from __future__ import annotations

import collections
import functools
import logging
import socket
import time

from .. import _speedups

ws = _speedups.websocket
logger = logging.getLogger('flask_socketio')

#: the close code reported when the TCP connection ended without a close
#: frame (RFC 6455 section 7.1.5)
CLOSE_ABNORMAL = 1006

#: seconds a closing connection gets to take its last bytes and answer the
#: close frame before its socket is closed regardless
CLOSE_TIMEOUT = 2.0

#: bytes read per call, and joined per write when the socket drains
READ_SIZE = 256 * 1024
WRITE_SIZE = 256 * 1024


def read_buffer() -> memoryview:
    """What a driver's connections read into, one at a time (each driver
    reads in one thread): a buffer allocated once, where a ``recv`` of
    :data:`READ_SIZE` would map and unmap that much memory per read."""
    return memoryview(bytearray(READ_SIZE))


def take_turn(conn) -> bool:
    """Whether the handler of the event being handed over may run here and
    now, in place of a job started for it: True in a connection's drain
    job, which then ends after the handler, its draining handed on (what
    is left in the inbox, or arrives meanwhile, gets a job of its own,
    queued behind this one), so the handler runs as concurrently with the
    client's later events as in a job of its own, without one started
    and switched to (on the loop's thread, a handler that blocks leaves
    the queued jobs to other threads: see ``Loop.RESCUE_AFTER``).
    ``conn``: the connection whose event it is (None: not a native one)."""
    if conn is None or conn._turn is None or \
            conn._turn != conn.loop.running():
        return False
    with conn.lock:
        rest = bool(conn._inbox)
        if not rest:
            conn._draining = False
        # claimed: the drain job ends after it (cleared under the lock, or
        # it could clear the turn of a drain started meanwhile)
        conn._turn = None
    if rest:
        conn.loop.submit(conn._drain)
    conn.loop.detach()
    return True


def _cost(value) -> int:
    """What an event waiting for its handler is counted as: its bytes and
    a little for itself."""
    return 64 + (len(value) if isinstance(value, (str, bytes)) else 0)


class Connection:
    """A taken-over WebSocket, driven by a loop of :mod:`.loop` or
    :mod:`.green`.

    ``handler.ws_event(kind, value)`` gets the core's events (the
    ``EV_`` names of ``_speedups.websocket``) in order; the last is always
    ``EV_CLOSE`` with ``(code, reason)``, however the connection ended.
    An event for which ``handler.starts_job(kind, value)`` is true waits
    while ``max_jobs`` jobs its events started (:meth:`job_started`,
    :meth:`job_ended`) run; the events behind it wait with it, but those
    for which ``handler.overtakes(kind, value)`` is true.
    """

    def __init__(self, sock: socket.socket, handler, loop,
                 max_message_size: int, max_backlog: int,
                 log: logging.Logger = logger, max_jobs: int = 0):
        sock.setblocking(False)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass  # not TCP (a test's socketpair)
        self.sock = sock
        self.fd = sock.fileno()
        self.core = ws.EngineIOWebSocket(max_message_size, max_backlog)
        self.handler = handler
        self.loop = loop
        self.log = log
        self.lock = loop.Lock()  # never held across a switch or a wait
        self.closed = False         # the socket is closed: nothing more
        self.deadline = None        # when a closing connection is cut
        self.mask = 0               # what the loop watches for
        self._writing = False       # a backlog waits for the socket
        self._corked = False        # a backlog waits for the loop's flush
        #: the most that waits for the loop's flush (half the bound at most)
        self._cork_limit = min(WRITE_SIZE, max_backlog // 2)
        self._shut = False          # the write side is shut down
        self._ended = False         # EV_CLOSE is on its way
        self._out = []              # events for the handler, not yet posted
        self._warnings = []         # lines to log once the lock is released
        self._paused = False        # not read until the inbox empties
        self._inbox = collections.deque()
        self._inbox_cost = 0
        self._draining = False
        #: the thread (or greenlet) whose drain job is handing an event to
        #: the handler, which may take its turn (see take_turn)
        self._turn = None
        self._pause_at = max_message_size + 1024 * 1024
        self.max_jobs = max_jobs    # 0: no bound
        self._jobs = 0              # jobs started by its events, running
        self._held = False          # an event waits for a job to end

    # -- any thread ----------------------------------------------------------
    #
    # Each entry point collects, under the lock, the events it produces in
    # self._out (the core's, then EV_CLOSE if the connection ended), and
    # hands them to the handler after releasing it.

    def start(self, first: bytes = b'') -> None:
        """Write ``first`` (the handshake's answer and what the session
        already queued) and start reading; nothing if the connection was
        aborted before it started."""
        with self.lock:
            if self.closed:
                return
            self.mask = self.loop.READ
            self.loop.add(self, self.mask)
            self.core.unsent(first)
            self._flush()
        self._post()

    def write(self, frame) -> bool:
        """Send one frame (bytes, shared by every recipient of a
        broadcast); False once the connection is closing."""
        with self.lock:
            if self.core.closing or self.closed:
                return False
            sent = 0
            behind = self._writing or self._corked
            if not behind and self.loop.corking and self.loop.defer(self):
                self._corked = behind = True
            if self._corked and not self._writing and \
                    self.core.backlog + len(frame) > self._cork_limit:
                # what waits for the flush leaves now, this frame after it
                # (waiting, it could take the backlog over its bound)
                self._flush()
                behind = self._writing or self.closed
            if not behind:
                try:
                    sent = self.sock.send(frame)
                except (BlockingIOError, InterruptedError):
                    sent = 0
                except OSError as exc:
                    sent = -1
                    self._finish(f'connection lost ({exc})')
                if sent == len(frame):
                    return True
                if sent > 0:
                    frame = frame[sent:]
            queued = not self.closed and self.core.send(frame)
            if not queued:
                if not self.closed:
                    self._overflow()
            elif not self._writing and not self._corked:
                self._writing = True
                self._watch()
        if not queued:
            self._post()
        return queued

    def close(self, code: int = ws.CLOSE_NORMAL, reason: str = '') -> None:
        """Send a close frame after what is pending, then end the
        connection (at most :data:`CLOSE_TIMEOUT` seconds later)."""
        with self.lock:
            if self.closed or self.core.closing:
                return
            self.core.close(code, reason)
            self._closing()
            self._flush()
        self._post()

    def uncork(self) -> None:
        """The loop's flush: what waited for it is written now."""
        with self.lock:
            self._corked = False
            if not self.closed:
                self._flush()
        self._post()

    def job_started(self) -> None:
        """A job (an app's handler) started for one of its events."""
        with self.lock:
            self._jobs += 1

    def job_ended(self) -> None:
        """That job ended: an event held for it goes on."""
        with self.lock:
            self._jobs -= 1
            start = self._held and not self._draining
            if start:
                self._held = False
                self._draining = True
        if start:
            self.loop.submit(self._drain)

    def abort(self) -> None:
        """Drop the connection now, unsent bytes with it."""
        self.fail('aborted by the server')

    def fail(self, reason: str) -> None:
        """Drop the connection now (aborted, a close that timed out, a
        fault); the handler hears of it as an abnormal close."""
        with self.lock:
            self._finish(reason)
        self._post()

    # -- the loop's thread ---------------------------------------------------

    def on_readable(self) -> None:
        with self.lock:
            if self.closed:
                return
            buffer = self.loop.read_buffer
            try:
                size = self.sock.recv_into(buffer)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                self._finish(f'connection lost ({exc})')
            else:
                if not size:
                    self._finish('connection closed without a close frame')
                elif not self.core.closing:  # after a close: ignored
                    # the core copies what it keeps
                    events = self.core.receive_data(buffer[:size])
                    self._out.extend(events)
                    if events and events[-1][0] == ws.EV_CLOSE:
                        self._ended = True
                    if self.core.close_reason is not None:
                        if self.core.close_reason[1] == \
                                ws.BACKLOG_EXCEEDED:
                            self._overflow()  # its own answers overflowed
                        else:
                            self._closing()
                    self._flush()
        self._post()

    def on_writable(self) -> None:
        with self.lock:
            if not self.closed:
                self._flush()
        self._post()

    # -- under the lock --------------------------------------------------------

    def _flush(self) -> None:
        while self.core.backlog and not self.closed:
            data = self.core.data_to_send(WRITE_SIZE)
            try:
                sent = self.sock.send(data)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError as exc:
                self._finish(f'connection lost ({exc})')
                return
            if sent < len(data):
                self.core.unsent(memoryview(data)[sent:])
                if not self._writing:
                    self._writing = True
                    self._watch()
                return
        if self._writing:
            self._writing = False
            self._watch()
        if self.core.closing and not self._shut and not self.closed:
            # everything, the close frame last, is written
            self._shut = True
            try:
                self.sock.shutdown(socket.SHUT_WR)
            except OSError as exc:
                self._finish(f'connection lost ({exc})')

    def _watch(self) -> None:
        mask = (0 if self._paused else self.loop.READ) | \
            (self.loop.WRITE if self._writing else 0)
        if mask != self.mask and not self.closed:
            self.mask = mask
            self.loop.modify(self, mask)

    def _closing(self) -> None:
        if self.deadline is None:
            self.deadline = time.monotonic() + CLOSE_TIMEOUT
            self.loop.watch_deadline(self)

    def _finish(self, reason: str, code: int = CLOSE_ABNORMAL) -> None:
        """Close the socket (once), and tell the handler the connection
        ended unless the protocol already has (a close handshake)."""
        if self.closed:
            return
        self.closed = True
        self.loop.discard(self)  # unwatched and closed, now or soon
        if not self._ended:
            self._ended = True
            self._out.append((ws.EV_CLOSE, (code, reason)))

    def _overflow(self) -> None:
        code, reason = self.core.close_reason
        self._warnings.append((
            '%s: disconnected, %s: more than %d bytes waited unsent (the '
            'client does not read)', getattr(self.handler, 'sid', '?'),
            reason, self.core.max_backlog))
        self._finish(reason, code)

    # -- the handler's side --------------------------------------------------

    def _post(self) -> None:
        """Queue what the last entry point produced for the handler
        (called after releasing the lock)."""
        if self._warnings:
            with self.lock:
                warnings, self._warnings = self._warnings, []
            # not here, maybe in a green hub, where a logging lock held
            # elsewhere could not be waited for
            self.loop.submit(functools.partial(self._log, warnings))
        with self.lock:
            events, self._out = self._out, []
            if not events:
                return
            self._inbox.extend(events)
            for _, value in events:
                self._inbox_cost += _cost(value)
            if self._inbox_cost > self._pause_at and not self._paused:
                self._paused = True
                self._watch()
            start = not self._draining
            self._draining = True
        if start:
            try:
                self.loop.submit(self._drain)
            except BaseException:
                with self.lock:
                    self._draining = False
                raise

    def _overtaking(self):
        """The first event that may go before those held for a job to end
        (``handler.overtakes``: a pong, an acknowledgement a held job may
        wait for), taken out of the inbox; or None."""
        for i, (kind, value) in enumerate(self._inbox):
            if self.handler.overtakes(kind, value):
                del self._inbox[i]
                return kind, value
        return None

    def _log(self, warnings) -> None:
        for line in warnings:
            self.log.warning(*line)

    def _drain(self) -> None:
        while True:
            with self.lock:
                if not self._inbox:
                    self._draining = False
                    return
                event = self._inbox[0]
                if self.max_jobs and self._jobs >= self.max_jobs and \
                        self.handler.starts_job(*event):
                    event = self._overtaking()
                    if event is None:
                        self._held = True  # job_ended drains again
                        self._draining = False
                        return
                else:
                    self._inbox.popleft()
                kind, value = event
                if self._inbox and kind == ws.EV_MESSAGE:
                    self.loop.cork()  # more behind: their writes join
                self._inbox_cost -= _cost(value)
                if self._paused and self._inbox_cost <= self._pause_at // 2:
                    self._paused = False
                    self._watch()
                turn = None
                if kind == ws.EV_MESSAGE:
                    turn = self._turn = self.loop.running()
            try:
                self.handler.ws_event(kind, value)
            except Exception:
                self.log.exception('%s: WebSocket event %r could not be '
                                   'handled',
                                   getattr(self.handler, 'sid', '?'), kind)
            if turn is not None:
                if self._turn != turn:
                    return  # take_turn: a handler ran here, draining ended
                self._turn = None
