"""Named refusals of the protocol. Every message is one line a person can act on."""


class ProtocolError(ValueError):
    """A document or input does not follow `sunshine-draw/1`."""


class PopulationError(ProtocolError):
    """The population file is not canonical (protocol §2)."""


class AnnouncementError(ProtocolError):
    """The announcement is malformed (protocol §4)."""


class DrawRefused(ProtocolError):
    """The draw cannot be computed from these inputs (protocol §5–§7)."""


class SignatureError(ProtocolError):
    """A key, signature or signed note is malformed or does not verify (protocol §9)."""


class ProofError(ProtocolError):
    """A Merkle proof or checkpoint is malformed or does not verify (protocol §10)."""
