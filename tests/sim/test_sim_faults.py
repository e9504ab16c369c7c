"""Faults and misbehaviours: what each puts on the wire, and how scripts and rates pick them."""

from __future__ import annotations

import email.utils
import gzip
import http.client
import json
import threading
import time
import zlib
from collections.abc import Callable
from typing import Any

import pytest
import requests
import urllib3

from centaur_sim import FAULT_KINDS, MISBEHAVIOURS, SCRIPTED_KINDS, Simulator
from tests.harness import API_KEY, LIST, LOGIN, SimFactory
from tests.sim.helpers import HEADERS, KEY, Client, Page, login

FOREVER = 1_000_000
DATE_9999 = "Fri, 31 Dec 9999 23:59:59 -0100"
YEAR = 365 * 86400
Outcome = tuple[requests.Response, bytes] | Exception
IDENTITY = {**HEADERS, "Accept-Encoding": "identity"}  # the body as sent
AS_SENT: dict[str, Any] = {"allow_redirects": False, "stream": True}


def _fetch(sim: Simulator, task_id: int, read_timeout: float = 5) -> Outcome:
    """GET a page of `task_id` without gzip -> (response, the body as sent), or the error."""
    url = f"{sim.url}{LIST}?task_id={task_id}&limit=5"
    try:
        r = requests.get(url, headers=IDENTITY, timeout=(5, read_timeout), **AS_SENT)
        return r, r.raw.read(decode_content=False)
    except (requests.RequestException, urllib3.exceptions.HTTPError) as error:
        return error


def _date(r: requests.Response) -> float:
    return email.utils.parsedate_to_datetime(r.headers["Date"]).timestamp()


def _is(status: int, type_: str, body: bytes | None = None) -> Callable[[Any], bool]:
    def check(outcome: Any) -> bool:
        r, sent = outcome
        typed = r.headers["Content-Type"].startswith(type_)
        return r.status_code == status and typed and body in (None, sent)

    return check


def _page(check: Callable[[requests.Response], bool]) -> Callable[[Any], bool]:
    return lambda outcome: outcome[1].startswith(PAGE) and check(outcome[0])


def _starts(prefix: bytes) -> Callable[[Any], bool]:
    return lambda outcome: outcome[1].startswith(prefix)


def _gzipped(size: int, payload: list[Any]) -> Callable[[Any], bool]:
    """About size/1000 bytes that inflate to a last page of `size` bytes (give or take 2)."""

    def check(outcome: Any) -> bool:
        inflated = gzip.decompress(outcome[1])
        small = len(outcome[1]) < size / 100 + 100 and abs(len(inflated) - size) <= 2
        return small and json.loads(inflated) == {"payload": payload, "limit": 100}

    return check


PAGE = b'{"payload":[{"task_id":102'
FLOOD = b'{"payload":[' + b" " * 1974 + b'],"limit":100}'  # 2,000 bytes
ENDLESS = {"payload": [], "has_next": True, "last_sequence_id": 1, "limit": 5}
HERE = f"{LIST}?task_id=102&limit=5"
#: Per fault kind: extra fields of its script entry, and what a client sees.
WIRE: dict[str, tuple[dict[str, Any], Callable[[Any], bool]]] = {
    "429": ({}, lambda o: o[0].status_code == 429 and o[0].headers["Retry-After"] == "0"),
    "500": ({}, _is(500, "text/plain", b"Internal Server Error.")),
    "502": ({}, _is(502, "text/html")),
    "503": ({}, _is(503, "application/json", b'{"message":"Service Unavailable"}')),
    "reset": ({}, lambda o: isinstance(o, requests.ConnectionError)),
    "truncate": ({}, lambda o: isinstance(o, urllib3.exceptions.ProtocolError)),
    "timeout": ({}, lambda o: isinstance(o, requests.ReadTimeout)),
    "html200": ({}, _is(200, "text/html", b"<html><body>Gateway maintenance</body></html>")),
    "empty200": ({}, _is(200, "application/json", b"")),
    "bad_utf8": ({}, lambda o: o[0].status_code == 200 and b"\xff\xfe" in o[1]),
    "401": ({}, _is(401, "application/json", b'{"message":"Unauthorized"}')),
    "403": ({}, lambda o: o[0].status_code == 403 and b"restricted_country" in o[1]),
    "future_date": ({}, _page(lambda r: abs(_date(r) - time.time() - YEAR) < 60)),
    "no_date": ({}, _page(lambda r: "Date" not in r.headers)),
    "date_9999": ({}, _page(lambda r: r.headers["Date"] == DATE_9999)),
    "redirect": ({}, lambda o: o[0].status_code == 307 and o[0].headers["Location"] == HERE),
    "stall": ({}, lambda o: isinstance(o, urllib3.exceptions.ReadTimeoutError)),
    "answer": (
        {"status": 418, "body": '{"key": "{api_key}"}'},
        _is(418, "application/json", b'{"key": "' + API_KEY.encode() + b'"}'),
    ),
    "gzip_bomb": ({"size": 3_000_000}, _gzipped(3_000_000, [])),
    "object_bomb": ({"size": 3_000}, _gzipped(3_000, [{}] * 991)),
    "flood": ({"size": 2_000}, lambda o: "Content-Length" not in o[0].headers and o[1] == FLOOD),
    "gzip_flood": ({"size": 2_000}, _gzipped(2_000, [])),
    "empty_page": ({}, lambda o: json.loads(o[1]) == ENDLESS),
    "deep_json": ({"size": 3}, _starts(b'{"payload":[{"nested":{"a":{"a":{"a":1}}},"task_id":102')),
    "nan": ({}, _starts(b'{"payload":[{"agreement":NaN,"task_id":102')),
    "huge_number": ({}, _starts(b'{"payload":[{"agreement":1e400,"task_id":102')),
    "bom": ({}, _starts(b"\xef\xbb\xbf" + PAGE)),
    "gzip_cut": (
        {},
        lambda o: len((z := zlib.decompressobj(31)).decompress(o[1])) > 0 and not z.eof,
    ),
    "br": ({}, lambda o: o[0].headers["Content-Encoding"] == "br"),
}


