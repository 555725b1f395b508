"""Development tooling shared by the tests, the benchmarks and ``manage.py regtest``.

- ``devtools.regtest``: the regtest stack (bcoin, monerod, two monero-wallet-rpc) the
  project starts by itself, and mining and paying on it; ``devtools.regtest_nodes`` holds
  its processes (what runs for each chain, pid files, starting and stopping one) and
  ``devtools.regtest_wallets`` its wallets' clients and funding them.
- ``devtools.processes``: the engine's programs (Celery workers and beats, gunicorn, the
  chain listener) started as subprocesses of one isolated environment, and waiting on them.
- ``devtools.slots``: the environment of an isolated slot (its ports, Redis database and
  regtest data), for a test run or the benchmarks.
- ``devtools.load``: the load generator (fixed rate and saturation: ``load.loops``, with
  ``load.wrk``, on ``load.client``, reported by ``load.report``) and a simple latency
  measure (``load.measure``).

None of the product packages imports it; the development stack's management command
(``wallets/management/commands/regtest.py``) and the demo set-up (``bootstrap_demo``) are
thin wrappers around ``devtools.regtest``.
"""
