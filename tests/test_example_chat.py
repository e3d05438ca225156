"""The chat example (README's main command) works over real sockets."""
import subprocess
import sys

import socketio

from conftest import ROOT, free_port, wait_for_port, wait_until


def test_chat_example_rooms_and_messages():
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / 'examples' / 'chat.py'), '--port',
         str(port)], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)
    clients = []
    try:
        wait_for_port(port, proc=proc)
        assert proc.stdout.readline().strip() == \
            f'Chat running on http://127.0.0.1:{port}/'
        inboxes = []
        for transports in (['websocket'], ['polling']):
            client = socketio.Client()
            inbox = []
            client.on('chat', inbox.append)
            client.connect(f'http://127.0.0.1:{port}', transports=transports,
                           wait_timeout=10)
            clients.append(client)
            inboxes.append(inbox)
        ann, bob = clients
        assert sorted(ann.call('join', {'name': 'ann', 'room': 'r1'},
                               timeout=10)) == sorted([ann.get_sid(), 'r1'])
        bob.call('join', {'name': 'bob', 'room': 'r1'}, timeout=10)
        ann.emit('chat', {'text': 'hello'})
        assert wait_until(lambda: len(inboxes[1]) == 1)
        assert inboxes[1] == [{'name': 'ann', 'text': 'hello'}]
        # bob moves to another room: ann's next message no longer reaches him
        bob.call('join', {'name': 'bob', 'room': 'r2'}, timeout=10)
        ann.emit('chat', {'text': 'anyone?'})
        assert wait_until(lambda: len(inboxes[0]) == 2)
        assert inboxes[0][1] == {'name': 'ann', 'text': 'anyone?'}
        assert len(inboxes[1]) == 1
    finally:
        for client in clients:
            client.disconnect()
        proc.terminate()
        proc.wait(10)
