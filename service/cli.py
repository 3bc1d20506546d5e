"""`flask` commands: offices, users and the demo year."""

import getpass
import os
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from service.accounts import AccountError, create_user, get_or_create_office
from service.extensions import db


def register_commands(app: Flask) -> None:
    """Attach the command groups to the app."""
    app.cli.add_command(users)
    app.cli.add_command(demo)
    app.cli.add_command(keys)
    app.cli.add_command(audit)
    app.cli.add_command(uploads)
    app.cli.add_command(backup)
    app.cli.add_command(witnesses)


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
        raise click.ClickException(_both_languages(exc)) from None
    db.session.commit()
    click.echo(f"created {user.role} {user.username} in office {office.slug}")


def _both_languages(exc: Exception) -> str:
    """An account error in Taiwan's Chinese with the English beside it (a weak password says how
    to do better in both)."""
    from flask_babel import force_locale

    from service.accounts import PasswordTooWeak

    if not isinstance(exc, PasswordTooWeak):
        return str(exc)
    with force_locale("zh_Hant_TW"):
        chinese = str(exc.message)
    with force_locale("en"):
        english = str(exc.message)
    return f"{chinese}\n{english}"


def _user(username: str) -> Any:
    from sqlalchemy import select

    from service.models import User

    user = db.session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None:
        raise click.ClickException(f"no user {username}")
    return user


@users.command("password")
@click.argument("username")
def password_command(username: str) -> None:
    """Set a user's password (from SUNSHINE_NEW_PASSWORD or a prompt); a weak one is refused."""
    from service.accounts import set_password
    from service.signin import Client, record_event

    user = _user(username)
    password = os.environ.get("SUNSHINE_NEW_PASSWORD") or getpass.getpass("New password (12+ characters): ")
    try:
        set_password(user, password)
    except AccountError as exc:
        raise click.ClickException(_both_languages(exc)) from None
    record_event(db.session, "password_set_by_admin", user.username, user, Client(ip="cli"))
    db.session.commit()
    click.echo(f"the password of {user.username} is changed")


@users.command("unlock")
@click.argument("username")
def unlock_command(username: str) -> None:
    """End a user's wait after failed sign-ins (the run of failures of the account is forgotten)."""
    from service.signin import Client, record_event
    from service.throttle import clear_account, store_for

    user = _user(username)
    clear_account(store_for(current_app, db.session), user.username)
    user.failed_logins = 0
    user.locked_until = None
    record_event(db.session, "unlocked", user.username, user, Client(ip="cli"))
    db.session.commit()
    click.echo(f"{user.username} may sign in again at once")


@users.command("token")
@click.argument("username")
@click.option("--revoke", is_flag=True, help="revoke all of the user's tokens instead of issuing one")
def token_command(username: str, revoke: bool) -> None:
    """Shorthand: issue a read-write token named "cli" (or revoke all the user's tokens). See `users tokens`."""
    from service.accounts import issue_api_token, revoke_api_token
    from service.config import settings_of

    user = _user(username)
    if revoke:
        count = revoke_api_token(db.session, user)
        db.session.commit()
        click.echo(f"{count} API token(s) of {user.username} revoked")
        return
    token = issue_api_token(db.session, user, name="cli", scope="write", days=settings_of(current_app).api_token_days)
    db.session.commit()
    click.echo(f"API token for {user.username} ({user.role}); it is shown only this once:", err=True)
    click.echo(token)


@users.group("tokens", cls=AppGroup)
def tokens() -> None:
    """API tokens: list, create, revoke."""


@tokens.command("list")
@click.argument("username", required=False)
def tokens_list(username: str | None) -> None:
    """Every token (or one user's): id, user, name, scope, state, created, expires, last used."""
    from service.accounts import api_tokens, token_state
    from service.models import utcnow

    now = utcnow()
    rows = api_tokens(db.session, _user(username) if username else None)
    if not rows:
        click.echo("no API tokens")
    for row in rows:
        used = f"{row.last_used_at:%Y-%m-%d %H:%M}Z" if row.last_used_at else "never"
        click.echo(
            f"{row.id:5} {row.user.username:20} {row.name:20} {row.scope:5} {token_state(row, now):7} "
            f"created {row.created_at:%Y-%m-%d} expires {row.expires_at:%Y-%m-%d} last used {used}"
        )


