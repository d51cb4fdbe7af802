//! Credits: balance, ledger and Stripe top-ups.

use crate::server::OpenTrain;

#[rmcp::tool_router(router = credits_router, vis = "pub(crate)", allow_empty)]
impl OpenTrain {}
