"""`flask` commands: offices, users and the demo year."""

import getpass
import os
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from public_site.export import register_export_command
from service.accounts import AccountError, create_user, get_or_create_office
from service.extensions import db


def register_commands(app: Flask) -> None:
    """Attach the command groups to the app."""
    app.cli.add_command(users)
    app.cli.add_command(demo)
    app.cli.add_command(keys)
    app.cli.add_command(audit)
    register_export_command(app)  # `flask export-site OUT/` (public_site/export.py)


@click.group(cls=AppGroup)
def users() -> None:
    """Manage user accounts."""


@users.command("create")
@click.option("--office", "office_slug", required=True, help="office slug, e.g. kinmen")
@click.option("--office-name", default="", help="the office's name when it is created now")
@click.option("--username", required=True)
@click.option("--display-name", required=True)
@click.option("--role", type=click.Choice(["admin", "operator", "reviewer", "witness"]), required=True)
def create_user_command(office_slug: str, office_name: str, username: str, display_name: str, role: str) -> None:
    """Create a user; the password comes from SUNSHINE_NEW_PASSWORD or a prompt."""
    password = os.environ.get("SUNSHINE_NEW_PASSWORD") or getpass.getpass("Password (12+ characters): ")
    office = get_or_create_office(db.session, office_slug, office_name or office_slug)
    try:
        user = create_user(
            db.session, office=office, username=username, display_name=display_name, password=password, role=role
        )
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"created {user.role} {user.username} in office {office.slug}")


@users.command("token")
@click.argument("username")
@click.option("--revoke", is_flag=True, help="remove the user's token instead of issuing one")
def token_command(username: str, revoke: bool) -> None:
    """Issue a JSON API token for a user (replacing any earlier one) and print it once."""
    from sqlalchemy import select

    from service.accounts import issue_api_token, revoke_api_token
    from service.models import User

    user = db.session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None:
        raise click.ClickException(f"no user {username}")
    if revoke:
        revoke_api_token(db.session, user)
        db.session.commit()
        click.echo(f"the API token of {user.username} is revoked")
        return
    token = issue_api_token(db.session, user)
    db.session.commit()
    click.echo(f"API token for {user.username} ({user.role}); it is shown only this once:", err=True)
    click.echo(token)


@click.group(cls=AppGroup)
def demo() -> None:
    """The demo year (development only)."""


@demo.command("load")
def load_command() -> None:
    """Load the demo office, users and year (idempotent)."""
    from service import settings_of
    from service.demo import load_demo

    if settings_of(current_app).environment == "production":
        raise click.ClickException("the demo is not loaded in production")
    current_app.config["SUNSHINE_INLINE_JOBS"] = True
    load_demo(db.session, settings_of(current_app))
    db.session.commit()
    click.echo("demo year loaded")


