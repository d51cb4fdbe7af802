//! What carries MCP messages: stdio (one agent; newline-delimited JSON-RPC with backpressure over
//! the process's own pipes) and the Streamable HTTP server of `--http`. Nothing below
//! `server.rs` knows which one carried a call.

pub mod http;
#[cfg(unix)]
pub mod pipes;
pub mod stdio;
