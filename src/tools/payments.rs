//! Payments: pending payments.

use crate::server::OpenTrain;

#[rmcp::tool_router(router = payments_router, vis = "pub(crate)", allow_empty)]
impl OpenTrain {}
