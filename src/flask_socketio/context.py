"""Functions for use inside handlers: they take the client, namespace and
server from the event being handled."""
from __future__ import annotations

import flask
from flask.globals import _cv_app, _cv_request


def _socketio():
    ctx = _cv_app.get(None)  # what flask.current_app reads, without a proxy
    if ctx is None:
        return flask.current_app.extensions['socketio']  # Flask's error
    return ctx.app.extensions['socketio']


def _request():
    ctx = _cv_request.get(None)  # what flask.request reads, likewise
    if ctx is None:
        return flask.request._get_current_object()  # Flask's error
    return ctx.request


class _EventNamespace:
    """The default of ``namespace=``: the namespace of the event being
    handled.  An explicit ``namespace=None`` means ``'/'``, as in
    Flask-SocketIO, which tells a namespace not given from ``None``."""

    def __repr__(self):
        return "<the event's namespace>"


EVENT_NAMESPACE = _EventNamespace()


def _namespace(namespace):
    if namespace is EVENT_NAMESPACE:
        return _request().namespace
    return namespace


def _target(to, room, broadcast):
    """Without ``to``/``room``/``broadcast`` a reply goes to the sender."""
    to = to if to is not None else room
    if to is None and not broadcast:
        return _request().sid
    return to


def emit(event, *args, namespace=EVENT_NAMESPACE, callback=None,
         broadcast=False, to=None, room=None, include_self=True,
         skip_sid=None, ignore_queue=False, **kwargs):
    """Emit ``event``: to the sender, or to ``to``/``room``, or with
    ``broadcast=True`` to everyone in the namespace."""
    socketio = _socketio()
    if namespace is EVENT_NAMESPACE and callback is None and to is None \
            and room is None and not broadcast and include_self \
            and skip_sid is None and not ignore_queue and \
            socketio._emit_back(event, args, _request()):
        return None
    return socketio.emit(
        event, *args,
        namespace=_namespace(namespace),
        to=_target(to, room, broadcast), include_self=include_self,
        skip_sid=skip_sid, callback=callback, ignore_queue=ignore_queue)


def send(message, json=False, namespace=EVENT_NAMESPACE, callback=None,
         broadcast=False, to=None, room=None, include_self=True,
         skip_sid=None, ignore_queue=False, **kwargs):
    """Send a ``message`` (or, with ``json=True``, a ``json``) event."""
    return _socketio().send(
        message, json=json,
        namespace=_namespace(namespace),
        to=_target(to, room, broadcast), include_self=include_self,
        skip_sid=skip_sid, callback=callback, ignore_queue=ignore_queue)


def call(event, *args, namespace=EVENT_NAMESPACE, to=None, room=None,
         timeout=60, ignore_queue=False, **kwargs):
    """Emit to the sender (or ``to``) and wait for its acknowledgement."""
    return _socketio().call(
        event, *args,
        namespace=_namespace(namespace),
        to=_target(to, room, False), timeout=timeout,
        ignore_queue=ignore_queue)


def join_room(room, sid=None, namespace=None):
    """Put the sender (or ``sid``) in ``room``."""
    _socketio().server.enter_room(sid or flask.request.sid, room,
                                  namespace=namespace
                                  or flask.request.namespace)


def leave_room(room, sid=None, namespace=None):
    """Take the sender (or ``sid``) out of ``room``."""
    _socketio().server.leave_room(sid or flask.request.sid, room,
                                  namespace=namespace
                                  or flask.request.namespace)


def close_room(room, namespace=None):
    """Remove everyone from ``room`` and delete it."""
    _socketio().server.close_room(room,
                                  namespace=namespace
                                  or flask.request.namespace)


def rooms(sid=None, namespace=None):
    """The rooms the sender (or ``sid``) is in, its own sid room included."""
    return _socketio().server.rooms(sid or flask.request.sid,
                                    namespace=namespace
                                    or flask.request.namespace)


def disconnect(sid=None, namespace=None, silent=False):
    """Disconnect the sender (or ``sid``) from the namespace.  ``silent``
    is accepted for compatibility and ignored."""
    return _socketio().server.disconnect(sid or flask.request.sid,
                                         namespace=namespace
                                         or flask.request.namespace)
