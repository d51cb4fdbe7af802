//! Tokens: list and revoke API tokens.

use crate::server::OpenTrain;

#[rmcp::tool_router(router = tokens_router, vis = "pub(crate)", allow_empty)]
impl OpenTrain {}
