//! What carries MCP messages besides stdio (`src/stdio.rs` and `server::serve_stdio`): the
//! Streamable HTTP server of `--http`.

pub mod http;
