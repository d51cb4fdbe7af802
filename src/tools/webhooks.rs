//! Webhooks: push subscriptions to platform events.

use crate::server::OpenTrain;

#[rmcp::tool_router(router = webhooks_router, vis = "pub(crate)", allow_empty)]
impl OpenTrain {}
