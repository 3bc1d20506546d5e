"""Fixtures of the protocol tests: a fresh office key and a complete bundle signed with it."""

import pytest

from lottery.signing import Signer, generate_signer
from tests.lottery.bundles import ORIGIN, TIMED, DrawBundle, build_bundle


@pytest.fixture
def signer() -> Signer:
    """A new office key named after the log origin."""
    return generate_signer(ORIGIN)


@pytest.fixture
def bundle(signer: Signer) -> DrawBundle:
    """A complete, correctly signed bundle of the `stratified-244` vector."""
    return build_bundle(signer)


@pytest.fixture
def timed_bundle(signer: Signer) -> DrawBundle:
    """A complete bundle of `timed-bindings-244`: input window, bindings.tsv and events.json."""
    return build_bundle(signer, TIMED)
