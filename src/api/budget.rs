//! How much memory the API's answers may take, one by one and all together.
//!
//! One answer: its body is at most [`super::MAX_BODY_BYTES`] and at most [`MAX_ANSWER_VALUES`]
//! JSON values, counted on the raw bytes ([`crate::shape`]) before a tree is built, so no body,
//! however it is made, parses into more than a few tens of MiB.
//!
//! All answers: a body over [`SMALL_BODY`] is read only with one of [`LARGE_READERS`] reader
//! slots, and every tree is built only once its estimated size fits in a shared budget
//! ([`TREE_BUDGET`]). The tree's share is held until the answer has been written to the client:
//! the server's dispatch collects it ([`collecting`]) and hands it to the transport, which lets
//! it go after the write ([`AnswerHolds`]). Waiting for either counts against the call's time
//! budget, like everything else the call does.

use std::future::Future;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Bodies up to this size are read without waiting for a reader slot.
pub const SMALL_BODY: usize = 64 * 1024;

/// How many bodies over [`SMALL_BODY`] are read at once.
pub const LARGE_READERS: usize = 2;

/// The most JSON values one answer may have (a page of 100 items with 100 fields each is
/// 10,000). Counted on the raw bytes, before parsing.
pub const MAX_ANSWER_VALUES: usize = 100_000;

/// What the trees of all answers held at once may take, in bytes (estimated, see [`estimate`]).
pub const TREE_BUDGET: usize = 24 * 1024 * 1024;

/// Upper estimate of the memory one parsed JSON value takes beyond its text: the `Value` itself
/// in its parent's vector or map entry, the map's index and the allocations' slack.
const BYTES_PER_VALUE: usize = 128;

/// The budget is counted in KiB (a semaphore has at most `u32::MAX >> 3` permits).
const UNIT: usize = 1024;

/// The memory a tree parsed from `bytes` bytes with `values` values may take (its strings are at
/// most its text; its values at most [`BYTES_PER_VALUE`] each).
pub fn estimate(bytes: usize, values: usize) -> usize {
    bytes + values * BYTES_PER_VALUE
}

/// The shared limits of one client.
pub struct Budget {
    readers: Arc<Semaphore>,
    trees: Arc<Semaphore>,
}

impl Default for Budget {
    fn default() -> Budget {
        Budget {
            readers: Arc::new(Semaphore::new(LARGE_READERS)),
            trees: Arc::new(Semaphore::new(TREE_BUDGET / UNIT)),
        }
    }
}

/// A share of the budget, given back when dropped.
#[derive(Debug)]
pub struct Hold(#[allow(dead_code)] Option<OwnedSemaphorePermit>);

impl Budget {
    /// A reader slot for a body over [`SMALL_BODY`].
    pub async fn large_reader(&self) -> Hold {
        // The semaphores are never closed, so acquiring cannot fail.
        Hold(self.readers.clone().acquire_owned().await.ok())
    }

    /// Room for a tree of `estimate` bytes (at most the whole budget).
    pub async fn tree(&self, estimate: usize) -> Hold {
        let units = estimate.div_ceil(UNIT).clamp(1, TREE_BUDGET / UNIT) as u32;
        Hold(self.trees.clone().acquire_many_owned(units).await.ok())
    }

    /// KiB of tree budget free now (for tests and the bench).
    pub fn tree_kib_free(&self) -> usize {
        self.trees.available_permits()
    }
}

/// The shares one request holds until its answer is written. The transport puts one in each
/// request's extensions and empties it once the answer has left; the dispatch fills it.
#[derive(Clone, Debug, Default)]
pub struct AnswerHolds(Arc<Mutex<Vec<Hold>>>);

impl AnswerHolds {
    pub fn push(&self, hold: Hold) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).push(hold);
    }

    /// Gives every share back.
    pub fn release(&self) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    pub fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

tokio::task_local! {
    /// Where the call running on this task keeps the shares of the answers it received.
    static HOLDS: AnswerHolds;
}

/// Runs one call with `holds` collecting the shares of its answers (see [`keep`]).
pub async fn collecting<F: Future>(holds: AnswerHolds, call: F) -> F::Output {
    HOLDS.scope(holds, call).await
}

/// Keeps a share until the current call's answer is written; outside [`collecting`] it is
/// given back at once.
pub fn keep(hold: Hold) {
    let _ = HOLDS.try_with(|holds| holds.push(hold));
}
