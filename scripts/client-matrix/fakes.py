#!/usr/bin/env python3
"""Fake model APIs and a fake OpenTrain API on 127.0.0.1, for scripts/client-matrix.sh.

Python standard library only. One process, four loopback listeners:

  anthropic  POST /v1/messages                      (Claude Code; streaming or not)
  openai     POST /v1/responses                     (Codex CLI; server-sent events)
  gemini     POST /v1beta/models/<m>:streamGenerateContent | :generateContent  (Gemini CLI)
  opentrain  /api/public/v1/...                     (the OpenTrain API, from fixtures/)

Each fake model plays a scripted agent: on a request that offers the OpenTrain tools it answers
with the next scripted tool call (step n = the number of tool results already in the
conversation), and once the script is done, with a short text. Requests that do not offer the
tools (titles, classifiers, summaries) get a short text. Every request is recorded, one JSON
object per line, in <log-dir>/<api>.jsonl: what the client sent its model.

Usage: fakes.py --fixtures DIR --log-dir DIR --ports-file FILE --script FILE
The ports file receives {"anthropic": port, "openai": port, "gemini": port, "opentrain": port}
once all four listen. The script is a JSON list of {"tool": name, "arguments": {...}}.
"""

import argparse
import hashlib
import json
import os
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
ARGS = None
SCRIPT = []
FINAL_TEXT = "All done: the scripted calls are finished."


def record(api, entry):
    with LOCK:
        with open(os.path.join(ARGS.log_dir, api + ".jsonl"), "a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")


