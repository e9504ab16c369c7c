"""The floor client: the least work any extractor of Centaur results must do.

`python scripts/floor_client.py --config tap-config.json > records.jsonl` reads the same config
file as the tap (api_url, api_key, username, api_password, task_ids, page_size), logs in once,
then for each task fetches `/results/public/v1/list` page by page with one `requests.Session`
(keep-alive, gzip, the tap's headers), following `last_sequence_id` while `has_next` is true. It
decodes each page with `json` and prints one Singer RECORD line per case with `json.dumps`. No
SCHEMA, STATE, retries, checks or logging: `scripts/bench.py` compares the tap's CPU cost with
this one's.
"""

from __future__ import annotations

import argparse
import json
import sys
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


def write_task(session: requests.Session, url: str, task_id: int, page_size: int | None) -> int:
    """Print a RECORD line per case of one task; return how many."""
    write, dumps = sys.stdout.write, json.dumps
    params: dict[str, Any] = {"task_id": task_id}
    if page_size is not None:
        params["limit"] = page_size
    count = 0
    while True:
        response = session.get(url, params=params, timeout=60)
        response.raise_for_status()
        page = json.loads(response.content)
        for case in page["payload"]:
            message = {"type": "RECORD", "stream": STREAM, "record": case}
            write(dumps(message, separators=(",", ":")) + "\n")
        count += len(page["payload"])
        if not page.get("has_next"):
            return count
        params["last_sequence_id"] = page["last_sequence_id"]


def main(argv: list[str] | None = None) -> int:
    """Extract every configured task to stdout; the record count goes to stderr."""
    config = json.loads(parse_args(argv).config.read_text(encoding="utf-8"))
    session = open_session(config)
    url = config["api_url"] + LIST_PATH
    total = sum(
        write_task(session, url, int(task_id), config.get("page_size"))
        for task_id in config["task_ids"]
    )
    sys.stdout.flush()
    print(f"floor client: {total} records", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
