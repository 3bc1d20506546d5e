"""The baseline of B4: the smallest Flask application, one route answering a short fixed body.

gunicorn --config gunicorn.conf.py benchmarks.minimal_app:app
"""

from flask import Flask

app = Flask(__name__)


@app.route("/hello")
def hello() -> str:
    """A fixed body of 13 bytes."""
    return "hello, world\n"
