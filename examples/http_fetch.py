"""Fetch JSON and stream server-sent events from an HTTP API inside a flow.

Run it with ``python examples/http_fetch.py``. It takes a fraction of a second and needs no network:
the script serves a tiny JSON API itself, with ``flowno_core.io.HttpServer`` on 127.0.0.1 (port 0:
the OS picks a free one), on a background thread (``ServerThread``), because a flow owns its event
loop while it runs.

The API::

    GET /stations                 -> ["north", "south"]                      (JSON)
    GET /stations/{name}          -> {"name": ..., "unit": "C", "offset": ...} (JSON; 404 if unknown)
    GET /stations/{name}/readings -> one event per reading, then [DONE]      (server-sent events)

The flow::

    HttpGet(/stations) --> Describe (one more request per station, with the io client)
    SSESource(/stations/north/readings) --events--> RunningMean (prints each reading as it arrives)

``HttpGet`` makes one request and returns the decoded body. ``Describe`` shows the other way: a
node that calls ``flowno_core.io.HttpClient`` itself, here to fetch every station it was given.
``SSESource`` streams the events: ``RunningMean`` sees each one as soon as the server sends it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from flowno_core import FlowHDL, Stream, node, sleep
from flowno_core.io import (
    HttpClient,
    HTTPException,
    HttpServer,
    ServerRequest,
    ServerThread,
    sse_response,
)
from flowno_nodes import HttpGet, SSESource

STATIONS = {"north": {"unit": "C", "offset": -1.5}, "south": {"unit": "C", "offset": 2.0}}
READINGS = [20.5, 21.0, 21.5, 22.0, 21.0]


def weather_api() -> HttpServer:
    """The API the flow talks to: two JSON routes and one event stream."""
    server = HttpServer("127.0.0.1", 0)

    @server.route("/stations")
    async def stations(request: ServerRequest) -> Any:
        return sorted(STATIONS)

    @server.route("/stations/{name}")
    async def station(request: ServerRequest) -> Any:
        name = request.path_params["name"]
        if name not in STATIONS:
            raise HTTPException(404, f"no station {name!r}")
        return {"name": name, **STATIONS[name]}

    @server.route("/stations/{name}/readings")
    async def readings(request: ServerRequest) -> Any:
        async def events() -> AsyncIterator[Any]:
            for value in READINGS:
                yield {"station": request.path_params["name"], "celsius": value}
                await sleep(0.01)  # a sensor takes a moment between readings

        return sse_response(events(), done=True)  # ends with "data: [DONE]"

    return server


def run(base: str) -> FlowHDL:
    @node
    async def Describe(names: list[str]) -> list[str]:
        """One GET per station with the io client; a line per station."""
        client = HttpClient()
        lines = []
        for name in names:
            info = (await client.get(f"{base}/stations/{name}")).raise_for_status().decode_json()
            lines.append(f"{info['name']}: offset {info['offset']:+.1f} {info['unit']}")
        return lines

    @node(stream_in=["events"])
    async def RunningMean(events: Stream[dict[str, Any]]) -> float:
        """Print each reading as it arrives, with the mean so far; return the final mean."""
        total = 0.0
        count = 0
        async for event in events:
            count += 1
            total += event["celsius"]
            print(f"  reading {count}: {event['celsius']:.1f} C (mean so far {total / count:.2f})", flush=True)
        return total / count

    with FlowHDL() as f:
        f.names = HttpGet(base + "/stations", timeout=5.0)
        f.described = Describe(f.names)
        f.events = SSESource(base + "/stations/north/readings", timeout=5.0)
        f.mean = RunningMean(f.events)
    f.run_until_complete()
    return f


def main() -> None:
    with ServerThread(weather_api()) as base:
        print(f"Serving the weather API at {base}")
        f = run(base)
    print(f"stations: {f.names.get_data()[0]}")
    for line in f.described.get_data()[0]:
        print(f"  {line}")
    print(f"{f.events.get_data()[0]} events streamed; mean {f.mean.get_data()[0]:.2f} C")


if __name__ == "__main__":
    main()
