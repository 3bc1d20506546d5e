"""Fixtures of the protocol tests: a fresh office key and a complete bundle signed with it."""

import pytest

from lottery.signing import Signer, generate_signer
from tests.lottery.bundles import ORIGIN, DrawBundle, build_bundle


@pytest.fixture
def signer() -> Signer:
    """A new office key named after the log origin."""
    return generate_signer(ORIGIN)


@pytest.fixture
def bundle(signer: Signer) -> DrawBundle:
    """A complete, correctly signed bundle of the `stratified-244` vector."""
    return build_bundle(signer)
