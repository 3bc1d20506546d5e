"""`python -m lottery`: draw, verify, ticket, keygen, sign and witness (protocol §12).

Refusals print one line to standard error and exit 2; nothing is written to standard output
for a refused draw. Imports happen inside each command (`getpass` and `pathlib` included) so
that `draw` loads only what it uses and starts fast.
"""

import argparse
import os
import signal
import sys
from typing import TYPE_CHECKING

from lottery.errors import ProtocolError

if TYPE_CHECKING:
    from lottery.cosignature import WitnessVerifier

PASSPHRASE_VARIABLE = "SUNSHINE_KEY_PASSPHRASE"  # noqa: S105 (the variable's name, not a secret)
EXIT_REFUSED = 2


class Refusal(Exception):
    """A command cannot go on; the message is printed as is."""


def _read(path: str, what: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise Refusal(f"cannot read {what} {path}: {exc.strerror}") from None


def command_draw(args: argparse.Namespace) -> int:
    """Compute a result from population, announcement, inputs and drawn-at time."""
    from lottery.announcement import parse_announcement
    from lottery.canonical import canonical_json, load_json
    from lottery.drand import bls_available
    from lottery.draw import parse_inputs
    from lottery.engine import run_draw_from_file
    from lottery.population import parse_population

    # The population is parsed inside run_draw_from_file, in slices and in parallel when it is
    # large. Refusals keep their order all the same: a population file that is not canonical
    # is reported before anything about the other two files, and before the warning.
    population_data = _read(args.population, "population file")
    try:
        announcement = parse_announcement(load_json(_read(args.announcement, "announcement"), "announcement"))
        inputs = parse_inputs(load_json(_read(args.inputs, "inputs"), "inputs"))
    except (ProtocolError, Refusal):
        parse_population(population_data)
        raise
    if announcement.drand_round is not None and not bls_available():
        parse_population(population_data)
        print("warning: py_ecc is not installed; the drand BLS signature was not checked", file=sys.stderr)
    result = run_draw_from_file(population_data, announcement, inputs, args.drawn_at)
    sys.stdout.buffer.write(canonical_json(result))
    sys.stdout.buffer.flush()
    return 0


def command_verify(args: argparse.Namespace) -> int:
    """Check a bundle and print one line per check."""
    from lottery.bundle import read_bundle, verify_bundle

    witnesses = _witness_policy(args.witness, args.quorum)
    report = verify_bundle(
        read_bundle(args.bundle),
        key=args.key,
        witnesses=witnesses,
        quorum=args.quorum if args.quorum is not None else len(witnesses),
    )
    for check in report.checks:
        print(check.line())
    skipped = [check.what for check in report.checks if check.outcome == "skip" and "BLS" in check.what]
    if not report.ok:
        print("NOT VERIFIED: at least one check failed")
    elif skipped:
        print("VERIFIED, except the drand BLS signature, which was not checked (install py_ecc to check it)")
    else:
        print("VERIFIED: every check passed")
    return 0 if report.ok else 1


def _witness_policy(values: list[str] | None, quorum: int | None) -> list["WitnessVerifier"]:
    """The witness vkeys given with `--witness` (strings or files), checked against `--quorum`."""
    from lottery.cosignature import parse_witness_vkey

    witnesses = [parse_witness_vkey(_key_text(value)) for value in values or []]
    if len({witness.name for witness in witnesses}) != len(witnesses):
        raise Refusal("two --witness keys have the same name")
    if quorum is not None and not 1 <= quorum <= len(witnesses):
        raise Refusal("--quorum must be between 1 and the number of --witness keys")
    return witnesses


def _key_text(value: str) -> str:
    """A key given as the string itself or as a file holding it."""
    if "+" in value and not os.path.isfile(value):
        return value
    return _read(value, "key file").decode("utf-8", "replace")


def command_witness(args: argparse.Namespace) -> int:
    """Check a log against the checkpoint seen last time; keep the new one."""
    from pathlib import Path

    from lottery.witness import WitnessAlarm, WitnessError, check_log, load_state, save_state

    state_path = Path(args.state)
    try:
        state, lines = check_log(load_state(state_path, args.base_url.rstrip("/")), key=args.key, timeout=args.timeout)
    except WitnessError as exc:
        raise Refusal(str(exc)) from None
    except WitnessAlarm as alarm:
        print(f"ALARM: {alarm}")
        print("Evidence — the checkpoints signed by the log that cannot both be true:")
        for note in alarm.evidence:
            print()
            print(note, end="" if note.endswith("\n") else "\n")
        return 1
    for line in lines:
        print(f"✓ {line}")
    save_state(state_path, state)
    print(f"kept the checkpoint of size {state.size} in {state_path}")
    return 0


def command_witness_keygen(args: argparse.Namespace) -> int:
    """Create a witness's private key file (mode 0600, never overwritten) and print its vkey."""
    from lottery.cosignature import generate_witness

    signer = generate_witness(args.name)
    try:
        fd = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise Refusal(f"{args.out} exists; refusing to overwrite a private key") from None
    except OSError as exc:
        raise Refusal(f"cannot create {args.out}: {exc.strerror}") from None
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(signer.private_key_string() + "\n")
    print(f"private key: {args.out} (keep it secret; back it up)", file=sys.stderr)
    print(signer.verifier.vkey)
    return 0


def command_witness_serve(args: argparse.Namespace) -> int:
    """Run a C2SP tlog-witness over HTTP until interrupted."""
    from pathlib import Path

    from lottery.cosignature import parse_witness_private_key
    from lottery.signing import Verifier, parse_vkey
    from lottery.witness_server import Witness, WitnessStore, make_server

    signer = parse_witness_private_key(_read(args.key, "witness private key").decode("utf-8", "replace"))
    if os.stat(args.key).st_mode & 0o077:
        print(f"warning: {args.key} can be read by other users; chmod 600 it", file=sys.stderr)
    logs: dict[str, list[Verifier]] = {}
    for value in args.log:
        origin, separator, vkey = value.partition("=")
        if not separator:
            raise Refusal("--log must be ORIGIN=OFFICE_VKEY")
        logs.setdefault(origin, []).append(parse_vkey(_key_text(vkey)))
    host, separator, port = args.listen.rpartition(":")
    if not separator or not port.isdigit():
        raise Refusal("--listen must be HOST:PORT, e.g. 127.0.0.1:8700")
    witness = Witness(signer, logs, WitnessStore(Path(args.state)))
    try:
        server = make_server(witness, host.strip("[]"), int(port))
    except OSError as exc:
        raise Refusal(f"cannot listen on {args.listen}: {exc.strerror}") from None
    print(f"witness {signer.verifier.vkey}", file=sys.stderr)
    origins = ", ".join(sorted(logs))
    address = f"{host.strip('[]')}:{server.server_port}"
    print(f"listening on http://{address}/add-checkpoint for {origins}", file=sys.stderr, flush=True)
    # Ctrl-C and a service manager's SIGTERM both stop it cleanly; set explicitly, since a shell
    # starts background jobs (`make run`'s witnesses) with SIGINT ignored, which Python keeps.
    for stop in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop, _interrupt)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def _interrupt(signum: int, frame: object) -> None:
    """A stop signal: end `serve_forever` as Ctrl-C would."""
    raise KeyboardInterrupt


