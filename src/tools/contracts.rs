//! Contracts and milestones: contracts, milestones, co-signed funding and release, approvals.

use crate::server::OpenTrain;

#[rmcp::tool_router(router = contracts_router, vis = "pub(crate)", allow_empty)]
impl OpenTrain {}