@pytest.mark.parametrize("kind", FAULT_KINDS + SCRIPTED_KINDS)
def test_a_fault_for_one_task_lasts_and_spares_the_others(make_sim: SimFactory, kind: str) -> None:
    sim = make_sim(tasks=3, cases=30, spike_seconds=1, stall_byte_seconds=1)
    extra, shows = WIRE[kind]
    sim.script_faults([{"kind": kind, "count": FOREVER, "task_id": 102, **extra}])
    for attempt in (1, 2):
        outcome = _fetch(sim, 102, read_timeout=0.2 if kind in ("timeout", "stall") else 5)
        assert shows(outcome), outcome
        deadline = time.monotonic() + 10  # a client that gave up may be ahead of the simulator
        while sim.stats()["faults"].get(kind, 0) < attempt and time.monotonic() < deadline:
            time.sleep(0.01)
        assert sim.stats()["faults"] == {kind: attempt}
        assert Client(sim).page(task_id=101, limit=5)["payload"] == sim.truth(101)[:5]
    [pending] = sim.pending_faults()["script"]
    assert (pending["kind"], pending["count"]) == (kind, FOREVER - 2)
    if kind == "flood":
        assert sim.stats()["streamed_bytes"] == 2 * 2_000


def test_a_401_fault_revokes_a_session_token_but_not_the_static_one(sim: Simulator) -> None:
    session = Client.logged_in(sim)
    sim.script_faults([{"kind": "401", "count": 2}])
    assert [session.call(task_id=101).status_code for _ in range(2)] == [401, 401]
    assert sim.stats()["faults"] == {"401": 1}  # the second 401: the token is gone
    assert [Client(sim).call(task_id=101).status_code for _ in range(2)] == [401, 200]


def test_answer_sends_any_reason_phrase_and_the_key_in_every_form(sim: Simulator) -> None:
    sim.set(api_key="k/ey+1 x")
    client = Client(sim, {**HEADERS, "X-API-KEY": "k/ey+1 x"})
    body = '{"m": "{api_key_json} {api_key_url}", "raw": "{api_key}"}'
    reason = "No\rway\x1b[2J"
    sim.script_faults([{"kind": "answer", "status": 403, "reason": reason, "body": body}])
    r = client.call(task_id=101)
    assert (r.status_code, r.reason) == (403, reason)
    assert r.text == '{"m": "k\\/ey+1 x k%2Fey%2B1%20x", "raw": "k/ey+1 x"}'
    sim.script_faults([{"kind": "answer", "body": "text {api_key}"}])
    r = client.call(task_id=101)
    assert (r.status_code, r.text) == (400, "text k/ey+1 x")
    assert r.headers["Content-Type"] == "text/plain; charset=utf-8"


def test_scripts_match_by_path_and_task_and_come_after_auth(sim: Simulator, client: Client) -> None:
    sim.script_faults([{"kind": "503", "task_id": 102}, {"kind": "500", "path": "/tasks/"}])
    assert Client(sim, KEY).call(task_id=102).status_code == 401  # consumes nothing
    assert login(sim).status_code == 200  # no path: the data endpoints only
    assert client.call(task_id=101).status_code == 200
    assert client.call(task_id=102).status_code == 503
    assert client.call("/tasks/public/v1/list").status_code == 500
    assert sim.pending_faults()["script"] == []
    sim.script_faults([{"kind": "502", "path": LOGIN}])
    assert login(sim).status_code == 502


