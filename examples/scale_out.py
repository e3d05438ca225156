"""The scale-out example: two Flask-SocketIO servers on one Redis, behind
nginx with sticky sessions, and an emit-only worker.

    python examples/scale_out.py [--port 8000] [--servers 5001,5002]
        [--redis redis://127.0.0.1:6379/0] [--channel flask-socketio-example]
        [--tick 1.0]

Open the printed URL in a few tabs: each page says which server it is on,
and messages and the worker's ticks reach every page, whichever server it
is on.  Ctrl-C stops everything.  Needs nginx (``apt-get install
nginx-light``) and a Redis.
"""
import argparse
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def listening(port):
    try:
        with socket.create_connection(('127.0.0.1', port), timeout=0.5):
            return True
    except OSError:
        return False


def nginx_conf(port, servers):
    """examples/nginx.conf with this run's ports in place of its own."""
    conf = (HERE / 'nginx.conf').read_text()
    lines = '\n'.join(f'        server 127.0.0.1:{p};' for p in servers)
    conf = conf.replace('        server 127.0.0.1:5001;\n'
                        '        server 127.0.0.1:5002;', lines)
    return conf.replace('listen 127.0.0.1:8000;', f'listen 127.0.0.1:{port};')


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--port', type=int, default=8000)
    parser.add_argument('--servers', default='5001,5002',
                        help="the servers' ports, comma-separated")
    parser.add_argument('--redis', default='redis://127.0.0.1:6379/0')
    parser.add_argument('--channel', default='flask-socketio-example')
    parser.add_argument('--tick', type=float, default=1.0,
                        help="seconds between the worker's ticks")
    args = parser.parse_args()
    servers = [int(p) for p in args.servers.split(',')]
    nginx = shutil.which('nginx') or shutil.which('nginx', path='/usr/sbin')
    if nginx is None:
        sys.exit('nginx not found (apt-get install nginx-light)')
    import redis
    try:
        redis.Redis.from_url(args.redis, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        sys.exit(f'no Redis at {args.redis}: {exc}')

    queue = ['--redis', args.redis, '--channel', args.channel]
    procs = []
    prefix = tempfile.TemporaryDirectory(prefix='scale-out-nginx-')
    # the Ctrl-C of a terminal goes to the whole group: the children stop
    # with it; SIGTERM (a supervisor, a test) is passed on below
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        for n, port in enumerate(servers, 1):
            procs.append(subprocess.Popen(
                [sys.executable, str(HERE / 'scale_out_server.py'),
                 '--name', f's{n}', '--port', str(port), *queue]))
        procs.append(subprocess.Popen(
            [sys.executable, str(HERE / 'scale_out_worker.py'),
             '--interval', str(args.tick), *queue]))
        conf = Path(prefix.name) / 'nginx.conf'
        conf.write_text(nginx_conf(args.port, servers))
        procs.append(subprocess.Popen(
            [nginx, '-p', prefix.name, '-c', str(conf), '-e', 'stderr']))
        deadline = time.monotonic() + 20
        while not all(map(listening, [args.port, *servers])):
            if time.monotonic() > deadline or any(
                    p.poll() is not None for p in procs):
                sys.exit('the scale-out example did not start')
            time.sleep(0.1)
        print(f'Scale-out example on http://127.0.0.1:{args.port}/ '
              f'(servers on {", ".join(map(str, servers))})', flush=True)
        while all(p.poll() is None for p in procs):
            time.sleep(0.2)
        sys.exit('a process of the example ended')
    except KeyboardInterrupt:
        pass
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        prefix.cleanup()


if __name__ == '__main__':
    main()
