"""A Flask app whose session key is a rotator-managed secret.

Flask's session interface takes the keyring from
`rotator.client.SecretReader` (cached, refreshed when the secret falls due)
as ``SECRET_KEY`` and ``SECRET_KEY_FALLBACKS`` each time it signs or checks
a cookie: a session cookie signed before a rotation keeps working after it,
until ``keep_previous`` more rotations have passed.

Run it beside `make demo` (in another terminal):

    VAULT_ADDR=http://127.0.0.1:8200 VAULT_TOKEN=root \\
        .venv/bin/flask --app examples/flask_app/app.py run --port 5000
    curl -c /tmp/jar -X POST localhost:5000/login/alice
    curl -b /tmp/jar localhost:5000/whoami      # still alice after the next rotation

Settings (environment): VAULT_ADDR, VAULT_TOKEN, SESSION_KEY_PATH (default
demo/web/session), SESSION_KEY_MOUNT (default secret), KEY_REFRESH_SECONDS
(default 60: the longest a cached keyring is used).
"""

from __future__ import annotations

import os

import hvac
from flask import Flask, session

from rotator.client import SecretReader, flask_session_interface


def create_app() -> Flask:
    app = Flask(__name__)
    reader = SecretReader(
        hvac.Client(url=os.environ["VAULT_ADDR"], token=os.environ["VAULT_TOKEN"]),
        os.environ.get("SESSION_KEY_PATH", "demo/web/session"),
        mount=os.environ.get("SESSION_KEY_MOUNT", "secret"),
        refresh_interval=float(os.environ.get("KEY_REFRESH_SECONDS", "60")),
    )

    app.session_interface = flask_session_interface(reader)

    @app.post("/login/<name>")
    def login(name: str) -> dict[str, object]:
        session["user"] = name
        return {"user": name, "key_version": reader.keyring().version}

    @app.get("/whoami")
    def whoami() -> tuple[dict[str, object], int]:
        user = session.get("user")
        if user is None:
            return {"error": "no valid session"}, 401
        return {"user": user, "key_version": reader.keyring().version}, 200

    @app.get("/keys")
    def keys() -> dict[str, object]:
        """Which key version the app uses (key ids only, never values)."""
        ring = reader.keyring()
        return {"version": ring.version, "kids": [key.kid for key in ring.keys]}

    return app


app = create_app()
