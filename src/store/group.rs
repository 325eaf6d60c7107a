//! Writes that arrive together, made together (group commit).
//!
//! Some writes come in bursts: every use of an API key moves the same row's `lastRequest`, and
//! every `/sign-in/social` inserts a verification row. Made one by one, each is a statement and
//! a commit of its own, and concurrent updates of one row wait for each other's row lock; on a
//! database server that shares the cores with this service, that is what bounds the rate.
//!
//! A [`Group`] keeps, per key, the value waiting to be written. The first caller starts a
//! writer task; whoever arrives while it writes merges their value into the next write (a later
//! timestamp, more rows) and waits for it. A caller is answered only once a write that carries
//! its value has finished, so nothing is acknowledged before it is stored; when the shared write
//! fails, every caller in it makes its own write and gets its own error. With nothing else in
//! flight a write goes out at once: no timer, no added latency.
//!
//! Reads group the same way (lookups by key, one `IN (...)` query for all that wait): a caller
//! never joins a query already sent, so what it reads was read after it asked.
//!
//! The writer is a task of its own, so a request that goes away never leaves a write half made
//! or the others waiting.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

use sea_orm::sea_query::{CaseStatement, Expr, IntoColumnRef, SimpleExpr};
use tokio::sync::oneshot;

struct Pending<V, R> {
    value: Option<V>,
    waiters: Vec<oneshot::Sender<Option<R>>>,
}

type Slots<K, V, R> = Arc<Mutex<HashMap<K, Pending<V, R>>>>;

/// Values of type `V` gathered per key `K`; each shared write answers `R` to all it carried
/// (`()` for a write, the rows found for a lookup), or `None` when it failed.
pub(crate) struct Group<K, V, R = ()> {
    slots: Slots<K, V, R>,
}

impl<K, V, R> Default for Group<K, V, R> {
    fn default() -> Self {
        Self {
            slots: Arc::default(),
        }
    }
}

impl<K, V, R> std::fmt::Debug for Group<K, V, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Group").finish_non_exhaustive()
    }
}

impl<K, V, R> Group<K, V, R>
where
    K: Hash + Eq + Clone + Send + 'static,
    V: Send + 'static,
    R: Clone + Send + 'static,
{
    /// Adds `value` to the write pending for `key` (`merge` folds it into a value already
    /// waiting), starts a writer when none runs for `key`, and waits for the write that carries
    /// it: what that write answered, `None` when it failed.
    pub async fn join<W, F>(&self, key: K, value: V, merge: fn(&mut V, V), write: W) -> Option<R>
    where
        W: Fn(K, V) -> F + Send + 'static,
        F: Future<Output = Option<R>> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let start = {
            let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
            match slots.get_mut(&key) {
                Some(p) => {
                    match &mut p.value {
                        Some(v) => merge(v, value),
                        None => p.value = Some(value),
                    }
                    p.waiters.push(tx);
                    false
                }
                None => {
                    slots.insert(
                        key.clone(),
                        Pending {
                            value: Some(value),
                            waiters: vec![tx],
                        },
                    );
                    true
                }
            }
        };
        if start {
            tokio::spawn(drain(self.slots.clone(), key, write));
        }
        // A writer that died (a panic) dropped the sender: the caller writes alone.
        rx.await.ok().flatten()
    }

    /// [`Self::join`] with a writer that gets its own copy of `state` (a store) each time.
    pub async fn join_with<S, W, F>(
        &self,
        state: S,
        key: K,
        value: V,
        merge: fn(&mut V, V),
        write: W,
    ) -> Option<R>
    where
        S: Clone + Send + Sync + 'static,
        W: Fn(S, K, V) -> F + Send + Sync + 'static,
        F: Future<Output = Option<R>> + Send + 'static,
    {
        self.join(key, value, merge, move |k, v| write(state.clone(), k, v))
            .await
    }
}

/// The most rows (or keys) one grouped statement carries; a larger group is written in several,
/// each well under every backend's limit on bound parameters.
pub(crate) const MAX_ROWS: usize = 64;

