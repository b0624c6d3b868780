"""Sign-in for a team server: a users file of hashed passwords, a sign-in page, and a gate
in front of every request that can return data.

* The users file has one ``name:hash`` line per user; the hash is Werkzeug's
  (:func:`werkzeug.security.generate_password_hash`: scrypt with a random salt). ``custseg
  users add NAME`` writes it. The file is read again when it changes, so adding or removing a
  user needs no restart (a removed user's next request is refused).
* Signing in stores the name in Flask's session cookie (signed with ``CUSTSEG_SECRET_KEY``,
  HttpOnly, SameSite=Lax), which expires after the server's idle time unless used.
* Without a valid sign-in, page requests are redirected to the sign-in page and Dash's data
  requests (layout, callbacks) answer 401. Only the static files (CSS, JavaScript libraries)
  and the sign-in page itself are served to anyone.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import getpass
import hmac
import html
import logging
import math
import os
import re
import secrets
import sqlite3
import sys
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from werkzeug.security import check_password_hash, generate_password_hash

from core.errors import ConfigError

log = logging.getLogger(__name__)

USERS_ENV = "CUSTSEG_USERS_FILE"
NO_SIGN_IN_ENV = "CUSTSEG_NO_SIGN_IN"  # "1": the WSGI entry points serve without sign-in
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
MIN_PASSWORD = 8
SIGN_IN = "/sign-in"
SIGN_OUT = "/sign-out"
WARM_UP = (
    "custseg.warm_up"  # WSGI environ key of the in-process warm-up request (no client sets it)
)
_USER_KEY = "custseg_user"
_CSRF_KEY = "custseg_sign_in_csrf"


@functools.cache
def _dummy_hash() -> str:
    """Checked against when the name is unknown: a wrong name costs as long as a wrong password."""
    return generate_password_hash(secrets.token_hex(16))


def default_users_file() -> Path:
    """``$CUSTSEG_USERS_FILE``, else ``users`` in the cache folder the workers share."""
    value = os.environ.get(USERS_ENV, "").strip()
    if value:
        return Path(value)
    cache = os.environ.get("CUSTSEG_CACHE_DIR", "").strip()
    return (Path(cache) if cache else Path.home() / ".cache" / "custseg") / "users"


def require_users(path: Path, why: str, how_to_skip: str) -> Path:
    """``path`` if it holds at least one user; otherwise a ConfigError saying how to add one."""
    if not UsersFile(path).users():
        raise ConfigError(
            f"sign-in is required {why}, and the users file {path} has no users",
            f"add one with `custseg users add NAME --users {path}`, or {how_to_skip} "
            "(then anyone who can reach the server sees its data)",
        )
    return path


def wsgi_users_file() -> Path | None:
    """The users file of the WSGI entry points (a deployment): sign-in unless switched off."""
    if os.environ.get(NO_SIGN_IN_ENV, "").strip() == "1":
        return None
    return require_users(
        default_users_file(), "for the WSGI entry points", f"set {NO_SIGN_IN_ENV}=1"
    )


def check_name(name: str) -> str:
    """A valid user name, or a ConfigError saying what is allowed."""
    if not NAME_PATTERN.fullmatch(name):
        raise ConfigError(
            f"invalid user name {name!r}",
            "use 1-64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit",
        )
    return name


@dataclass
class UsersFile:
    """The users file: read when its modification time or size changed."""

    path: Path

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._users: dict[str, str] = {}

    def users(self) -> dict[str, str]:
        """Name -> password hash (empty if the file is missing)."""
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return {}
        stamp = (stat.st_mtime_ns, stat.st_size)
        with self._lock:
            if stamp != self._stamp:
                self._users = self._parse(self.path.read_text(encoding="utf-8"))
                self._stamp = stamp
            return dict(self._users)

    @staticmethod
    def _parse(text: str) -> dict[str, str]:
        users = {}
        for line in text.splitlines():
            name, sep, hashed = line.strip().partition(":")
            if sep and NAME_PATTERN.fullmatch(name) and hashed:
                users[name] = hashed
        return users

    def check(self, name: str, password: str) -> bool:
        """Whether ``password`` is ``name``'s (as long to refuse an unknown name)."""
        hashed = self.users().get(name)
        matches = check_password_hash(hashed or _dummy_hash(), password)
        return hashed is not None and matches

    def add(self, name: str, password: str) -> bool:
        """Add ``name`` or replace its password; True if it was new. Written atomically."""
        check_name(name)
        if len(password) < MIN_PASSWORD:
            raise ConfigError(
                f"the password is shorter than {MIN_PASSWORD} characters",
                "choose a longer one (a few words are easy to remember)",
            )
        lines = []
        if self.path.exists():
            lines = self.path.read_text(encoding="utf-8").splitlines()
        kept = [line for line in lines if line.partition(":")[0].strip() != name]
        kept.append(f"{name}:{generate_password_hash(password)}")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{secrets.token_hex(4)}")
        tmp.write_text("\n".join(kept) + "\n", encoding="utf-8")
        os.chmod(tmp, 0o600)
        tmp.replace(self.path)
        return len(kept) > len(lines)


