"""Load during a live draw: many viewers polling the stage display and fetching result.json.

Each simulated viewer loops for the duration: GET /draws/<id>/live.json with the ETag it last saw
(as the stage display does) and, every fifth round, GET /draws/<id>/result.json. Loopback only.

    python benchmarks/live_load.py --base http://127.0.0.1:8000 --draw kinmen-114-annual \
        --clients 200 --seconds 30

The reliability test (tests/reliability/test_load.py) runs the same load and requires zero errors.
"""

import argparse
import http.client
import statistics
import threading
import time
import urllib.parse
from dataclasses import dataclass, field


@dataclass
class LoadResult:
    """Latencies (seconds) of successful requests, and the errors seen."""

    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    seconds: float = 0.0

    def percentile(self, q: float) -> float:
        """The q-quantile of the latencies, in milliseconds."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    def summary(self) -> str:
        """One line for people."""
        total = len(self.latencies) + len(self.errors)
        rate = total / self.seconds if self.seconds else 0.0
        mean = 1000 * statistics.fmean(self.latencies) if self.latencies else float("nan")
        return (
            f"{total} requests in {self.seconds:.1f} s ({rate:.0f}/s), {len(self.errors)} errors, "
            f"p50 {self.percentile(0.50):.1f} ms, p99 {self.percentile(0.99):.1f} ms, mean {mean:.1f} ms, "
            f"statuses {dict(sorted(self.statuses.items()))}"
        )


def run_load(base: str, draw_id: str, clients: int = 200, seconds: float = 30.0) -> LoadResult:
    """Run the load against a server on loopback; stops by itself after `seconds`."""
    parsed = urllib.parse.urlsplit(base)
    if parsed.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise ValueError("load tests only target this machine's loopback")
    result = LoadResult()
    lock = threading.Lock()
    deadline = time.monotonic() + seconds
    start = threading.Barrier(clients + 1)

    def viewer() -> None:
        connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
        etag = ""
        rounds = 0
        start.wait()
        while time.monotonic() < deadline:
            path = f"/draws/{draw_id}/result.json" if rounds % 5 == 4 else f"/draws/{draw_id}/live.json"
            headers = {"If-None-Match": etag} if etag and path.endswith("live.json") else {}
            began = time.perf_counter()
            try:
                connection.request("GET", path, headers=headers)
                response = connection.getresponse()
                response.read()
                elapsed = time.perf_counter() - began
                with lock:
                    result.statuses[response.status] = result.statuses.get(response.status, 0) + 1
                    if response.status in (200, 304):
                        result.latencies.append(elapsed)
                    else:
                        result.errors.append(f"{path}: HTTP {response.status}")
                if path.endswith("live.json"):
                    etag = response.getheader("ETag") or etag
            except (OSError, http.client.HTTPException) as exc:
                with lock:
                    result.errors.append(f"{path}: {type(exc).__name__}")
                connection.close()
                connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
            rounds += 1
            time.sleep(0.5)  # the stage display polls about twice a second
        connection.close()

    threads = [threading.Thread(target=viewer, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.monotonic()
    for thread in threads:
        thread.join(timeout=seconds + 60)
    result.seconds = time.monotonic() - began
    return result


def main() -> None:
    """Command line: print the summary line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--draw", default="kinmen-114-annual")
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    print(run_load(args.base, args.draw, args.clients, args.seconds).summary())


if __name__ == "__main__":
    main()
