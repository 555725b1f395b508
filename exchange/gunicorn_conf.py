"""gunicorn's settings for the web process: ``gunicorn exchange.wsgi -c
python:exchange.gunicorn_conf``. The Procfile, the Docker image and ``devtools.processes``
(so the tests and the benchmarks) all start gunicorn with it; the address, the number of
workers and threads and the access log stay on their command lines.

Keep-alive connections are spread over the workers: with ``reuse_port`` each worker binds
a listening socket of its own on the address, with SO_REUSEPORT, as it boots (gunicorn
does this itself when ``reuse_port`` is on), and the master holds none. The kernel hands
each new connection to one of the workers' sockets, so no worker's accept loop can take
them all, and no queue is left that nobody accepts from. A worker that is replaced binds
again as it boots; the connections still queued on the socket of a worker that dies are
reset (clients retry them). A keep-alive connection stays with the worker that accepted
it for its whole life.

Nothing is shared across the fork: the application is imported by each worker after it is
forked (``preload_app`` off), so every worker makes its own database connections and its
own Redis client (``exchange.redis.get_redis``); ``post_fork`` drops a Redis client the
master could have made all the same.

Only the standard library is imported here: the master never loads Django.
"""

from __future__ import annotations

import os
import sys

workers = int(os.environ.get("WEB_WORKERS", "3"))
threads = int(os.environ.get("WEB_THREADS", "4"))
worker_class = "gthread"
reuse_port = True
preload_app = False
timeout = 30
logger_class = "exchange.gunicorn_logging.RedactingLogger"


def post_fork(server, worker) -> None:
    """A worker starts without the master's Redis client, if the master made one."""
    redis_module = sys.modules.get("exchange.redis")
    if redis_module is not None:
        redis_module.get_redis.cache_clear()