@dataclass(frozen=True)
class Lockout:
    """A sign-in refused before the password is checked: for whom, and for how long."""

    seconds: float
    by_address: bool  # too many failures from the client's address (else for the name)

    @property
    def message(self) -> str:
        """What the sign-in page says."""
        minutes = max(1, math.ceil(self.seconds / 60))
        wait = f"{minutes} minute{'s' if minutes != 1 else ''}"
        who = "from your network address" if self.by_address else "for this name"
        return (
            f"Too many failed sign-ins {who}. Try again in {wait}; each further failure "
            "makes the wait longer. If you forgot your password, ask whoever runs the server "
            "to set a new one (custseg users add NAME)."
        )


@dataclass(frozen=True)
class SignInThrottle:
    """Failed sign-ins per user name and per client address, kept in a small SQLite file in the
    server's data folder, so every worker process of a deployment sees the same counts.

    Once a name has failed :attr:`name_failures` times, or an address :attr:`address_failures`
    times (people behind one office address share it), further attempts are refused unchecked
    for :attr:`first_wait` seconds, doubling with every further failure up to :attr:`max_wait`.
    Counts are forgotten :attr:`forget_after` seconds after the last failure; a successful
    sign-in clears its name's count (not the address's: a valid account must not reset the
    count of guesses at others).
    """

    path: Path
    name_failures: int = 5
    address_failures: int = 20
    first_wait: float = 30.0
    max_wait: float = 3600.0
    forget_after: float = 24 * 3600.0

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=10.0, isolation_level=None)
        db.execute(
            "CREATE TABLE IF NOT EXISTS failures (who TEXT PRIMARY KEY, count INTEGER NOT NULL,"
            " last REAL NOT NULL, until REAL NOT NULL)"
        )
        return db

    @staticmethod
    def _keys(name: str, address: str | None) -> tuple[str, str]:
        return f"name:{name.lower()[:64]}", f"addr:{address or '-'}"

    def lockout(
        self, name: str, address: str | None, *, now: float | None = None
    ) -> Lockout | None:
        """The wait still to run for ``name`` or ``address``, or None when they may try."""
        now = time.time() if now is None else now
        keys = self._keys(name, address)
        with contextlib.closing(self._connect()) as db:
            rows = db.execute(
                "SELECT who, until FROM failures WHERE who IN (?, ?) AND until > ?", (*keys, now)
            ).fetchall()
        waits = {who: until - now for who, until in rows}
        if not waits:
            return None
        who = max(waits, key=lambda k: waits[k])
        return Lockout(seconds=waits[who], by_address=who == keys[1])

    def failed(self, name: str, address: str | None, *, now: float | None = None) -> None:
        """Count a failed sign-in for ``name`` and ``address``."""
        now = time.time() if now is None else now
        name_key, address_key = self._keys(name, address)
        with contextlib.closing(self._connect()) as db:
            db.execute("BEGIN IMMEDIATE")  # one writer at a time across the workers
            for key, free in ((name_key, self.name_failures), (address_key, self.address_failures)):
                row = db.execute(
                    "SELECT count, last FROM failures WHERE who = ?", (key,)
                ).fetchone()
                count = 1 if row is None or now - row[1] > self.forget_after else row[0] + 1
                over = count - free + 1  # the free-th failure starts the first wait
                until = (
                    now + min(self.first_wait * 2 ** (over - 1), self.max_wait) if over > 0 else 0.0
                )
                db.execute(
                    "INSERT OR REPLACE INTO failures (who, count, last, until) VALUES (?, ?, ?, ?)",
                    (key, count, now, until),
                )
            db.execute("DELETE FROM failures WHERE last < ?", (now - self.forget_after,))
            db.execute("COMMIT")

    def succeeded(self, name: str) -> None:
        """Forget the failures of ``name`` (it signed in)."""
        with contextlib.closing(self._connect()) as db:
            db.execute("DELETE FROM failures WHERE who = ?", (self._keys(name, None)[0],))


def signed_in_user() -> str | None:
    """The name signed in on the current request (None without sign-in or when it is off)."""
    import flask  # noqa: PLC0415

    name = flask.session.get(_USER_KEY) if flask.has_request_context() else None
    return name if isinstance(name, str) else None


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · custseg</title>
<link rel="stylesheet" href="{css}"></head>
<body><main class="container py-5" style="max-width: 26rem">
<h1 class="h3 mb-4">Sign in to custseg</h1>{message}
<form method="post" action="{action}">
<input type="hidden" name="csrf" value="{csrf}"><input type="hidden" name="next" value="{next}">
<div class="mb-3"><label class="form-label" for="name">Name</label>
<input class="form-control" id="name" name="name" autocomplete="username" required autofocus
 value="{name}"></div>
<div class="mb-3"><label class="form-label" for="password">Password</label>
<input class="form-control" id="password" name="password" type="password"
 autocomplete="current-password" required></div>