@tokens.command("create")
@click.argument("username")
@click.option("--name", required=True, help="what the token is for, e.g. 'case sync script'")
@click.option("--scope", type=click.Choice(["read", "write"]), default="read", show_default=True)
@click.option(
    "--days", type=click.IntRange(1, 366), default=None, help="lifetime (default SUNSHINE_API_TOKEN_DAYS, 90)"
)
def tokens_create(username: str, name: str, scope: str, days: int | None) -> None:
    """Issue a named token and print it once."""
    from service.accounts import issue_api_token
    from service.config import settings_of

    user = _user(username)
    try:
        token = issue_api_token(
            db.session, user, name=name, scope=scope, days=days or settings_of(current_app).api_token_days
        )
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"{scope} API token {name!r} for {user.username} ({user.role}); it is shown only this once:", err=True)
    click.echo(token)


@tokens.command("revoke")
@click.argument("token_id", type=int)
def tokens_revoke(token_id: int) -> None:
    """Revoke one token by its id (from `flask users tokens list`)."""
    from service.accounts import revoke_api_token
    from service.models import ApiToken

    row = db.session.get(ApiToken, token_id)
    if row is None:
        raise click.ClickException(f"no API token {token_id}")
    if not revoke_api_token(db.session, row.user, token_id):
        raise click.ClickException(f"API token {token_id} is already revoked")
    db.session.commit()
    click.echo(f"API token {token_id} ({row.name}) of {row.user.username} revoked")


@click.group(cls=AppGroup)
def demo() -> None:
    """The demo year (development only)."""


@demo.command("load")
def load_command() -> None:
    """Load the demo office, users and year (idempotent)."""
    from service.config import settings_of
    from service.demo import load_demo

    if settings_of(current_app).environment == "production":
        raise click.ClickException("the demo is not loaded in production")
    current_app.config["SUNSHINE_INLINE_JOBS"] = True
    load_demo(db.session, settings_of(current_app))
    db.session.commit()
    click.echo("demo year loaded")
    from service.demo import DEMO_DRAW_ID, DEMO_SECRET_AT
    from service.demo_witnesses import witness_demo_draw

    outcomes = witness_demo_draw(db.session, settings_of(current_app), DEMO_DRAW_ID, DEMO_SECRET_AT)
    for outcome in outcomes:
        click.echo(
            f"demo witness {outcome.witness}: checkpoint {outcome.size} {outcome.result} {outcome.detail}".rstrip()
        )


@demo.command("witnesses")
def witnesses_command() -> None:
    """Print the shell lines that serve the demo's two witnesses on 127.0.0.1:8701 and :8702 and
    name them in SUNSHINE_WITNESSES (`make run` runs them; development only)."""
    from service.config import settings_of
    from service.demo_witnesses import serve_commands
    from service.keystore import active_key

    settings = settings_of(current_app)
    key = active_key(db.session)
    if settings.environment == "production" or key is None:
        raise click.ClickException("the demo witnesses serve only a loaded demo, never production")
    click.echo(serve_commands(settings, key.vkey))


@demo.command("code")
@click.argument("username")
def code_command(username: str) -> None:
    """Print a demo user's current two-step sign-in code (instead of a phone app; demo only)."""
    import time

    import pyotp
    from sqlalchemy import select

    from service.config import settings_of
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
    click.echo("Every account then gives a 6-digit code: scan the QR code shown with an authenticator")
    click.echo("app, or run   .venv/bin/flask demo code operator   (or admin, reviewer, witness) in another terminal.")
    click.echo("每個帳號登入後都需輸入 6 位數驗證碼：")
    click.echo("以驗證器 App 掃描畫面上的 QR code，或執行上列指令取得。")
    click.echo("")


@click.group(cls=AppGroup)
def keys() -> None:
    """The office signing key (see keys/README.md)."""


def _settings():  # type: ignore[no-untyped-def]
    from service.config import settings_of

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


@keys.command("new-data-key")
def keys_new_data_key() -> None:
    """Print a new random data key (64 hex characters) for SUNSHINE_DATA_KEY or a key file."""
    from service.sealing import new_data_key

    click.echo(new_data_key())


@keys.command("rotate-data-key")
@click.option(
    "--new-key-file",
    type=click.Path(exists=True, dir_okay=False, path_type=str),
    help="file holding the new data key (default: the SUNSHINE_NEW_DATA_KEY variable)",
)
def keys_rotate_data_key(new_key_file: str | None) -> None:
    """Re-seal every national ID (and pending upload) under a new data key; then configure it."""
    from pathlib import Path

    from service.keystore import rotate_data_key
    from service.sealing import DataKeyError, PersonalDataLost, parse_data_key

    text = Path(new_key_file).read_text(encoding="ascii") if new_key_file else os.environ.get("SUNSHINE_NEW_DATA_KEY")
    if not text:
        raise click.ClickException("give the new key: --new-key-file PATH or SUNSHINE_NEW_DATA_KEY")
    try:
        count = rotate_data_key(db.session, _settings(), parse_data_key(text))
    except (DataKeyError, PersonalDataLost) as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"re-sealed {count} national IDs and pending uploads under the new data key.")
    click.echo("Now set SUNSHINE_DATA_KEY (or SUNSHINE_DATA_KEY_FILE) to the new key and restart the service.")