@demo.command("code")
@click.argument("username")
def code_command(username: str) -> None:
    """Print a demo user's current two-step sign-in code (instead of a phone app; demo only)."""
    import time

    import pyotp
    from sqlalchemy import select

    from service import settings_of
    from service.demo import DEMO_USERS, DEMO_WITNESS_USERS, SECOND_OFFICE_USERS
    from service.models import User
    from service.signin import totp_secret

    demo_names = {u[0] for u in (*DEMO_USERS, *DEMO_WITNESS_USERS, *SECOND_OFFICE_USERS)}
    if settings_of(current_app).environment == "production" or username not in demo_names:
        raise click.ClickException("codes are printed only for the demo accounts, outside production")
    user = db.session.scalar(select(User).where(User.username == username))
    secret = totp_secret(user, settings_of(current_app).secret_key) if user else None
    if user is None or secret is None:
        raise click.ClickException("sign in with the password first: the enrolment page creates the secret")
    totp = pyotp.TOTP(secret)
    step = max(int(time.time()) // totp.interval, (user.totp_last_step or 0) + 1)
    click.echo(totp.generate_otp(step))


def served_address(environ: dict[str, str] | None = None) -> str:
    """Where gunicorn serves under `make run`: gunicorn.conf.py's `GUNICORN_BIND` (default
    127.0.0.1:8000), or a `--bind` in `GUNICORN_CMD_ARGS`, which gunicorn lets override it."""
    import shlex

    env = os.environ if environ is None else environ
    bind = env.get("GUNICORN_BIND", "127.0.0.1:8000")
    words = shlex.split(env.get("GUNICORN_CMD_ARGS", ""))
    for number, word in enumerate(words):
        if word in ("-b", "--bind") and number + 1 < len(words):
            bind = words[number + 1]
        elif word.startswith("--bind="):
            bind = word.partition("=")[2]
    bind = bind.split(",")[0].strip()
    if bind.startswith(("unix:", "fd://")):
        return bind
    host, _, port = bind.rpartition(":") if bind.rpartition(":")[2].isdigit() else (bind, ":", "8000")
    host = host or "0.0.0.0"  # noqa: S104  (what gunicorn does with ":8000"; only printed)
    address = f"http://{host}:{port}/"
    if host in ("0.0.0.0", "[::]"):  # noqa: S104  (every interface: say how to reach it from here)
        return f"{address} (every interface; on this machine http://127.0.0.1:{port}/)"
    return address


@demo.command("logins")
def logins_command() -> None:
    """Print how to sign in to the demo."""
    from service.demo import DEMO_USERS, DEMO_WITNESS_USERS, SECOND_OFFICE_USERS

    click.echo("")
    click.echo(f"Sunshine Draw 陽光抽籤 — {served_address()}  (operator pages: /operator/)")
    click.echo("Demo logins 示範帳號:")
    for username, _display, role, password in DEMO_USERS:
        click.echo(f"  {role:9} username {username:9} password {password}   (金門縣政府政風處, the demo year)")
    for username, display, role, password in DEMO_WITNESS_USERS:
        click.echo(f"  {role:9} username {username:9} password {password}   ({display}, /witness/ on a phone)")
    for username, _display, role, password in SECOND_OFFICE_USERS:
        click.echo(f"  {role:9} username {username:9} password {password}   (澎湖縣政府政風處, empty: try an import)")
    click.echo("Admins, operators and witnesses then give a 6-digit code: scan the QR code shown with an authenticator")
    click.echo("app, or run   .venv/bin/flask demo code operator   (or admin, witness) in another terminal.")
    click.echo("管理者、承辦人與見證人登入後需輸入 6 位數驗證碼：")
    click.echo("以驗證器 App 掃描畫面上的 QR code，或執行上列指令取得。")
    click.echo("")


@click.group(cls=AppGroup)
def keys() -> None:
    """The office signing key (see keys/README.md)."""


def _settings():  # type: ignore[no-untyped-def]
    from service import settings_of

    return settings_of(current_app)


@keys.command("generate")
def keys_generate() -> None:
    """Create the first office key; its passphrase comes from SUNSHINE_KEY_PASSPHRASE."""
    from service.keystore import KeyUnavailable, generate_key

    try:
        key = generate_key(db.session, _settings())
    except KeyUnavailable as exc:
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"office key {key.key_id} generated; public key written to {_settings().keys_dir / 'office.vkey'}")
    click.echo(key.vkey)


@keys.command("show")
def keys_show() -> None:
    """Print every office key, the active one first."""
    from sqlalchemy import select

    from service.models import SigningKey

    rows = db.session.scalars(select(SigningKey).order_by(SigningKey.status, SigningKey.created_at.desc())).all()
    if not rows:
        raise click.ClickException("no office key yet: run `flask keys generate`")
    for key in rows:
        click.echo(f"{key.status:8} {key.created_at:%Y-%m-%d}  {key.vkey}")


@keys.command("rotate")
def keys_rotate() -> None:
    """Retire the active key and create a new one (both sign the rotation checkpoint)."""
    from service.keystore import KeyUnavailable, rotate_key

    try:
        key = rotate_key(db.session, _settings())
    except KeyUnavailable as exc:
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"rotated: new office key {key.key_id}")
    click.echo(key.vkey)


