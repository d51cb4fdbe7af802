//! Proposals and candidates: list and read proposals, trainer profiles, invite and hire.

use crate::server::OpenTrain;

#[rmcp::tool_router(router = proposals_router, vis = "pub(crate)", allow_empty)]
impl OpenTrain {}