@click.group(cls=AppGroup)
def uploads() -> None:
    """Uploaded declaration files."""


@uploads.command("purge")
def uploads_purge() -> None:
    """Delete the bytes of uploads not imported within SUNSHINE_UPLOAD_RETENTION_DAYS (run daily)."""
    from service.declarations import purge_stale_uploads

    count = purge_stale_uploads(db.session)
    db.session.commit()
    click.echo(f"purged {count} upload(s) older than {_settings().upload_retention_days} days")


@click.group(cls=AppGroup)
def backup() -> None:
    """Back up and restore the database (docs/deployment.md)."""


@backup.command("create")
@click.argument("path", type=click.Path(path_type=str))
def backup_create(path: str) -> None:
    """Write a backup (database and manifest.json) into the new directory PATH."""
    from pathlib import Path

    from service.backup import BackupError, create_backup

    db.session.remove()
    try:
        manifest = create_backup(_settings(), Path(path))
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    checkpoint = manifest["checkpoint"]
    click.echo(
        f"backup written to {path}: {manifest['file']} ({manifest['bytes']} bytes, sha256 {manifest['sha256'][:16]}…), "
        f"log size {manifest['log_size']}, checkpoint {checkpoint['size'] if checkpoint else 'none'}"
    )
    click.echo("The data key, SECRET_KEY and the office key files are NOT in the backup: keep them apart.")


@backup.command("restore")
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=str))
def backup_restore(path: str) -> None:
    """Restore the backup in PATH into the configured (empty) database, then run the self-check."""
    from pathlib import Path

    from service.backup import BackupError, restore_backup, restored_problems

    db.session.remove()
    db.engine.dispose()
    try:
        manifest = restore_backup(_settings(), Path(path))
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    db.engine.dispose()
    problems = restored_problems(db.session, manifest)
    for problem in problems:
        click.echo(f"✗ {problem}")
    if problems:
        raise SystemExit(1)
    click.echo(
        f"✓ restored {manifest['file']} of {manifest['created_at']}: log size {manifest['log_size']}, self-check passed"
    )


@click.group(cls=AppGroup)
def witnesses() -> None:
    """The witnesses that cosign the log's checkpoints (SUNSHINE_WITNESSES; service/witnessing.py)."""


@witnesses.command("submit")
def witnesses_submit() -> None:
    """Submit the latest checkpoint to every configured witness now; one line per witness."""
    from service.witnessing import submit_latest, submitter_of

    settings = _settings()
    if not settings.witnesses:
        click.echo("No witness is configured (SUNSHINE_WITNESSES).")
        return
    outcomes = submit_latest(db.session, settings, submitter_of(current_app))
    if not outcomes:
        click.echo("The log has no checkpoint yet.")
    for outcome in outcomes:
        mark = "✓" if outcome.ok else "✗"
        detail = f": {outcome.detail}" if outcome.detail else ""
        click.echo(f"{mark} {outcome.witness}: checkpoint {outcome.size} {outcome.result}{detail}")
    if not all(outcome.ok for outcome in outcomes):
        raise SystemExit(1)


@witnesses.command("status")
def witnesses_status() -> None:
    """Each configured witness: the latest checkpoint it cosigned, against the latest signed."""
    from service.transparency import latest_checkpoint
    from service.witnessing import cosigned_size

    settings = _settings()
    if not settings.witnesses:
        click.echo("No witness is configured (SUNSHINE_WITNESSES).")
        return
    latest = latest_checkpoint(db.session)
    latest_size = latest.size if latest is not None else 0
    click.echo(f"Latest signed checkpoint: size {latest_size}")
    for endpoint in settings.witnesses:
        size = cosigned_size(db.session, endpoint)
        state = "up to date" if size == latest_size and size else f"{latest_size - size} entries behind"
        cosigned = f"cosigned up to size {size}" if size else "has cosigned nothing yet"
        click.echo(f"{endpoint.name} ({endpoint.url}): {cosigned}, {state}")
