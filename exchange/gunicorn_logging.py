"""gunicorn's access log without the capabilities in paths (exchange.logging.redact)."""

from __future__ import annotations

from gunicorn.glogging import Logger

from exchange.logging import redact


class RedactingLogger(Logger):
    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        for key in ("r", "U", "q", "{raw_uri}e"):
            if isinstance(atoms.get(key), str):
                atoms[key] = redact(atoms[key])
        return atoms
