"""Office keys, detached signatures and C2SP signed notes (protocol §9), with Go's sumdb vectors."""

import base64
import hashlib
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from lottery.errors import SignatureError
from lottery.signing import (
    Signer,
    Verifier,
    check_name,
    generate_signer,
    load_vkey,
    open_note,
    parse_private_key_string,
    parse_vkey,
    public_bytes,
    sign_document,
    sign_note,
    verify_document,
)

# golang.org/x/mod/sumdb/note note_test.go
PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
PETER_SIG = (
    "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)
ENOCH_SIG = "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n"
PROPERTY = settings(max_examples=80, deadline=None, database=None)
NOTE_SIGNER = generate_signer("example.org/log")


def test_go_sumdb_vector_signs_byte_for_byte() -> None:
    signer = parse_private_key_string(PETER_SKEY)
    assert signer.verifier.vkey == PETER_VKEY
    assert sign_note(signer, TEXT) == TEXT + "\n" + PETER_SIG


def test_go_sumdb_vector_verifies() -> None:
    peter = parse_vkey(PETER_VKEY)
    text, verified = open_note(TEXT + "\n" + PETER_SIG, [peter])
    assert text == TEXT
    assert verified == [peter]


def test_go_sumdb_note_with_two_signatures() -> None:
    peter, enoch = parse_vkey(PETER_VKEY), parse_vkey(ENOCH_VKEY)
    note = TEXT + "\n" + PETER_SIG + ENOCH_SIG
    assert open_note(note, [peter]) == (TEXT, [peter])  # Enoch's signature is by an unknown key here
    assert open_note(note, [peter, enoch]) == (TEXT, [peter, enoch])
    with pytest.raises(SignatureError, match=r"^note carries no signature from a known key$"):
        open_note(note, [])


def test_go_sumdb_invalid_signature_is_refused() -> None:
    note = TEXT + "\n" + PETER_SIG[:60] + "ABCD" + PETER_SIG[60:]
    with pytest.raises(SignatureError, match=r"^note signature by PeterNeumann does not verify$"):
        open_note(note, [parse_vkey(PETER_VKEY)])


@pytest.mark.parametrize(
    "note",
    [
        TEXT,
        TEXT + "\n",
        TEXT + "\n" + PETER_SIG[:-1],
        "\x01" + TEXT + "\n" + PETER_SIG,
        TEXT
        + "\n"
        + "— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=",
        TEXT + "\n" + PETER_SIG + "Unexpected line.\n",
        TEXT + "\n" + PETER_SIG * 101,
    ],
    ids=["no-signatures", "blank-only", "no-final-newline", "control-char", "bad-name", "extra-line", "101-signatures"],
)
def test_go_sumdb_malformed_notes_are_refused(note: str) -> None:
    with pytest.raises(SignatureError):
        open_note(note, [parse_vkey(PETER_VKEY)])


def test_go_sumdb_every_mangled_vkey_is_refused() -> None:
    for start in range(len(PETER_VKEY) + 1):
        for end in range(start + 1, len(PETER_VKEY) + 1):
            if (start, end) != (0, len(PETER_VKEY)):
                with pytest.raises(SignatureError):
                    parse_vkey(PETER_VKEY[start:end])
    for position in range(len(PETER_VKEY)):
        mangled = PETER_VKEY[:position] + chr(ord(PETER_VKEY[position]) + 1) + PETER_VKEY[position + 1 :]
        with pytest.raises(SignatureError):
            parse_vkey(mangled)


def test_go_sumdb_every_mangled_private_key_is_refused() -> None:
    for position in range(len(PETER_SKEY)):
        mangled = PETER_SKEY[:position] + chr(ord(PETER_SKEY[position]) + 1) + PETER_SKEY[position + 1 :]
        with pytest.raises(SignatureError):
            parse_private_key_string(mangled)
    for end in range(len(PETER_SKEY)):
        with pytest.raises(SignatureError):
            parse_private_key_string(PETER_SKEY[:end])


def test_key_id_follows_the_spec() -> None:
    verifier = parse_vkey(PETER_VKEY)
    material = b"PeterNeumann\n\x01" + public_bytes(verifier.public_key)
    assert verifier.key_id == hashlib.sha256(material).digest()[:4] == bytes.fromhex("c74f20a3")
    assert verifier.name == "PeterNeumann"
    assert verifier.vkey == PETER_VKEY


def _vkey_with(name: str, key_id: str, raw: bytes) -> str:
    return f"{name}+{key_id}+{base64.b64encode(raw).decode()}"


PETER_RAW = base64.b64decode(PETER_VKEY.split("+")[2])


@pytest.mark.parametrize(
    ("vkey", "message"),
    [
        ("", "a verifier key must be <name>\\+<key id>\\+<base64 key>"),
        ("PeterNeumann+c74f20a3", "a verifier key must be <name>\\+<key id>\\+<base64 key>"),
        ("+c74f20a3+" + PETER_VKEY.split("+")[2], "key name '' must be non-empty with no spaces and no '\\+'"),
        ("Peter Neumann+c74f20a3+" + PETER_VKEY.split("+")[2], "key name 'Peter Neumann' must be non-empty"),
        ("PeterNeumann+c74f20zz+" + PETER_VKEY.split("+")[2], "verifier key is not valid hex and base64"),
        (
            "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwx!zhKqiBfsVkmqq/LDE4izWy10TW",
            "verifier key is not valid hex and base64",
        ),
        (_vkey_with("PeterNeumann", "c74f20a3", b"\x02" + PETER_RAW[1:]), "verifier key is not an Ed25519 key"),
        (_vkey_with("PeterNeumann", "c74f20a3", PETER_RAW[:-1]), "verifier key is not an Ed25519 key"),
        (_vkey_with("PeterNeumann", "c74f20", PETER_RAW), "verifier key is not an Ed25519 key"),
        (_vkey_with("PeterNeumann", "c74f20a4", PETER_RAW), "verifier key id does not match its name and key"),
        (_vkey_with("PaulNeumann", "c74f20a3", PETER_RAW), "verifier key id does not match its name and key"),
    ],
    ids=[
        "empty",
        "two-parts",
        "no-name",
        "space-in-name",
        "bad-hex",
        "bad-base64",
        "algorithm-2",
        "short-key",
        "short-id",
        "wrong-id",
        "other-name",
    ],
)
def test_malformed_vkeys_are_refused(vkey: str, message: str) -> None:
    with pytest.raises(SignatureError, match=f"^{message}"):
        parse_vkey(vkey)


def test_load_vkey_from_the_string_or_a_file(tmp_path: Path) -> None:
    assert load_vkey(PETER_VKEY).vkey == PETER_VKEY
    (tmp_path / "office.vkey").write_text(PETER_VKEY + "\n")
    assert load_vkey(str(tmp_path / "office.vkey")).vkey == PETER_VKEY
    with pytest.raises(SignatureError, match=r"^cannot read key file .*missing.vkey: No such file or directory$"):
        load_vkey(str(tmp_path / "missing.vkey"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("PRIVATE+KEY+PeterNeumann", "a private key string must be PRIVATE\\+KEY\\+<name>\\+<id>\\+<base64 key>"),
        (PETER_SKEY.replace("PRIVATE", "PUBLIC"), "a private key string must be"),
        (PETER_SKEY[:-4] + "!!!!", "private key is not valid base64"),
        (PETER_SKEY[:-1] + "é", "private key is not valid base64"),
        (PETER_SKEY.replace("+AYEK", "+AoEK"), "private key is not an Ed25519 key"),
        (PETER_SKEY.replace("c74f20a3", "c74f20a4"), "private key id does not match its name and key"),
    ],
)
def test_malformed_private_key_strings_are_refused(text: str, message: str) -> None:
    with pytest.raises(SignatureError, match=f"^{message}"):
        parse_private_key_string(text)


@pytest.mark.parametrize("name", ["", "a b", "a+b", "tab\there", "line\n"])
def test_key_names_are_checked(name: str) -> None:
    with pytest.raises(SignatureError, match=r"must be non-empty with no spaces and no '\+'"):
        check_name(name)
    with pytest.raises(SignatureError):
        generate_signer(name)


def test_generated_keys_are_fresh_and_self_consistent() -> None:
    first, second = generate_signer("ethics.example/draws"), generate_signer("ethics.example/draws")
    assert first.verifier.vkey != second.verifier.vkey
    assert parse_vkey(first.verifier.vkey).key_id == first.verifier.key_id


def test_detached_signature_round_trip(signer: Signer) -> None:
    data = b'{"draw_id":"x"}'
    signature_file = sign_document(signer, data)
    assert signature_file.endswith(b"\n") and signature_file.count(b"\n") == 1
    assert len(base64.b64decode(signature_file)) == 64
    verify_document(signer.verifier, data, signature_file)


def test_detached_signature_checks_key_and_data(signer: Signer) -> None:
    signature_file = sign_document(signer, b"data")
    other = generate_signer(signer.name).verifier
    expected = f"^signature does not verify with key {other.name}\\+{other.key_id.hex()}$"
    with pytest.raises(SignatureError, match=expected):
        verify_document(other, b"data", signature_file)
    with pytest.raises(SignatureError, match=r"^signature does not verify with key "):
        verify_document(signer.verifier, b"data ", signature_file)


def _signature_file_refusals() -> list[tuple[bytes, str]]:
    good = sign_document(NOTE_SIGNER, b"data")
    return [
        (good.rstrip(b"\n"), "signature file must be one base64 line ending with a newline"),
        (good + b"\n", "signature file must be one base64 line ending with a newline"),
        (good[:44] + b"\n" + good[44:], "signature file must be one base64 line ending with a newline"),
        (b"", "signature file must be one base64 line ending with a newline"),
        (b"!" + good[1:], "signature file is not valid base64"),
        (b"\xc3\xa9" + good[2:], "signature file is not valid base64"),
        (good[:-3] + b"\n", "signature file is not valid base64"),
        (base64.b64encode(b"\x00" * 63) + b"\n", "signature is not 64 bytes"),
        (good[:-4] + b"h==\n", "signature file is not canonical base64"),
    ]


@pytest.mark.parametrize(
    ("signature_file", "message"),
    # ids by position: the signer is fresh each run, and parallel workers must collect the same names
    [pytest.param(*case, id=f"{index}") for index, case in enumerate(_signature_file_refusals())],
)
def test_bad_signature_files_are_refused(signature_file: bytes, message: str) -> None:
    with pytest.raises(SignatureError, match=f"^{message}$"):
        verify_document(NOTE_SIGNER.verifier, b"data", signature_file)


@PROPERTY
@given(data=st.binary(max_size=200), position=st.integers(0, 88), value=st.integers(0, 255))
def test_any_altered_byte_of_a_signature_file_is_refused(data: bytes, position: int, value: int) -> None:
    signature_file = bytearray(sign_document(NOTE_SIGNER, data))
    assume(signature_file[position] != value)
    signature_file[position] = value
    with pytest.raises(SignatureError):
        verify_document(NOTE_SIGNER.verifier, data, bytes(signature_file))


note_lines = st.text(st.characters(exclude_characters="\n", exclude_categories=["Cs"]), min_size=1, max_size=40)
note_texts = st.lists(note_lines, min_size=1, max_size=5).map(lambda lines: "\n".join(lines) + "\n")


@PROPERTY
@given(text=note_texts)
def test_signed_notes_round_trip(text: str) -> None:
    note = sign_note(NOTE_SIGNER, text)
    assert note.startswith(text + "\n— example.org/log ")
    assert open_note(note, [NOTE_SIGNER.verifier]) == (text, [NOTE_SIGNER.verifier])


@PROPERTY
@given(
    text=note_texts,
    data=st.data(),
    replacement=st.one_of(st.characters(codec="ascii"), st.sampled_from(["\n", " ", "—", "é", "\u00a0", "+", "="])),
)
def test_any_altered_character_of_a_signed_note_is_refused(text: str, data: st.DataObject, replacement: str) -> None:
    note = sign_note(NOTE_SIGNER, text)
    position = data.draw(st.integers(0, len(note) - 1), label="position")
    assume(note[position] != replacement)
    altered = note[:position] + replacement + note[position + 1 :]
    with pytest.raises(SignatureError):
        open_note(altered, [NOTE_SIGNER.verifier])


@PROPERTY
@given(text=note_texts, data=st.data())
def test_any_altered_byte_of_an_encoded_note_is_refused(text: str, data: st.DataObject) -> None:
    encoded = bytearray(sign_note(NOTE_SIGNER, text).encode("utf-8"))
    position = data.draw(st.integers(0, len(encoded) - 1), label="position")
    value = data.draw(st.integers(0, 255).filter(lambda v: v != encoded[position]), label="value")
    encoded[position] = value
    with pytest.raises((SignatureError, UnicodeDecodeError)):
        open_note(bytes(encoded).decode("utf-8"), [NOTE_SIGNER.verifier])


def test_the_last_base64_character_of_a_note_cannot_be_respelled() -> None:
    # 68 bytes of key id and signature leave two unused bits in the last base64 character.
    note = sign_note(NOTE_SIGNER, "hello\n")
    last = note[-3]
    for replacement in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/":
        if replacement != last:
            with pytest.raises(SignatureError):
                open_note(note[:-3] + replacement + note[-2:], [NOTE_SIGNER.verifier])


@pytest.mark.parametrize("text", ["no newline", "two\n\nparagraphs\n", "\n\n"])
def test_sign_note_refuses_text_that_cannot_be_a_note(text: str) -> None:
    with pytest.raises(SignatureError, match=r"^note text must end with a newline and contain no blank line$"):
        sign_note(NOTE_SIGNER, text)


def _note_refusals() -> list[tuple[str, str]]:
    good = sign_note(NOTE_SIGNER, "hello\n")
    text, signature = good.split("\n\n")
    return [
        ("hello\n", "note must be text, a blank line, and signature lines"),
        (good[:-1], "note must be text, a blank line, and signature lines"),
        ("hello\n\n", "note has no signature lines, or too many"),
        (text + "\n\n" + (signature + "\n") * 101, "note has no signature lines, or too many"),
        (text + "\n\n- example.org/log AAAA\n", "malformed note signature line"),
        (text + "\n\n— example.org/log  AAAA\n", "malformed note signature line"),
        (text + "\n\n— example.org/log\n", "malformed note signature line"),
        (text + "\n\n— example.org/log AA!A\n", "note signature is not valid base64"),
        (text + "\n\n— example.org/log AA—A\n", "note signature is not valid base64"),
        (text + "\n\n— example.org/log AAB=\n", "note signature is not canonical base64"),
        (text + "\n\n— example.org/log AAAA\n", "note signature is too short"),
        ("x" * 1_000_001, "note is too large"),
    ]


@pytest.mark.parametrize(("note", "message"), _note_refusals())
def test_malformed_notes_are_refused_with_a_reason(note: str, message: str) -> None:
    with pytest.raises(SignatureError, match=f"^{message}$"):
        open_note(note, [NOTE_SIGNER.verifier])


def test_a_known_key_with_another_id_is_not_used(signer: Signer) -> None:
    # Same name, different key: the signature line's key id does not match, so it is ignored.
    impostor = Verifier(signer.name, b"\x00\x00\x00\x00", signer.verifier.public_key)
    with pytest.raises(SignatureError, match=r"^note carries no signature from a known key$"):
        open_note(sign_note(signer, "hello\n"), [impostor])
