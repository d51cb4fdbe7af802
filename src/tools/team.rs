//! Team: the employer team and invites.

use crate::server::OpenTrain;

#[rmcp::tool_router(router = team_router, vis = "pub(crate)", allow_empty)]
impl OpenTrain {}
