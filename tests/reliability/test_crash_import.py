"""Crash consistency during import: see tests/reliability/crashing.py."""

import random

import pytest

from tests.reliability.crashing import (
    Witness,
    declarants,
    kill_during,
    run_trials,
    signed_in,
    upload,
    wait_for,
)
from tests.reliability.harness import (
    Server,
    prepare_deployment,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(3600)]


def test_crash_during_import(deployment: dict[str, str]) -> None:
    prepare_deployment(deployment, draft=False)
    from service.demo import demo_csv

    server = Server(deployment, workers=1)
    witness = Witness()
    rng = random.Random(7)

    def trial(i: int) -> None:
        year = 120 + i
        server.start()
        client = signed_in(server, deployment)
        witness.observe(client)
        data = demo_csv(seed=i, year=year)
        upload_id = upload(client, data, year)
        assert wait_for(client, upload_id, ("ready",)) == "ready"
        kill_during(server, lambda: client.post(f"/operator/uploads/{upload_id}/import"), rng.uniform(0.0, 0.6))
        server.start()
        count = declarants(deployment, year)
        assert count in (0, 244), f"trial {i}: {count} declarants of year {year} after a crash"
        if count == 0:  # redo: upload again and import; it must complete
            again = upload(client, data, year)
            assert wait_for(client, again, ("ready",)) == "ready"
            client.post(f"/operator/uploads/{again}/import")
            assert wait_for(client, again, ("imported",)) == "imported"
            assert declarants(deployment, year) == 244
        witness.check(client)
        server.kill()

    run_trials(trial, server, deployment)