def command_ticket(args: argparse.Namespace) -> int:
    """Print the ticket of one id in one stage."""
    from lottery.announcement import STAGE_PATTERN
    from lottery.draw import ticket
    from lottery.population import check_id

    if len(args.seed) != 64 or any(c not in "0123456789abcdef" for c in args.seed):
        raise Refusal("seed must be 64 lowercase hex characters")
    if not STAGE_PATTERN.fullmatch(args.stage):
        raise Refusal("stage must be a stage name such as review")
    print(ticket(args.seed, args.stage, check_id(args.id)))
    return 0


def _passphrase(confirm: bool) -> str:
    value = os.environ.get(PASSPHRASE_VARIABLE)
    if value:
        return value
    import getpass

    if not sys.stdin.isatty():
        raise Refusal(f"set {PASSPHRASE_VARIABLE} or run in a terminal to be asked for the passphrase")
    first = getpass.getpass("Passphrase for the private key: ")
    if confirm and getpass.getpass("Repeat the passphrase: ") != first:
        raise Refusal("the two passphrases differ")
    return first


def command_keygen(args: argparse.Namespace) -> int:
    """Create an encrypted private key and its vkey."""
    from pathlib import Path

    from lottery.keyfile import seal_private_key
    from lottery.signing import generate_signer

    out = Path(args.out)
    key_path, vkey_path = out / f"{args.file_name}.key", out / f"{args.file_name}.vkey"
    if key_path.exists() and not args.force:
        raise Refusal(f"{key_path} exists; refusing to overwrite a private key (use --force)")
    signer = generate_signer(args.name)
    sealed = seal_private_key(signer, _passphrase(confirm=True))
    out.mkdir(parents=True, exist_ok=True)
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(sealed)
    vkey_path.write_text(signer.verifier.vkey + "\n", encoding="utf-8")
    print(f"private key (encrypted): {key_path}")
    print(f"verifier key: {vkey_path}")
    print(signer.verifier.vkey)
    return 0


