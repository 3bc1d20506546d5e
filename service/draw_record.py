"""A draw's stored record read back: its inputs, whether it can complete, whether its secret opens.

Pure reads of a `Draw` row (no session, no lock): `service.draw_lifecycle` takes its steps
from them, and the console shows what they say.
"""

from typing import Any

from lottery.drand import Beacon
from lottery.draw import DrawInputs
from service.config import Settings
from service.models import Draw
from service.sealing import SecretLost, unseal_secret


def secret_opens(draw: Draw, settings: Settings) -> bool:
    """True when the draw's sealed secret can still be opened with this deployment's key."""
    try:
        unseal_secret(
            draw.sealed_secret or b"",
            draw_id=draw.draw_id,
            committed=draw.commitment or "",
            deployment_secret=settings.secret_key,
        )
    except SecretLost:
        return False
    return True


def inputs_of(draw: Draw) -> DrawInputs:
    """The inputs recorded so far, in the shape the protocol takes."""
    beacon = draw.drand_beacon
    return DrawInputs(
        secret=draw.revealed_secret or "",
        dice=draw.dice,
        drand=Beacon(beacon["round"], beacon["randomness"], beacon["signature"]) if beacon else None,
    )


def ready_to_complete(draw: Draw) -> bool:
    """True when every announced input is recorded and the result is not yet computed."""
    return draw.status == "announced" and draw.drawn_at is not None and draw.result is None


def parse_json(data: bytes) -> Any:
    """Parse stored canonical JSON."""
    from lottery.canonical import load_canonical

    return load_canonical(data, "stored document")


def recorded_inputs(draw: Draw, settings: Settings) -> dict[str, Any]:
    """What an abandoned draw publishes (protocol §10 `draw.abandoned`): every input recorded so far,
    and the secret whenever this deployment can still unseal it, revealed or not."""
    inputs: dict[str, Any] = {}
    secret = draw.revealed_secret
    if secret is None and draw.sealed_secret is not None:
        try:
            secret = unseal_secret(
                draw.sealed_secret,
                draw_id=draw.draw_id,
                committed=draw.commitment or "",
                deployment_secret=settings.secret_key,
            )
        except SecretLost:
            secret = None
    if secret is not None:
        inputs["secret"] = secret
    if draw.dice is not None:
        inputs["dice"] = draw.dice
    if draw.drand_beacon is not None:
        inputs["drand"] = dict(draw.drand_beacon)
    return inputs
