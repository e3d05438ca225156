"""The chat example (README's main command) works over real sockets: with
python-socketio's client, and as a user meets it, its page in headless
Chromium on the official socket.io client."""
import re
import shutil
import subprocess
import sys

import pytest
import socketio

from conftest import ROOT, free_port, require, wait_for_port, wait_until

EXAMPLES = ROOT / 'examples'
WAIT_MS = 20_000            # a reconnection backs off up to 5 s


def start_chat(port):
    proc = subprocess.Popen(
        [sys.executable, str(EXAMPLES / 'chat.py'), '--port', str(port)],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)
    try:
        wait_for_port(port, proc=proc)
        assert proc.stdout.readline().strip() == \
            f'Chat running on http://127.0.0.1:{port}/'
    except BaseException:
        stop(proc)
        raise
    return proc


def stop(proc):
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def test_chat_example_rooms_users_and_acks():
    port = free_port()
    proc = start_chat(port)
    clients = []
    try:
        inboxes = []
        for transports in (['websocket'], ['polling']):
            client = socketio.Client()
            inbox = {'chat': [], 'users': []}
            for event, seen in inbox.items():
                client.on(event, seen.append)
            client.connect(f'http://127.0.0.1:{port}', transports=transports,
                           wait_timeout=10)
            clients.append(client)
            inboxes.append(inbox)
        ann, bob = clients
        assert ann.call('chat', {'text': 'too soon'}, timeout=10) == \
            {'error': 'join a room first'}
        assert ann.call('join', {'name': 'ann', 'room': 'r1'}, timeout=10) \
            == {'room': 'r1', 'users': ['ann']}
        assert bob.call('join', {'name': 'bob', 'room': 'r1'}, timeout=10) \
            == {'room': 'r1', 'users': ['ann', 'bob']}
        assert wait_until(lambda: inboxes[0]['users'][-1:] == [['ann', 'bob']])
        assert ann.call('chat', {'text': 'hello'}, timeout=10) == {'ok': True}
        assert wait_until(lambda: inboxes[1]['chat'] ==
                          [{'name': 'ann', 'text': 'hello'}])
        # bob moves to another room: ann sees him go, and her next message
        # no longer reaches him
        bob.call('join', {'name': 'bob', 'room': 'r2'}, timeout=10)
        assert wait_until(lambda: inboxes[0]['users'][-1:] == [['ann']])
        ann.call('chat', {'text': 'anyone?'}, timeout=10)
        bob.call('chat', {'text': 'alone'}, timeout=10)
        assert inboxes[0]['chat'] == [] and len(inboxes[1]['chat']) == 1
        # bob comes back and leaves by disconnecting: the list follows
        bob.call('join', {'name': 'bob', 'room': 'r1'}, timeout=10)
        assert wait_until(lambda: inboxes[0]['users'][-1:] == [['ann', 'bob']])
        bob.disconnect()
        assert wait_until(lambda: inboxes[0]['users'][-1:] == [['ann']])
    finally:
        for client in clients:
            client.disconnect()
        stop(proc)


@pytest.fixture(scope='module')
def chromium():
    chromium = shutil.which('chromium')
    require(chromium is not None, "the browser test needs Debian's chromium "
            '(apt-get install chromium; .ci/run installs it when missing)')
    require((EXAMPLES / 'node_modules' / 'socket.io-client').is_dir(),
            'examples/node_modules is needed (./dev test runs npm ci there '
            'when npm is installed)')
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    require(sync_playwright is not None, 'playwright is needed (in the test '
            'extra)')
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=chromium,
                                         args=['--no-sandbox'])
        yield browser
        browser.close()


def test_chat_page_in_chromium_websocket_and_polling_tabs(chromium):
    """Two tabs, one over WebSocket and one held to long-polling, join a room
    and chat; the server restarts and both reconnect and chat again."""
    from playwright.sync_api import expect
    port = free_port()
    url = f'http://127.0.0.1:{port}/'
    proc = start_chat(port)
    errors = []
    try:
        tabs = {}
        for name, query in (('ann', ''), ('bob', '?transport=polling')):
            tab = chromium.new_context().new_page()
            tab.on('pageerror', lambda error: errors.append(error))
            tab.goto(url + query)
            tabs[name] = tab
        ann, bob = tabs['ann'], tabs['bob']
        # the page got the client from this server (the machine is offline)
        assert ann.evaluate('typeof io') == 'function'
        expect(ann.locator('#state')).to_contain_text('over websocket',
                                                      timeout=WAIT_MS)
        expect(bob.locator('#state')).to_contain_text('over polling',
                                                      timeout=WAIT_MS)
        for name, tab in tabs.items():
            tab.fill('#name', name)
            tab.fill('#room', 'r1')
            tab.click('#join-form button')
        for tab in tabs.values():
            expect(tab.locator('#users li')).to_have_text(['ann', 'bob'],
                                                          timeout=WAIT_MS)

        def chat(round_):
            for sender, receiver in ((ann, bob), (bob, ann)):
                sender_name = 'ann' if sender is ann else 'bob'
                text = f'{round_}: hello from {sender_name}'
                sender.fill('#text', text)
                sender.press('#text', 'Enter')
                expect(receiver.locator('#log')).to_contain_text(
                    f'{sender_name}: {text}', timeout=WAIT_MS)
                expect(sender.locator('#log .mine').last).to_contain_text(
                    re.compile(r'round trip \d+ ms'), timeout=WAIT_MS)

        chat('before')
        stop(proc)
        for tab in tabs.values():
            expect(tab.locator('#state')).to_contain_text('disconnected',
                                                          timeout=WAIT_MS)
        proc = start_chat(port)
        expect(ann.locator('#state')).to_contain_text('over websocket',
                                                      timeout=WAIT_MS)
        expect(bob.locator('#state')).to_contain_text('over polling',
                                                      timeout=WAIT_MS)
        # each page joined again on reconnecting: the new server knows both
        for tab in tabs.values():
            expect(tab.locator('#users li')).to_have_text(['ann', 'bob'],
                                                          timeout=WAIT_MS)
        chat('after')
        assert errors == []
    finally:
        stop(proc)
