"""python-socketio's Admin UI (``socketio.server.instrument()``) on this
package, every async mode, over real sockets: an admin client on
``/admin`` sees the sockets, their events, rooms and disconnections, the
pings' refreshes, and statistics that count the packets of polling and of
WebSocket clients (this package's polling POSTs and native WebSockets report
them to it, as python-engineio's patched methods do on stock)."""
import sys

import pytest

from _live import Recorder
from _peers import SERVERS
from conftest import InOrderClient, free_port, wait_until

CALLS = 20


@pytest.fixture(params=['threading', 'gevent', 'eventlet'])
def url(request, spawn_server):
    if request.param == 'threading':
        python = sys.executable
    else:
        python = request.getfixturevalue('async_python')
    port = free_port()
    spawn_server(python, SERVERS / 'admin_app.py', port, request.param)
    return f'http://127.0.0.1:{port}'


class Admin(Recorder):
    """A client of the Admin UI's namespace, recording what it is sent."""

    def __init__(self, url):
        super().__init__()
        self.client = InOrderClient(reconnection=False)
        self.client.on('*', self.add, namespace='/admin')
        self.client.connect(url, namespaces=['/admin'],
                            transports=['websocket'], wait_timeout=10)

    received = Recorder.of


@pytest.fixture
def admin(url):
    admin = Admin(url)
    yield admin
    admin.client.disconnect()


def totals(admin):
    """The aggregated events of every ``server_stats`` so far, summed."""
    out = {}
    for (stats,) in admin.received('server_stats'):
        for event in stats['aggregatedEvents']:
            out[event['type']] = out.get(event['type'], 0) + event['count']
    return out


def test_admin_ui_sees_sockets_events_rooms_and_packets(url, admin, peers):
    assert wait_until(lambda: admin.received('config'))
    users = {transport: peers(url, transports=[transport], name=transport)
             for transport in ('websocket', 'polling')}
    for user in users.values():
        for n in range(CALLS):
            assert user.call('hello', n) == 'ok'
    sids = {user.sid for user in users.values()}

    def connected(sid):
        return [s for (s, _) in admin.received('socket_connected')
                if s['id'] == sid and s['nsp'] == '/']

    for transport, user in users.items():
        # one on connecting, more with the pings (every second here)
        assert wait_until(lambda: len(connected(user.sid)) >= 2), \
            admin.received('socket_connected')
        latest = connected(user.sid)[-1]
        assert latest['transport'] == transport
        assert set(latest['rooms']) == {user.sid, 'r1'}

    # what the admin is sent goes on its own connection: it may trail
    def received():
        return [(sid, data) for (nsp, sid, data, _)
                in admin.received('event_received') if nsp == '/']

    assert wait_until(lambda: len(received()) == 2 * CALLS), received()
    assert {sid for sid, _ in received()} == sids
    assert ['hello', 0] in [data for _, data in received()]
    assert wait_until(lambda: {
        sid for (nsp, sid, data, _) in admin.received('event_sent')
        if nsp == '/' and data[0] == 'reply'} == sids)
    assert wait_until(lambda: {
        (room, sid) for (nsp, room, sid, _) in admin.received('room_joined')
        if nsp == '/'} >= {('r1', sid) for sid in sids})
    # each call is a packet in and two out (the reply, the ack) at least
    assert wait_until(lambda: all(
        totals(admin).get(kind, 0) >= 2 * CALLS
        for kind in ('packetsIn', 'packetsOut'))), totals(admin)
    assert totals(admin)['bytesIn'] > 0 and totals(admin)['bytesOut'] > 0
    stats = admin.received('server_stats')[-1][0]
    assert stats['clientsCount'] == 3
    assert stats['pollingClientsCount'] == 1
    for user in users.values():
        user.close()

    def gone():
        return {sid for (nsp, sid, _, _)
                in admin.received('socket_disconnected') if nsp == '/'}

    # (a polling client's close may not reach the server: see admin_app)
    assert wait_until(lambda: gone() == sids, 15), (gone(), users)
