//! The service's notion of "now". Tests move it forward instead of sleeping.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use crate::auth::crypto::truncate_ms;

#[derive(Clone, Debug, Default)]
pub struct Clock {
    offset_ms: Arc<AtomicI64>,
}

impl Clock {
    /// Now, at millisecond precision like every stored Better Auth date.
    pub fn now(&self) -> DateTime<Utc> {
        truncate_ms(Utc::now() + Duration::milliseconds(self.offset_ms.load(Ordering::Relaxed)))
    }

    /// Sets this clock (and every copy of it) to read `at` now.
    pub fn set(&self, at: DateTime<Utc>) {
        self.offset_ms
            .store((at - Utc::now()).num_milliseconds(), Ordering::Relaxed);
    }

    /// Moves this clock (and every copy of it) forward.
    pub fn advance(&self, by: Duration) {
        self.offset_ms
            .fetch_add(by.num_milliseconds(), Ordering::Relaxed);
    }
}
