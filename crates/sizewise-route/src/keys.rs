//! Virtual keys: lookup by hash, budgets reserved before a call and settled after it, and
//! per-key request rates.
//!
//! A budget holds `spent` (settled, from the ledger) and `reserved` (calls in flight, at
//! their largest possible cost). A call is admitted only if `spent + reserved + its
//! reservation` stays within the budget, checked and added under one lock, so concurrent
//! calls on one key can never spend more than it has.

use std::sync::Mutex;
use std::time::Instant;

use sha2::{Digest, Sha256};

use crate::config::Key;

/// SHA-256 of a key as sent by clients.
pub fn hash_key(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// Hex spelling of a hash, for configuration files.
pub fn hex(h: &[u8; 32]) -> String {
    h.iter().map(|b| format!("{b:02x}")).collect()
}

/// Live state of one key.
#[derive(Debug)]
pub struct KeyState {
    /// The key's configuration.
    pub key: Key,
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    spent: f64,
    reserved: f64,
    /// Token bucket of the rate limit: tokens left and when they were counted.
    tokens: f64,
    at: Instant,
}

/// Why a key may not make a call now.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Refusal {
    /// The budget cannot cover the reservation.
    Budget {
        /// USD left (budget minus spent minus reserved).
        left: f64,
    },
    /// Over the request rate; retry after this many seconds.
    Rate {
        /// Seconds until one request is allowed.
        retry_after_s: f64,
    },
}

impl KeyState {
    /// A key that has already spent `spent` USD.
    pub fn new(key: Key, spent: f64) -> KeyState {
        let tokens = key.requests_per_minute.map_or(0.0, f64::from);
        KeyState {
            key,
            inner: Mutex::new(Inner {
                spent,
                reserved: 0.0,
                tokens,
                at: Instant::now(),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding this lock cannot leave the numbers half-written (each update
        // is one assignment), so a poisoned lock is still good.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes one request from the rate limit.
    pub fn take_rate(&self) -> Result<(), Refusal> {
        let Some(rpm) = self.key.requests_per_minute else {
            return Ok(());
        };
        let rate = f64::from(rpm) / 60.0;
        let mut g = self.lock();
        let now = Instant::now();
        let dt = now.duration_since(g.at).as_secs_f64();
        g.tokens = (g.tokens + dt * rate).min(f64::from(rpm));
        g.at = now;
        if g.tokens >= 1.0 {
            g.tokens -= 1.0;
            Ok(())
        } else {
            Err(Refusal::Rate {
                retry_after_s: (1.0 - g.tokens) / rate,
            })
        }
    }

    /// Reserves `usd` if the budget covers it.
    pub fn reserve(&self, usd: f64) -> Result<(), Refusal> {
        let Some(budget) = self.key.budget_usd else {
            return Ok(());
        };
        // Zero-cost calls stay allowed when the budget is spent (or was lowered below it).
        if usd <= 0.0 {
            return Ok(());
        }
        let mut g = self.lock();
        let left = budget - g.spent - g.reserved;
        if usd <= left {
            g.reserved += usd;
            Ok(())
        } else {
            Err(Refusal::Budget {
                left: left.max(0.0),
            })
        }
    }

    /// Replaces a reservation of `reserved` by the real cost `actual`.
    pub fn settle(&self, reserved: f64, actual: f64) {
        if self.key.budget_usd.is_none() {
            return;
        }
        let mut g = self.lock();
        g.reserved = (g.reserved - reserved).max(0.0);
        g.spent += actual;
    }

    /// USD settled so far.
    pub fn spent(&self) -> f64 {
        self.lock().spent
    }

    /// USD left, if the key has a budget.
    pub fn left(&self) -> Option<f64> {
        let g = self.lock();
        self.key
            .budget_usd
            .map(|b| (b - g.spent - g.reserved).max(0.0))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn key(budget: Option<f64>, rpm: Option<u32>) -> Key {
        Key {
            name: "k".into(),
            sha256: hash_key("k"),
            budget_usd: budget,
            requests_per_minute: rpm,
        }
    }

    #[test]
    fn reservations_never_pass_the_budget_even_from_many_threads() {
        let k = std::sync::Arc::new(KeyState::new(key(Some(1.0), None), 0.25));
        let admitted: usize = (0..8)
            .map(|_| {
                let k = k.clone();
                std::thread::spawn(move || {
                    (0..100).filter(|_| k.reserve(1.0 / 64.0).is_ok()).count()
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|h| h.join().unwrap())
            .sum();
        assert_eq!(admitted, 48, "0.75 USD left at 1/64 each");
        assert!(matches!(k.reserve(1.0 / 64.0), Err(Refusal::Budget { .. })));
        k.settle(0.75, 0.5);
        assert!((k.spent() - 0.75).abs() < 1e-9);
        assert!((k.left().unwrap() - 0.25).abs() < 1e-9);
    }

    #[test]
    fn the_rate_limit_allows_a_minute_of_requests_then_refuses() {
        let k = KeyState::new(key(None, Some(3)), 0.0);
        for _ in 0..3 {
            k.take_rate().unwrap();
        }
        match k.take_rate() {
            Err(Refusal::Rate { retry_after_s }) => {
                assert!(retry_after_s > 0.0 && retry_after_s <= 20.0)
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn hashes_are_sha256() {
        assert_eq!(
            hex(&hash_key("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
