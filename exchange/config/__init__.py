"""The groups of settings that ``exchange.settings`` imports and names one by one.

``exchange.settings`` stays the one settings module (DJANGO_SETTINGS_MODULE); each module
here reads one cohesive group from the environment:

- ``env``: the environment reader (with ``.env``), the project's paths, and the parser of
  the coins' confirmation tables;
- ``cache``: Redis, and Django's cache on it;
- ``workers``: Celery (broker, limits, queues, beat, heartbeats) and Flower;
- ``coins``: one settings block per coin, and every per-coin table built from the blocks;
- ``api``: the REST API (DRF, API tokens, the OpenAPI schema);
- ``logs``: the log level and format, and applying them.
"""