class Base(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    api = "?"

    def log_message(self, fmt, *args):  # quiet: the log files are the record
        pass

    def read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if self.headers.get("Content-Encoding") == "gzip":
            import gzip

            raw = gzip.decompress(raw)
        elif self.headers.get("Content-Encoding") == "zstd":
            return None, raw
        try:
            return json.loads(raw or b"null"), raw
        except ValueError:
            return None, raw

    def send_json(self, status, value, headers=None):
        data = json.dumps(value).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def send_sse(self, events):
        """events: list of (event name or None, data dict)."""
        chunks = []
        for name, data in events:
            head = f"event: {name}\n" if name else ""
            chunks.append(f"{head}data: {json.dumps(data)}\n\n")
        body = "".join(chunks).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def do_PATCH(self):
        self.handle_any("PATCH")

    def do_DELETE(self):
        self.handle_any("DELETE")

    def do_HEAD(self):
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def handle_any(self, method):
        body, raw = self.read_body()
        entry = {
            "t": time.time(),
            "method": method,
            "path": self.path,
            "body": body,
            "raw": None if body is not None else raw[:2000].decode("utf-8", "replace"),
        }
        try:
            self.respond(method, body, entry)
        finally:
            record(self.api, entry)


def pick_tool(offered, wanted):
    """The offered tool name for a scripted one: exact, or with the client's prefix."""
    for name in offered:
        if name == wanted:
            return name
    for name in offered:
        if name.endswith(wanted):
            return name
    return None


def offers_opentrain(offered):
    return any("opentrain_" in n for n in offered)


# ---------------------------------------------------------------------------------------------
# Anthropic Messages (Claude Code)


class Anthropic(Base):
    api = "anthropic"

    def respond(self, method, body, entry):
        path = self.path.split("?")[0]
        if method != "POST" or not path.endswith("/v1/messages"):
            if path.endswith("/count_tokens"):
                return self.send_json(200, {"input_tokens": 100})
            return self.send_json(404, {"type": "error", "error": {"type": "not_found_error", "message": path}})
        body = body or {}
        offered = [t.get("name", "") for t in body.get("tools") or []]
        made = [
            b.get("name", "")
            for m in body.get("messages") or []
            if m.get("role") == "assistant" and isinstance(m.get("content"), list)
            for b in m["content"]
            if isinstance(b, dict) and b.get("type") == "tool_use"
        ]
        text = json.dumps(body.get("messages") or [])
        # Claude Code may defer MCP tools: only their names are in a system message, and
        # ToolSearch loads their schemas ("select:<name>,...").
        deferred = "ToolSearch" in offered and "mcp__opentrain__" in text
        agent = offers_opentrain(offered) or deferred
        done = sum(1 for n in made if "opentrain_" in n)
        entry["role"] = "agent" if agent else "other"
        entry["step"] = done
        call = None
        if agent and done < len(SCRIPT):
            step = SCRIPT[done]
            name = pick_tool(offered, step["tool"])
            if name:
                call = {"type": "tool_use", "id": f"toolu_{len(made):02d}", "name": name, "input": step["arguments"]}
            elif deferred and made.count("ToolSearch") < 3:
                names = sorted(set(re.findall(r"mcp__opentrain__opentrain_\w+", text)))
                call = {"type": "tool_use", "id": f"toolu_{len(made):02d}", "name": "ToolSearch",
                        "input": {"query": "select:" + ",".join(names), "max_results": len(names)}}
        model = body.get("model", "claude")
        if call:
            blocks, stop = [call], "tool_use"
        else:
            blocks, stop = [{"type": "text", "text": FINAL_TEXT if agent else "OK"}], "end_turn"
        usage = {"input_tokens": 100, "output_tokens": 10, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
        if not body.get("stream"):
            return self.send_json(
                200,
                {"id": "msg_fake", "type": "message", "role": "assistant", "model": model, "content": blocks,
                 "stop_reason": stop, "stop_sequence": None, "usage": usage},
            )
        events = [("message_start", {"type": "message_start", "message": {
            "id": "msg_fake", "type": "message", "role": "assistant", "model": model, "content": [],
            "stop_reason": None, "stop_sequence": None, "usage": usage}})]
        for i, b in enumerate(blocks):
            if b["type"] == "tool_use":
                events.append(("content_block_start", {"type": "content_block_start", "index": i, "content_block": {
                    "type": "tool_use", "id": b["id"], "name": b["name"], "input": {}}}))
                events.append(("content_block_delta", {"type": "content_block_delta", "index": i, "delta": {
                    "type": "input_json_delta", "partial_json": json.dumps(b["input"])}}))
            else:
                events.append(("content_block_start", {"type": "content_block_start", "index": i, "content_block": {
                    "type": "text", "text": ""}}))
                events.append(("content_block_delta", {"type": "content_block_delta", "index": i, "delta": {
                    "type": "text_delta", "text": b["text"]}}))
            events.append(("content_block_stop", {"type": "content_block_stop", "index": i}))
        events.append(("message_delta", {"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None},
                                         "usage": {"output_tokens": 10}}))
        events.append(("message_stop", {"type": "message_stop"}))
        self.send_sse(events)


# ---------------------------------------------------------------------------------------------
# OpenAI Responses (Codex CLI)


class OpenAI(Base):
    api = "openai"

    @staticmethod
    def tool_names(tools, namespaces):
        names = []
        for t in tools or []:
            if t.get("type") == "namespace" or t.get("tools"):
                for inner in t.get("tools") or []:
                    names.append(inner.get("name", ""))
                    namespaces[inner.get("name", "")] = t.get("name")
            else:
                names.append(t.get("name") or (t.get("function") or {}).get("name") or "")
        return names

    def respond(self, method, body, entry):
        path = self.path.split("?")[0]
        if path.endswith("/models"):
            return self.send_json(200, {"object": "list", "data": [], "models": []})
        if method != "POST" or not path.endswith("/responses"):
            return self.send_json(404, {"error": {"message": path}})
        body = body or {}
        namespaces = {}
        offered = self.tool_names(body.get("tools"), namespaces)
        items = [it for it in body.get("input") or [] if isinstance(it, dict)]
        # Codex defers MCP tools behind a client-side tool_search; what a search returned comes
        # back in the input as tool_search_output, and is callable from then on.
        for it in items:
            if it.get("type") == "tool_search_output":
                offered += self.tool_names(it.get("tools"), namespaces)
        made = [it.get("name", "") for it in items if it.get("type") == "function_call"]
        searches = sum(1 for it in items if it.get("type") == "tool_search_call")
        text = json.dumps(items)
        can_search = any(t.get("type") == "tool_search" for t in body.get("tools") or [])
        deferred = can_search and "mcp__opentrain" in text
        agent = offers_opentrain(offered) or deferred
        done = sum(1 for n in made if "opentrain_" in n)
        entry["role"] = "agent" if agent else "other"
        entry["step"] = done
        rid = f"resp_{int(time.time() * 1000)}"
        events = [("response.created", {"type": "response.created", "response": {"id": rid}})]
        call = None
        if agent and done < len(SCRIPT):
            step = SCRIPT[done]
            name = pick_tool(offered, step["tool"])
            if name:
                call = {"type": "function_call", "id": f"fc_{len(made):02d}", "call_id": f"call_{len(made):02d}",
                        "name": name, "arguments": json.dumps(step["arguments"])}
                if namespaces.get(name):
                    call["namespace"] = namespaces[name]
            elif deferred and searches < 3:
                # A broad search, so that the answer shows how many tools the client lists.
                call = {"type": "tool_search_call", "call_id": f"search_{searches:02d}", "execution": "client",
                        "status": "completed", "arguments": {"query": "opentrain", "limit": 100}}
        if call:
            item = call
        else:
            item = {"type": "message", "id": "msg_fake", "role": "assistant", "status": "completed",
                    "content": [{"type": "output_text", "text": FINAL_TEXT if agent else "OK", "annotations": []}]}
        events.append(("response.output_item.added", {"type": "response.output_item.added", "output_index": 0, "item": item}))
        events.append(("response.output_item.done", {"type": "response.output_item.done", "output_index": 0, "item": item}))
        events.append(("response.completed", {"type": "response.completed", "response": {
            "id": rid, "object": "response", "status": "completed", "output": [item],
            "usage": {"input_tokens": 100, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": 10,
                      "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 110}}}))
        self.send_sse(events)


# ---------------------------------------------------------------------------------------------
# Gemini generateContent (Gemini CLI)


class Gemini(Base):
    api = "gemini"

    def respond(self, method, body, entry):
        path = self.path.split("?")[0]
        m = re.search(r"/models/([^/:]+):(\w+)$", path)
        if method != "POST" or not m:
            if path.rstrip("/").endswith("/models"):
                return self.send_json(200, {"models": []})
            return self.send_json(404, {"error": {"code": 404, "message": path, "status": "NOT_FOUND"}})
        model, verb = m.group(1), m.group(2)
        body = body or {}
        if verb == "countTokens":
            return self.send_json(200, {"totalTokens": 100})
        if verb == "embedContent":
            return self.send_json(200, {"embedding": {"values": [0.0] * 8}})
        declared = {
            d.get("name", ""): d.get("parametersJsonSchema") or d.get("parameters") or {}
            for t in body.get("tools") or []
            for d in t.get("functionDeclarations") or []
        }
        offered = list(declared)
        results = sum(
            1
            for c in body.get("contents") or []
            for p in c.get("parts") or []
            if isinstance(p, dict) and "functionResponse" in p
        )
        entry["role"] = "agent" if offers_opentrain(offered) else "other"
        entry["step"] = results
        parts = None
        if offers_opentrain(offered) and results < len(SCRIPT):
            step = SCRIPT[results]
            name = pick_tool(offered, step["tool"])
            if name:
                args = dict(step["arguments"])
                # Gemini CLI adds its own `wait_for_previous` to every tool's schema, and the
                # model fills it in; so does this one.
                schema = declared.get(name) or {}
                if "wait_for_previous" in (schema.get("properties") or {}):
                    args["wait_for_previous"] = results > 0
                parts = [{"functionCall": {"name": name, "args": args}}]
        if parts is None:
            gen = body.get("generationConfig") or body.get("config") or {}
            if gen.get("responseMimeType") == "application/json" or gen.get("responseSchema") or gen.get("responseJsonSchema"):
                # A classifier (model routing, next speaker, loop check): a neutral answer.
                text = json.dumps({"reasoning": "scripted", "next_speaker": "user", "model_choice": "pro",
                                   "complexity_reasoning": "scripted", "complexity_score": 10})
            else:
                text = FINAL_TEXT if entry["role"] == "agent" else "OK"
            parts = [{"text": text}]
        chunk = {
            "candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": "STOP", "index": 0}],
            "usageMetadata": {"promptTokenCount": 100, "candidatesTokenCount": 10, "totalTokenCount": 110},
            "modelVersion": model,
        }
        if verb == "streamGenerateContent":
            return self.send_sse([(None, chunk)])
        return self.send_json(200, chunk)


# ---------------------------------------------------------------------------------------------
# The OpenTrain API


class OpenTrain(Base):
    api = "opentrain"

    def fixture(self, name, ids):
        with open(os.path.join(ARGS.fixtures, name), encoding="utf-8") as f:
            text = f.read()
        for k, v in ids.items():
            text = text.replace(f"<{k}>", v)
        return json.loads(text)

    def respond(self, method, body, entry):
        path = self.path.split("?")[0]
        ids = {"APPROVAL_ID": "apr_7f3k2", "CONTRACT_ID": "ctr_123", "JOB_ID": "job_42", "PROPOSAL_ID": "prp_456",
               "FREELANCER_ID": "usr_9", "MILESTONE_ID": "mst_1", "INVOICE_ID": "inv_1", "CONVERSATION_ID": "cnv_1"}
        auth = self.headers.get("Authorization") or ""
        entry["authorized"] = auth.startswith("Bearer ")
        # Which token came (as a digest: the log holds no token).
        entry["bearer_sha256"] = hashlib.sha256(auth[len("Bearer "):].encode()).hexdigest() if entry["authorized"] else None
        prefix = "/api/public/v1"
        if path.startswith(prefix) and not entry["authorized"]:
            return self.send_json(401, {"error": "Missing bearer token", "code": "UNAUTHORIZED", "requestId": "req-401"})
        route = path[len(prefix):] if path.startswith(prefix) else path
        if method == "GET" and route == "/auth/me":
            return self.send_json(200, self.fixture("auth_me.json", ids))
        m = re.fullmatch(r"/contracts/([^/]+)", route)
        if method == "GET" and m:
            if m.group(1) == "ctr_123":
                return self.send_json(200, self.fixture("contracts_get.json", ids))
            return self.send_json(404, {"error": "Contract not found", "code": "NOT_FOUND",
                                        "requestId": "req-404-e2e", "details": {"reason": "contract_not_found"}})
        m = re.fullmatch(r"/proposals/([^/]+)/hire", route)
        if method == "POST" and m:
            ids["PROPOSAL_ID"] = m.group(1)
            return self.send_json(202, self.fixture("proposals_hire.json", ids))
        m = re.fullmatch(r"/approvals/([^/]+)", route)
        if method == "GET" and m:
            ids["APPROVAL_ID"] = m.group(1)
            return self.send_json(200, self.fixture("approvals_get.json", ids))
        if method == "GET" and route == "/jobs/mine":
            return self.send_json(200, self.fixture("jobs_mine.json", ids))
        return self.send_json(404, {"error": f"No route {method} {route}", "code": "NOT_FOUND", "requestId": "req-stub"})


def main():
    global ARGS, SCRIPT
    p = argparse.ArgumentParser()
    p.add_argument("--fixtures", required=True)
    p.add_argument("--log-dir", required=True)
    p.add_argument("--ports-file", required=True)
    p.add_argument("--script", required=True)
    ARGS = p.parse_args()
    with open(ARGS.script, encoding="utf-8") as f:
        SCRIPT = json.load(f)
    os.makedirs(ARGS.log_dir, exist_ok=True)
    ports = {}
    for name, handler in (("anthropic", Anthropic), ("openai", OpenAI), ("gemini", Gemini), ("opentrain", OpenTrain)):
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        ports[name] = server.server_address[1]
        threading.Thread(target=server.serve_forever, daemon=True).start()
    tmp = ARGS.ports_file + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(ports, f)
    os.replace(tmp, ARGS.ports_file)
    # Serve until killed (or until the parent that started us goes away).
    parent = os.getppid()
    while True:
        time.sleep(1)
        if os.getppid() != parent:
            sys.exit(0)


if __name__ == "__main__":
    main()
