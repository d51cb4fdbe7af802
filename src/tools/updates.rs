//! Updates: the account's delta feed of events.

use crate::server::OpenTrain;

#[rmcp::tool_router(router = updates_router, vis = "pub(crate)", allow_empty)]
impl OpenTrain {}
