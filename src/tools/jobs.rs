//! Jobs: draft, publish, update, close, list and search jobs.

use crate::server::OpenTrain;

#[rmcp::tool_router(router = jobs_router, vis = "pub(crate)", allow_empty)]
impl OpenTrain {}
