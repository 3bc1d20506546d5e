"""`flask audit …`: check the stored log and documents, and prove a review case's records."""

from typing import Any

import click
from flask.cli import AppGroup

from service.extensions import db, session


@click.group(cls=AppGroup)
def audit() -> None:
    """Check the stored log and documents."""


@audit.command("verify")
def audit_verify() -> None:
    """Recompute the log, every checkpoint and every published draw; exit 1 naming each problem."""
    from service.integrity import self_check

    problems = self_check(session())
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
            note, proofs = prove_case(session(), row)
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
