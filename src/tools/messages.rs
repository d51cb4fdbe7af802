//! Messages: read conversations, send messages, open pre-hire threads.

use crate::server::OpenTrain;

#[rmcp::tool_router(router = messages_router, vis = "pub(crate)", allow_empty)]
impl OpenTrain {}