def command_sign(args: argparse.Namespace) -> int:
    """Sign a file: a detached `.sig`, or a signed note with --note."""
    from pathlib import Path

    from lottery.keyfile import open_private_key
    from lottery.signing import sign_document, sign_note

    signer = open_private_key(_read(args.key, "private key"), _passphrase(confirm=False))
    data = _read(args.file, "file to sign")
    if args.note:
        output = sign_note(signer, data.decode("utf-8")).encode("utf-8")
        target = Path(args.out or args.file + ".note")
    else:
        output = sign_document(signer, data)
        target = Path(args.out or args.file + ".sig")
    target.write_bytes(output)
    print(f"wrote {target}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `python -m lottery`."""
    parser = argparse.ArgumentParser(
        prog="python -m lottery", description="Sunshine Draw protocol tools (sunshine-draw/1)"
    )
    commands = parser.add_subparsers(dest="command", required=True)

    draw = commands.add_parser("draw", help="compute result.json from the published files and the inputs")
    draw.add_argument("--population", required=True)
    draw.add_argument("--announcement", required=True)
    draw.add_argument("--inputs", required=True)
    draw.add_argument("--drawn-at", required=True, help="RFC 3339 UTC time, e.g. 2026-01-15T02:03:04Z")
    draw.set_defaults(run=command_draw)

    verify = commands.add_parser("verify", help="check a draw bundle (zip or folder)")
    verify.add_argument("bundle")
    verify.add_argument("--key", help="the office's vkey, or a file holding it")
    verify.add_argument(
        "--witness", action="append", help="a witness's vkey (or a file holding it) whose cosignatures count; repeat"
    )
    verify.add_argument("--quorum", type=int, help="how many of the --witness keys must have cosigned (default: all)")
    verify.set_defaults(run=command_verify)

    ticket = commands.add_parser("ticket", help="print one entry's ticket")
    ticket.add_argument("--seed", required=True)
    ticket.add_argument("--stage", required=True)
    ticket.add_argument("--id", required=True)
    ticket.set_defaults(run=command_ticket)

    witness = commands.add_parser(
        "witness",
        help="keep a log's checkpoint and detect any rewrite of its history",
        epilog="To run a cosigning witness: python -m lottery witness keygen|serve --help",
    )
    witness.add_argument("base_url", help="the service's address, e.g. https://draws.example.gov.tw")
    witness.add_argument("--state", required=True, help="file where the witness keeps what it saw")
    witness.add_argument("--key", help="the log's vkey to trust on the first run (else trust on first use)")
    witness.add_argument("--timeout", type=float, default=10.0)
    witness.set_defaults(run=command_witness)

    keygen = commands.add_parser("keygen", help="create an encrypted Ed25519 key and its vkey")
    keygen.add_argument("--name", required=True, help="the key's name: the log origin, e.g. ethics.kinmen.gov.tw/draws")
    keygen.add_argument("--out", default=".", help="folder to write NAME.key and NAME.vkey into")
    keygen.add_argument("--file-name", default="office")
    keygen.add_argument("--force", action="store_true")
    keygen.set_defaults(run=command_keygen)

    sign = commands.add_parser("sign", help="sign a file with an encrypted private key")
    sign.add_argument("file")
    sign.add_argument("--key", required=True, help="the encrypted private key file")
    sign.add_argument("--note", action="store_true", help="write a C2SP signed note instead of a .sig")
    sign.add_argument("--out")
    sign.set_defaults(run=command_sign)
    return parser


def build_witness_parser() -> argparse.ArgumentParser:
    """The parser of `python -m lottery witness keygen|serve` (a cosigning witness, C2SP tlog-witness)."""
    parser = argparse.ArgumentParser(prog="python -m lottery witness", description="run a cosigning witness")
    commands = parser.add_subparsers(dest="command", required=True)

    keygen = commands.add_parser("keygen", help="create a witness private key file and print its vkey")
    keygen.add_argument("--name", required=True, help="the witness's name, e.g. witness.kinmen-council.gov.tw")
    keygen.add_argument("--out", required=True, help="the private key file to create (never overwritten)")
    keygen.set_defaults(run=command_witness_keygen)

    serve = commands.add_parser("serve", help="answer POST /add-checkpoint with cosignatures")
    serve.add_argument("--key", required=True, help="the witness private key file (from witness keygen)")
    serve.add_argument(
        "--log", action="append", required=True, help="ORIGIN=OFFICE_VKEY (or a file holding it); repeat for more"
    )
    serve.add_argument("--state", required=True, help="the SQLite file where the witness records what it cosigned")
    serve.add_argument("--listen", default="127.0.0.1:8700", help="HOST:PORT (default 127.0.0.1:8700)")
    serve.set_defaults(run=command_witness_serve)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns the exit code."""
    arguments = sys.argv[1:] if argv is None else argv
    if arguments[:1] == ["witness"] and arguments[1:2] in (["keygen"], ["serve"]):
        args = build_witness_parser().parse_args(arguments[1:])
    else:
        args = build_parser().parse_args(arguments)
    try:
        code: int = args.run(args)
    except (ProtocolError, Refusal) as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    return code
