"""The scale-out example (``examples/scale_out.py``) as the README runs it:
two servers on the real Redis behind nginx with sticky sessions, and an
emit-only worker.  Official clients (Node's socket.io-client) connect
through nginx from different loopback addresses, on the client's default
transports (long-polling, then the upgrade: without sticky sessions its
requests would reach a server that does not know the session); one lands on
each server, and what one says, and the worker's ticks, reach both."""
from __future__ import annotations

import json
import queue
import shutil
import subprocess
import sys
import threading
import time

import pytest

from _peers import unique_channel
from conftest import JS, ROOT, free_port, require, stop_processes

TIMEOUT = 15.0


class NodePeer:
    """tests/js/peer.js: the official client, from ``address``."""

    def __init__(self, node, url, address):
        self.proc = subprocess.Popen(
            [node, str(JS / 'peer.js'), url, address], cwd=JS,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.lines = queue.Queue()
        self.seen = []
        self.next_id = 0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(json.loads(line))

    def wait(self, predicate, what):
        """The first message (seen or to come) that ``predicate`` takes."""
        for msg in self.seen:
            if predicate(msg):
                return msg
        deadline = time.monotonic() + TIMEOUT
        while True:
            try:
                msg = self.lines.get(
                    timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f'no {what} within {TIMEOUT}s; '
                                     f'got {self.seen}') from None
            self.seen.append(msg)
            if predicate(msg):
                return msg

    def event(self, name):
        return self.wait(lambda m: m.get('event') == name, name)['args']

    def call(self, event, *args):
        self.next_id += 1
        n = self.next_id
        self.proc.stdin.write(json.dumps({'id': n, 'event': event,
                                          'args': list(args)}) + '\n')
        self.proc.stdin.flush()
        return self.wait(lambda m: m.get('ack') == n, f'ack of {event}')[
            'args']

    def close(self):
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        stop_processes([self.proc])


@pytest.fixture
def nginx():
    found = shutil.which('nginx') or shutil.which('nginx', path='/usr/sbin')
    require(found is not None, 'the scale-out test needs nginx '
            '(apt-get install nginx-light; .ci/run installs it when missing)')
    return found


def test_scale_out_example_two_servers_nginx_and_a_worker(node, nginx,
                                                          redis_url):
    port, servers = free_port(), [free_port(), free_port()]
    example = subprocess.Popen(
        [sys.executable, str(ROOT / 'examples' / 'scale_out.py'),
         '--port', str(port), '--servers', ','.join(map(str, servers)),
         '--redis', redis_url, '--channel', unique_channel('scale-out'),
         '--tick', '0.2'],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
    peers = {}
    tried = []
    try:
        # the servers print their own lines too (the same stdout)
        ready = f'Scale-out example on http://127.0.0.1:{port}/'
        lines = []
        while not (lines and lines[-1].startswith(ready)):
            line = example.stdout.readline()
            assert line, f'the example ended: {lines}'
            lines.append(line)
        url = f'http://127.0.0.1:{port}'
        # nginx hashes the client's address: try addresses until one
        # client is on each server
        for n in range(2, 40):
            if len(peers) == 2:
                break
            peer = NodePeer(node, url, f'127.0.0.{n}')
            tried.append(peer)
            assert peer.event('open') == ['polling']
            server = peer.event('hello')[0]['server']
            assert peer.event('upgrade') == ['websocket']
            peers.setdefault(server, peer)
        assert sorted(peers) == ['s1', 's2'], [p.seen for p in tried]
        one, two = peers['s1'], peers['s2']
        for server, peer in peers.items():
            assert peer.call('join', 'lobby') == [
                {'server': server, 'room': 'lobby'}]
        assert one.call('say', {'room': 'lobby', 'text': 'hi from s1'}) == \
            [True]
        said = two.event('said')[0]
        assert (said['server'], said['text']) == ('s1', 'hi from s1')
        assert two.call('say', {'room': 'lobby', 'text': 'hi from s2'}) == \
            [True]
        assert one.wait(lambda m: m.get('event') == 'said' and
                        m['args'][0]['server'] == 's2', 'said from s2')
        # the worker's ticks reach the clients of both servers
        for peer in peers.values():
            assert peer.event('tick')[0]['n'] >= 1
    finally:
        for peer in tried:
            peer.close()
        stop_processes([example])
    assert example.returncode == 0
