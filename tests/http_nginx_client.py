"""The official Python MCP SDK's Streamable HTTP client, driven by tests/http_nginx.rs.

usage: http_nginx_client.py URL CALLS CONCURRENCY MODE
  The token comes from the environment (OPENTRAIN_TEST_TOKEN), never from argv (argv shows in ps).
  MODE is the SDK's Client mode: "auto" (server/discover, 2026-07-28) or "legacy" (initialize).

Calls opentrain_get_contract CALLS times, CONCURRENCY at a time, with contract ids py-0, py-1, ...
and prints one JSON line per finished call: {"call": "py-7", "ok": true, "text": "..."} (or "ok":
false with "error"), then {"done": CALLS, "version": "<negotiated protocol version>"}.
"""

import asyncio
import json
import os
import sys

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client


async def main() -> None:
    url, calls, concurrency, mode = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    token = os.environ["OPENTRAIN_TEST_TOKEN"]
    headers = {"Authorization": f"Bearer {token}", "X-Test-Client": "python"}
    timeout = httpx2.Timeout(30.0, read=60.0)
    async with httpx2.AsyncClient(headers=headers, timeout=timeout) as http:
        transport = streamable_http_client(url, http_client=http)
        async with Client(transport, mode=mode, cache=None) as client:
            version = client.protocol_version
            gate = asyncio.Semaphore(concurrency)

            async def one(n: int) -> None:
                call = f"py-{n}"
                async with gate:
                    try:
                        result = await client.call_tool("opentrain_get_contract", {"contractId": call})
                        text = "".join(getattr(block, "text", "") for block in result.content)
                        line = {"call": call, "ok": not bool(result.is_error), "text": text}
                    except Exception as error:  # noqa: BLE001 - every failure is reported, not raised
                        line = {"call": call, "ok": False, "error": f"{type(error).__name__}: {error}"}
                print(json.dumps(line), flush=True)

            await asyncio.gather(*(one(n) for n in range(calls)))
            print(json.dumps({"done": calls, "version": str(version)}), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
