"""The scale-out example's emit-only worker: no web server and no app, only
the message queue.  What it emits reaches the clients of every server on
the same Redis and channel (here a tick to everyone, every INTERVAL s).

    python examples/scale_out_worker.py [--redis URL] [--channel NAME]
        [--interval 1.0] [--count N]
"""
import argparse
import time

from flask_socketio import SocketIO


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--redis', default='redis://127.0.0.1:6379/0')
    parser.add_argument('--channel', default='flask-socketio-example')
    parser.add_argument('--interval', type=float, default=1.0)
    parser.add_argument('--count', type=int, default=0,
                        help='stop after this many ticks (0: never)')
    args = parser.parse_args()
    socketio = SocketIO(message_queue=args.redis, channel=args.channel)
    n = 0
    while not args.count or n < args.count:
        n += 1
        socketio.emit('tick', {'n': n, 'time': time.time()})
        time.sleep(args.interval)


if __name__ == '__main__':
    main()
