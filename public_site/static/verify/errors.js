// Named refusals of the protocol (lottery/errors.py): every message is one line a person can act on.

/** A draw or document that the protocol refuses; the message says why. */
export class ProtocolError extends Error {}

/** Refuse with `message`. */
export function fail(message) {
  throw new ProtocolError(message);
}
