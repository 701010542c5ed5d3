"""The yardstick of the load benchmark: a minimal Flask endpoint that inserts one row per POST.

Same stack and database settings as CoachLab (Flask-SQLAlchemy, the SQLite pragmas of
``surveys.extensions``), none of the survey: it reads the form, inserts one row, commits and
redirects. ``bench/load_bench.py`` serves it with gunicorn next to CoachLab and reports CoachLab's
throughput as a ratio to this one's.
"""

from __future__ import annotations

import os

from flask import Flask, redirect, request
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

import surveys.extensions  # noqa: F401  (registers the SQLite pragmas: WAL, busy timeout, synchronous=NORMAL)


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)


class Ping(db.Model):
    __tablename__ = "bench_ping"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    body: Mapped[str] = mapped_column(String(64))


def create_app() -> Flask:
    app = Flask(__name__)
    app.config.update(SQLALCHEMY_DATABASE_URI=os.environ["DATABASE_URL"],
                      SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True})
    db.init_app(app)

    @app.post("/ping")
    def ping():
        db.session.add(Ping(body=str(len(request.form))))
        db.session.commit()
        return redirect("/done")

    return app