<button class="btn btn-primary" id="sign-in" type="submit">Sign in</button>
</form></main></body></html>
"""


def _safe_next(value: object, home: str) -> str:
    """A local path to go back to after signing in (never another site)."""
    if (
        isinstance(value, str)
        and value.startswith("/")
        and not value.startswith("//")
        and "\\" not in value
        and not any(ord(ch) < 32 for ch in value)
    ):
        return value
    return home


def _sign_in_page(
    message: str = "", name: str = "", status: int = 200, *, prefix: str, action: str
) -> Any:
    """The sign-in form (posting to ``action``) with ``message`` and the ``name`` typed, and
    the session's form token."""
    import flask  # noqa: PLC0415

    csrf = flask.session.setdefault(_CSRF_KEY, secrets.token_urlsafe(16))
    body = _PAGE.format(
        css=html.escape(prefix + "assets/vendor/bootstrap-5.3.8.min.css"),
        message=f'<div class="alert alert-danger" role="alert">{html.escape(message)}</div>'
        if message
        else "",
        action=html.escape(action),
        csrf=html.escape(csrf),
        next=html.escape(_safe_next(flask.request.values.get("next"), prefix)),
        name=html.escape(name),
    )
    return flask.Response(body, status=status, mimetype="text/html")


def install_sign_in(
    server: Any,
    users: UsersFile,
    *,
    prefix: str,
    public: tuple[str, ...],
    idle_minutes: float,
    throttle: SignInThrottle,
) -> None:
    """Require a signed-in user on every request of ``server`` but ``public`` path prefixes;
    ``throttle`` refuses names and addresses after repeated failed sign-ins."""
    import flask  # noqa: PLC0415

    server.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="custseg_sign_in",
        PERMANENT_SESSION_LIFETIME=timedelta(minutes=idle_minutes),
        SESSION_REFRESH_EACH_REQUEST=True,
    )
    sign_in, sign_out = prefix + SIGN_IN.lstrip("/"), prefix + SIGN_OUT.lstrip("/")
    open_paths = (*public, sign_in)

    page = functools.partial(_sign_in_page, prefix=prefix, action=sign_in)

    @server.before_request
    def _gate() -> flask.Response | None:
        path = flask.request.path
        if path.startswith(open_paths) or flask.request.environ.get(WARM_UP):
            return None
        name = signed_in_user()
        if name is not None and name in users.users():
            flask.session.permanent = True  # refreshes the cookie: idle time starts again
            return None
        flask.session.pop(_USER_KEY, None)
        if path.startswith(prefix + "_dash-") or flask.request.method != "GET":
            response = flask.jsonify(error="Sign in first.", hint=f"Open {sign_in} to sign in.")
            response.status_code = 401
            return response
        back = quote(flask.request.full_path.rstrip("?"), safe="/")
        return flask.redirect(f"{sign_in}?next={back}")

    @server.route(sign_in, methods=["GET", "POST"])
    def _sign_in() -> flask.Response:
        if flask.request.method == "GET":
            return page()
        form = flask.request.form
        name, password = form.get("name", "").strip(), form.get("password", "")
        expected = flask.session.get(_CSRF_KEY)
        if not (isinstance(expected, str) and hmac.compare_digest(form.get("csrf", ""), expected)):
            return page("The form expired. Please sign in again.", name, 400)
        address = flask.request.remote_addr
        lockout = throttle.lockout(name, address)
        if lockout is not None:  # refused unchecked: a guess now tells nothing
            log.warning("sign-in locked out for %r from %s", name[:64], address)
            response = page(lockout.message, name, 429)
            response.headers["Retry-After"] = str(math.ceil(lockout.seconds))
            return response
        if not users.check(name, password):
            throttle.failed(name, address)
            log.info("sign-in refused for %r from %s", name[:64], address)
            return page("Wrong name or password.", name, 401)
        throttle.succeeded(name)
        flask.session.clear()  # a fresh session: nothing carried over from before sign-in
        flask.session[_USER_KEY] = name
        flask.session.permanent = True
        log.info("signed in: %s from %s", name, flask.request.remote_addr)
        return flask.redirect(_safe_next(form.get("next"), prefix))

    @server.route(sign_out, methods=["POST"])
    def _sign_out() -> flask.Response:
        flask.session.clear()
        return flask.redirect(sign_in)


def _cmd_users_add(args: argparse.Namespace) -> int:
    name = check_name(args.name)
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass(f"Password for {name}: ")
        if getpass.getpass("Again: ") != password:
            raise ConfigError("the two passwords differ", "type the same password twice")
    path = Path(args.users) if args.users else default_users_file()
    new = UsersFile(path).add(name, password)
    print(f"{'Added' if new else 'Changed the password of'} {name} in {path}")
    return 0


def add_command(sub: Any) -> None:
    """Register ``users`` on the ``custseg`` sub-parsers (the ``custseg.commands`` entry point)."""
    parser = sub.add_parser("users", help="manage who may sign in to the web app")
    actions = parser.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="add a user, or change a user's password")
    add.add_argument("name")
    add.add_argument(
        "--users", help=f"users file (default: ${USERS_ENV}, else 'users' in the cache folder)"
    )
    add.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    add.set_defaults(func=_cmd_users_add)
