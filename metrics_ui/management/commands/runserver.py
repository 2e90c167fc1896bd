"""``runserver`` (what ``bin/run`` starts) with TCP_NODELAY on every accepted connection.

Django's development server writes a response's headers and its body in separate ``send()`` calls. On
a kept-alive connection Nagle's algorithm then holds the body back until the client acknowledges the
headers, and clients delay that ACK by about 40 ms: every small page took 40 ms longer in the browser
than in the server (bench/runserver_latency.py). gunicorn sets TCP_NODELAY itself. This keeps the
static-files handling of django.contrib.staticfiles' runserver, which it extends; metrics_ui comes
before staticfiles in INSTALLED_APPS so that this command is the one ``manage.py runserver`` finds.
"""

import socket

from django.contrib.staticfiles.management.commands.runserver import Command as StaticFilesRunserver
from django.core.servers.basehttp import WSGIServer


class NoDelayWSGIServer(WSGIServer):
    """The development server, sending each write at once instead of waiting for the previous ACK."""

    def get_request(self):
        connection, address = super().get_request()
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection, address


class Command(StaticFilesRunserver):
    server_cls = NoDelayWSGIServer