/// The `merge` of values that are lists: the later callers' items after the earlier ones'.
pub(crate) fn append<T>(pending: &mut Vec<T>, more: Vec<T>) {
    pending.extend(more);
}

/// `CASE <id> WHEN <row id> THEN <value> ...`: each row's own value in one grouped `UPDATE`;
/// `None` for no rows.
pub(crate) fn case_by_id<'a, C, V>(
    id: C,
    rows: impl IntoIterator<Item = (&'a str, V)>,
) -> Option<SimpleExpr>
where
    C: IntoColumnRef + Clone,
    V: Into<SimpleExpr>,
{
    let mut case: Option<CaseStatement> = None;
    for (row, value) in rows {
        let when = Expr::col(id.clone()).eq(row);
        case = Some(match case {
            None => Expr::case(when, value),
            Some(c) => c.case(when, value),
        });
    }
    case.map(Into::into)
}

/// Removes the key's slot when the writer ends without doing so (a panic in `write`), so the
/// next caller starts a new writer; the waiters' senders go with it.
struct Release<K: Hash + Eq, V, R> {
    slots: Slots<K, V, R>,
    key: Option<K>,
}

impl<K: Hash + Eq, V, R> Drop for Release<K, V, R> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.slots
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&key);
        }
    }
}

async fn drain<K, V, R, W, F>(slots: Slots<K, V, R>, key: K, write: W)
where
    K: Hash + Eq + Clone,
    R: Clone,
    W: Fn(K, V) -> F,
    F: Future<Output = Option<R>>,
{
    let mut release = Release {
        slots: slots.clone(),
        key: Some(key.clone()),
    };
    loop {
        let (value, waiters) = {
            let mut map = slots.lock().unwrap_or_else(|e| e.into_inner());
            let Some(p) = map.get_mut(&key) else {
                release.key = None;
                return;
            };
            match p.value.take() {
                Some(v) => (v, std::mem::take(&mut p.waiters)),
                None => {
                    map.remove(&key);
                    release.key = None;
                    return;
                }
            }
        };
        let answer = write(key.clone(), value).await;
        for w in waiters {
            let _ = w.send(answer.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    fn keep_max(a: &mut u32, b: u32) {
        *a = (*a).max(b);
    }

    #[tokio::test]
    async fn concurrent_values_share_writes_and_the_latest_is_written_last() {
        let group: Arc<Group<&'static str, u32>> = Arc::default();
        let writes = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for i in 0..20u32 {
            let (group, writes) = (group.clone(), writes.clone());
            tasks.push(tokio::spawn(async move {
                group
                    .join("k", i, keep_max, move |_, v| {
                        let writes = writes.clone();
                        async move {
                            tokio::time::sleep(Duration::from_millis(5)).await;
                            writes.lock().unwrap().push(v);
                            Some(())
                        }
                    })
                    .await
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap(), Some(()));
        }
        let writes = writes.lock().unwrap().clone();
        assert!(writes.len() < 20, "no write was shared: {writes:?}");
        assert_eq!(writes.last(), Some(&19));
        assert!(group.slots.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_failed_write_is_reported_to_everyone_in_it() {
        let group: Group<u8, Vec<u8>> = Group::default();
        let ok = group
            .join(1, vec![1], |a, b| a.extend(b), |_, _| async { None })
            .await;
        assert_eq!(ok, None);
        assert!(group.slots.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_panicking_writer_frees_the_key() {
        let group: Group<u8, u8> = Group::default();
        let calls = Arc::new(AtomicUsize::new(0));
        let c = calls.clone();
        let ok = group
            .join(1, 1, keep_max_u8, move |_, _| {
                let c = c.clone();
                async move {
                    if c.fetch_add(1, Ordering::SeqCst) < usize::MAX {
                        panic!("write failed");
                    }
                    Some(())
                }
            })
            .await;
        assert_eq!(ok, None);
        assert!(group.slots.lock().unwrap().is_empty());
        let again = group
            .join(1, 2, keep_max_u8, |_, _| async { Some(()) })
            .await;
        assert_eq!(again, Some(()));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    fn keep_max_u8(a: &mut u8, b: u8) {
        *a = (*a).max(b);
    }
}