@pytest.mark.parametrize("ending", ["the client leaves", "the simulator stops"])
def test_a_stall_ends_when_the_client_or_the_simulator_goes(
    make_sim: SimFactory, ending: str
) -> None:
    """The tap cannot see this: the simulator's dripping thread must end, not drip for minutes."""
    sim = make_sim(stall_byte_seconds=0.05)
    sim.script_faults([{"kind": "stall"}])
    before = {t for t in threading.enumerate() if "process_request" in t.name}
    conn = http.client.HTTPConnection("127.0.0.1", sim.port, timeout=5)
    conn.request("GET", f"{LIST}?task_id=101", headers=IDENTITY)
    response = conn.getresponse()
    assert (response.status, response.read(3)) == (200, b'{"p')
    assert int(response.getheader("Content-Length") or 0) > 10_000  # minutes at this pace
    [dripping] = {t for t in threading.enumerate() if "process_request" in t.name} - before
    conn.close() if ending == "the client leaves" else sim.stop()
    dripping.join(timeout=10)
    assert not dripping.is_alive()
    conn.close()


def _first_pages(client: Client) -> list[Page]:
    """The first three pages of task 101 (10 cases each), following whatever cursor they give."""
    pages = [client.page(task_id=101, limit=10)]
    while len(pages) < 3 and pages[-1].get("last_sequence_id") is not None:
        cursor = pages[-1]["last_sequence_id"]
        pages.append(client.page(task_id=101, limit=10, last_sequence_id=cursor))
    return pages


def _first(pages: list[Page]) -> Any:
    return pages[0]["payload"][0]


def _cursors(pages: list[Page]) -> list[int | None]:
    return [page.get("last_sequence_id") for page in pages]


#: Per misbehaviour: what the first three pages of the task show, given its sequence ids.
SHAPES: dict[str, Callable[[list[Page], list[int]], bool]] = {
    "payload_not_list": lambda p, seq: len(p[0]["payload"]["cases"]) == 10,
    "has_next_not_bool": lambda p, seq: p[0]["has_next"] == "yes",
    "cursor_backwards": lambda p, seq: _cursors(p)[:2] == [seq[9], seq[9] - 1],
    "cursor_repeat": lambda p, seq: _cursors(p)[:2] == [seq[9], seq[9]] and p[0] != p[1],
    "cursor_cycle": lambda p, seq: _cursors(p) == [seq[9], seq[19], seq[9]],
    "has_next_without_cursor": lambda p, seq: p[0]["has_next"] is True and _cursors(p) == [None],
    "missing_case_id": lambda p, seq: "case_id" not in _first(p),
    "missing_labeling_state": lambda p, seq: "labeling_state" not in _first(p),
    "wrong_types": lambda p, seq: (
        (_first(p)["case_id"], _first(p)["qualified_reads"]) == ("abc", "x")
    ),
    "odd_labels": lambda p, seq: (
        (_first(p)["correct_label"], _first(p)["majority_label"])
        == ({"class": "Nodule", "score": 0.9}, 3)
    ),
    "wrong_nested_type": lambda p, seq: _first(p)["read_stats"]["total_reads"] == "12",
    "empty_pages": lambda p, seq: (
        [len(page["payload"]) for page in p] == [0, 10, 0]
        and _cursors(p) == [seq[0] - 1, seq[9], seq[9] + 1]
    ),
    "has_next_false_with_cursor": lambda p, seq: (
        _cursors(p) == [seq[9], seq[19], seq[29]] and p[2]["has_next"] is False
    ),
    "v2_shape": lambda p, seq: _cursors(p) == [seq[9], seq[19], None],  # v1 pages: unchanged
}


@pytest.mark.parametrize("kind", MISBEHAVIOURS)
def test_misbehaviours_shape_the_pages_of_one_task(make_sim: SimFactory, kind: str) -> None:
    sim = make_sim(tasks=3, cases=30)
    client = Client(sim)
    sim.set_misbehaviour(101, kind)
    pages = _first_pages(client)
    assert SHAPES[kind](pages, [m["sequence_id"] for m in sim.truth_meta(101)]), pages
    assert client.walk(task_id=102, limit=10)[0] == sim.truth(102)  # other tasks unaffected
    if kind == "v2_shape":
        first = client.page("/results/public/v2/list", task_id=101, limit=10)
        assert list(first) == ["results", "next"] and isinstance(first["next"], str)
    assert set(sim.stats()["misbehaviours"]) == {kind}
    sim.set_misbehaviour(101, None)
    assert client.walk(task_id=101, limit=10)[0] == sim.truth(101)
