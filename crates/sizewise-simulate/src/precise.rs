//! A timer thread with sub-millisecond wake-ups.
//!
//! Tokio's timer rounds every deadline up to a whole millisecond and its
//! driver sleeps in whole milliseconds, so its events land 1-2 ms late. This
//! thread keeps the deadlines in a heap and waits on a condition variable
//! (a futex with a nanosecond timeout), which wakes within about 0.1 ms.

use std::cmp::Ordering as CmpOrdering;
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::task::{Context, Poll, Waker};
use std::time::Instant;

/// One deadline: fired by the timer thread, polled by a task.
#[derive(Debug)]
pub(crate) struct Deadline {
    at: Instant,
    fired: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Deadline {
    /// When it fires.
    pub(crate) fn at(&self) -> Instant {
        self.at
    }

    /// Ready once the deadline has passed.
    pub(crate) fn poll(&self, cx: &mut Context<'_>) -> Poll<()> {
        if self.fired.load(Ordering::Acquire) {
            return Poll::Ready(());
        }
        {
            let mut w = lock(&self.waker);
            match &*w {
                Some(old) if old.will_wake(cx.waker()) => {}
                _ => *w = Some(cx.waker().clone()),
            }
        }
        // The timer sets `fired` before it takes the waker: checking again
        // after storing ours cannot miss the wake-up.
        if self.fired.load(Ordering::Acquire) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }

    fn fire(&self) {
        self.fired.store(true, Ordering::Release);
        if let Some(w) = lock(&self.waker).take() {
            w.wake();
        }
    }
}

struct Item(Arc<Deadline>, u64);

impl PartialEq for Item {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == CmpOrdering::Equal
    }
}
impl Eq for Item {}
impl PartialOrd for Item {
    fn partial_cmp(&self, o: &Self) -> Option<CmpOrdering> {
        Some(self.cmp(o))
    }
}
impl Ord for Item {
    /// Reversed, so that the max-heap pops the earliest deadline first.
    fn cmp(&self, o: &Self) -> CmpOrdering {
        (o.0.at, o.1).cmp(&(self.0.at, self.1))
    }
}

#[derive(Default)]
struct Queue {
    heap: BinaryHeap<Item>,
    seq: u64,
}

/// The process-wide timer.
pub(crate) struct Timer {
    queue: Mutex<Queue>,
    cv: Condvar,
}

static TIMER: OnceLock<Option<Arc<Timer>>> = OnceLock::new();

impl Timer {
    /// The timer, started on first use; `None` when no thread can be started.
    pub(crate) fn get() -> Option<&'static Timer> {
        TIMER
            .get_or_init(|| {
                let t = Arc::new(Timer {
                    queue: Mutex::new(Queue::default()),
                    cv: Condvar::new(),
                });
                let run = t.clone();
                std::thread::Builder::new()
                    .name("sizewise-simulate-timer".into())
                    .spawn(move || run.run())
                    .ok()
                    .map(|_| t)
            })
            .as_deref()
    }

    /// Registers a deadline; the returned handle becomes ready at `at`.
    pub(crate) fn at(&self, at: Instant) -> Arc<Deadline> {
        let d = Arc::new(Deadline {
            at,
            fired: AtomicBool::new(false),
            waker: Mutex::new(None),
        });
        let mut q = lock(&self.queue);
        let earliest = q.heap.peek().is_none_or(|top| at < top.0.at);
        q.seq += 1;
        let seq = q.seq;
        q.heap.push(Item(d.clone(), seq));
        drop(q);
        if earliest {
            self.cv.notify_one();
        }
        d
    }

    fn run(&self) {
        let mut q = lock(&self.queue);
        loop {
            let now = Instant::now();
            while q.heap.peek().is_some_and(|top| top.0.at <= now) {
                if let Some(Item(d, _)) = q.heap.pop() {
                    d.fire();
                }
            }
            q = match q.heap.peek() {
                Some(top) => {
                    let wait = top.0.at.saturating_duration_since(now);
                    self.cv
                        .wait_timeout(q, wait)
                        .map(|(g, _)| g)
                        .unwrap_or_else(|e| e.into_inner().0)
                }
                None => self
                    .cv
                    .wait(q)
                    .unwrap_or_else(std::sync::PoisonError::into_inner),
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn fires_in_order_and_on_time() {
        let t = Timer::get().unwrap();
        let start = Instant::now();
        let late = t.at(start + Duration::from_millis(30));
        let early = t.at(start + Duration::from_millis(10));
        std::future::poll_fn(|cx| early.poll(cx)).await;
        let e = start.elapsed();
        assert!(
            e >= Duration::from_millis(10) && e < Duration::from_millis(25),
            "{e:?}"
        );
        assert!(!late.fired.load(Ordering::Acquire));
        std::future::poll_fn(|cx| late.poll(cx)).await;
        assert!(start.elapsed() >= Duration::from_millis(30));
        // A deadline in the past is ready at once.
        let past = t.at(start);
        std::future::poll_fn(|cx| past.poll(cx)).await;
    }
}
