"""The floor client: the least work any extractor of Centaur results must do.

`python scripts/floor_client.py --config tap-config.json > records.jsonl` reads the same config
file as the tap (api_url, api_key, username, api_password, task_ids, page_size), logs in once,
then for each task fetches `/results/public/v1/list` page by page with one `requests.Session`
(keep-alive, gzip, the tap's headers), following `last_sequence_id` while `has_next` is true. It
decodes each page with `json` and prints one Singer RECORD line per case with `json.dumps`. No
SCHEMA, STATE, retries, checks or logging: `scripts/bench.py` compares the tap's CPU cost with
this one's. With `--threads N` (N > 1), N threads fetch the tasks, each with its own session
and the same token, and write each page's lines at once: the benchmark's reference for wall
time under latency.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

LOGIN_PATH = "/auth/public/v1/login"
LIST_PATH = "/results/public/v1/list"
STREAM = "task_results"
USER_AGENT = "tap-centaur-floor/1"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, type=Path, help="the tap's config file")
    parser.add_argument("--threads", type=int, default=1, help="tasks fetched at the same time")
    return parser.parse_args(argv)


def open_session(config: dict[str, Any]) -> requests.Session:
    """Log in and return a session that sends the tap's headers and the token."""
    session = requests.Session()
    session.headers.update(
        {
            "User-Agent": USER_AGENT,
            "Content-Type": "application/json",
            "Accept": "application/json",
            "Accept-Encoding": "gzip",
            "X-API-KEY": config["api_key"],
        }
    )
    credentials = {"username": config["username"], "api_password": config["api_password"]}
    response = session.post(config["api_url"] + LOGIN_PATH, json=credentials, timeout=60)
    response.raise_for_status()
    session.headers["Authorization"] = f"Bearer {response.json()['token']}"
    return session


def write_task(
    session: requests.Session,
    url: str,
    task_id: int,
    page_size: int | None,
    lock: threading.Lock | None = None,
) -> int:
    """Print a RECORD line per case of one task; return how many.

    With `lock` (several threads), each page's lines are written at once, under the lock.
    """
    write, dumps = sys.stdout.write, json.dumps
    params: dict[str, Any] = {"task_id": task_id}
    if page_size is not None:
        params["limit"] = page_size
    count = 0
    while True:
        response = session.get(url, params=params, timeout=60)
        response.raise_for_status()
        page = json.loads(response.content)
        if lock is None:
            for case in page["payload"]:
                message = {"type": "RECORD", "stream": STREAM, "record": case}
                write(dumps(message, separators=(",", ":")) + "\n")
        else:
            lines = [
                dumps({"type": "RECORD", "stream": STREAM, "record": case}, separators=(",", ":"))
                for case in page["payload"]
            ]
            with lock:
                write("\n".join(lines) + "\n" if lines else "")
        count += len(page["payload"])
        if not page.get("has_next"):
            return count
        params["last_sequence_id"] = page["last_sequence_id"]


def main(argv: list[str] | None = None) -> int:
    """Extract every configured task to stdout; the record count goes to stderr."""
    args = parse_args(argv)
    config = json.loads(args.config.read_text(encoding="utf-8"))
    session = open_session(config)
    url = config["api_url"] + LIST_PATH
    page_size = config.get("page_size")
    task_ids = [int(task_id) for task_id in config["task_ids"]]
    if args.threads <= 1:  # the CPU floor of measurement 1: one session, one thread
        total = sum(write_task(session, url, task_id, page_size) for task_id in task_ids)
    else:
        lock, local = threading.Lock(), threading.local()

        def fetch(task_id: int) -> int:
            if not hasattr(local, "session"):  # one connection per thread, the same token
                local.session = requests.Session()
                local.session.headers.update(session.headers)
            return write_task(local.session, url, task_id, page_size, lock)

        with ThreadPoolExecutor(max_workers=args.threads) as pool:
            total = sum(pool.map(fetch, task_ids))
    sys.stdout.flush()
    print(f"floor client: {total} records", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
