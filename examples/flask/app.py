"""A minimal Flask app for runtimectl deploy.

The VM runs it as `python3 app.py` with the port in $PORT, on Debian's
python3-flask: Flask's own server is enough for the example and needs no
other package.
"""

import os

from flask import Flask

app = Flask(__name__)


@app.get("/")
def index():
    # FLASK_GREETING comes from runtimekit.app.cue's env.
    return os.environ.get("FLASK_GREETING", "hello") + "\n"


@app.get("/healthz")
def healthz():
    return "ok", 200


if __name__ == "__main__":
    app.run(host="0.0.0.0", port=int(os.environ.get("PORT", 5000)))