@click.group(cls=AppGroup)
def audit() -> None:
    """Check the stored log and documents."""


@audit.command("verify")
def audit_verify() -> None:
    """Recompute the log, every checkpoint and every published draw; exit 1 naming each problem."""
    from service.integrity import self_check

    problems = self_check(db.session)
    for problem in problems:
        click.echo(f"✗ {problem}")
    if problems:
        raise SystemExit(1)
    click.echo("✓ the log, every checkpoint, every published draw and every review case match what was signed")


@audit.command("prove")
@click.argument("case")
@click.option("--json", "as_json", is_flag=True, help="print one JSON document instead of text")
def audit_prove(case: str, as_json: bool) -> None:
    """Print each record of a review case (by case number or case id) with its salt and its
    inclusion proof against the latest checkpoint, so an auditor can check it."""
    import base64
    import json

    from sqlalchemy import select

    from lottery.canonical import canonical_json
    from lottery.merkle import leaf_hash
    from service.models import ReviewCase
    from service.reviews import ReviewError, prove_case

    query = select(ReviewCase).where(ReviewCase.case_number == case.strip())
    if case.strip().isdigit():
        query = select(ReviewCase).where(ReviewCase.id == int(case))
    cases = db.session.scalars(query.order_by(ReviewCase.id)).all()
    if not cases:
        raise click.ClickException(f"no review case {case}")
    documents, all_match = [], True
    for row in cases:
        try:
            note, proofs = prove_case(db.session, row)
        except ReviewError as exc:
            raise click.ClickException(str(exc)) from None
        all_match = all_match and all(p.digest_matches for p in proofs)
        documents.append(
            {
                "case_id": row.id,
                "case_number": row.case_number,
                "draw_id": row.log_draw_id,
                "checkpoint": note,
                "records": [
                    {
                        "sequence": p.event.sequence,
                        "record": p.record,
                        "record_json": canonical_json(p.record).decode("utf-8"),
                        "salt": p.record["salt"],
                        "record_digest": p.event.record_digest,
                        "entry": p.entry,
                        "leaf_hash": leaf_hash(p.entry.encode("utf-8")).hex(),
                        "index": p.index,
                        "size": p.size,
                        "path": [base64.b64encode(h).decode("ascii") for h in p.path],
                        "digest_matches": p.digest_matches,
                    }
                    for p in proofs
                ],
            }
        )
    if as_json:
        click.echo(json.dumps(documents if len(documents) > 1 else documents[0], ensure_ascii=False, indent=2))
    else:
        for document in documents:
            _print_case_proof(document)
    if not all_match:
        raise SystemExit(1)


def _print_case_proof(document: dict[str, Any]) -> None:
    click.echo(f"Review case {document['case_id']} · case number {document['case_number']} · {document['draw_id']}")
    click.echo("")
    click.echo("Latest signed checkpoint (compare it with /log/checkpoint or a witness's copy):")
    click.echo(document["checkpoint"].rstrip("\n"))
    click.echo("")
    for item in document["records"]:
        mark = "✓" if item["digest_matches"] else "✗ DOES NOT MATCH"
        click.echo(f"Record {item['sequence']} ({item['record']['kind']}: {item['record']['to_state']}) {mark}")
        click.echo(f"  record:        {item['record_json']}")
        click.echo(f"  salt:          {item['salt']}")
        click.echo(f"  record_digest: {item['record_digest']}   (sha256 of the record above, as printed)")
        click.echo(f"  log entry:     {item['entry']}")
        click.echo(f"  leaf hash:     {item['leaf_hash']}   (sha256 of 0x00 || log entry)")
        click.echo(f"  inclusion proof of index {item['index']} in tree size {item['size']}:")
        for node in item["path"]:
            click.echo(f"    {node}")
        click.echo("")
