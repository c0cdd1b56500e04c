"""keybot mcp's peer in its test (tests/chain/mcp_client.rs): the official MCP Python SDK
starts `KEYBOT mcp` over stdio, lists the tools, calls them as the test's arguments say and
prints one JSON object: {"tools": [names], "calls": [{"name", "is_error", "text"}]}.

    python client.py KEYBOT_BINARY '[["balances", {}], ["transfer", {...}]]'
"""
import asyncio
import json
import os
import sys

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client


def is_error(result):
    for name in ("is_error", "isError"):
        if hasattr(result, name):
            return bool(getattr(result, name))
    return False


async def main(binary, calls):
    params = StdioServerParameters(command=binary, args=["mcp"], env=dict(os.environ))
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            listed = await session.list_tools()
            out = {"tools": [t.name for t in listed.tools], "calls": []}
            for name, arguments in calls:
                result = await session.call_tool(name, arguments)
                text = "".join(getattr(c, "text", "") for c in result.content)
                out["calls"].append({"name": name, "is_error": is_error(result), "text": text})
    print(json.dumps(out))


asyncio.run(main(sys.argv[1], json.loads(sys.argv[2])))
