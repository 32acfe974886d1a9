//! Reconnect delays: jittered exponential backoff, shared by `Socket` and `EventStream`.
//!
//! Owns the formula of API.md and nothing else: no clock, no RNG, no timers. Callers pass the
//! attempt number and two uniform random numbers in `[0, 1)`.
//!
//! `delay(n) = min(max_delay, initial_delay * multiplier^n) * (1 - jitter * u) + randomness * u2`

#[allow(unused_imports)]
use crate::prelude::*;

/// Options of the backoff (`autoReconnectOptions`). Durations are milliseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BackoffConfig {
    /// Delay before the first reconnect, ms (`initialDelay`).
    pub initial_delay: f64,
    /// Growth factor per attempt, 1..=1000 (`multiplier`).
    pub multiplier: f64,
    /// Largest delay, ms (`maxDelay`).
    pub max_delay: f64,
    /// Fraction of the delay drawn at random, 0..=1 (`jitter`).
    pub jitter: f64,
    /// Extra random delay of up to this many ms (`randomness`).
    pub randomness: f64,
    /// `None` is `Infinity`: never give up.
    pub max_attempts: Option<u32>,
}

impl Default for BackoffConfig {
    fn default() -> Self {
        BackoffConfig {
            initial_delay: 1000.0,
            multiplier: 2.0,
            max_delay: 30000.0,
            jitter: 0.5,
            randomness: 0.0,
            max_attempts: None,
        }
    }
}

/// Largest delay a timer may be armed with (browsers overflow past 2^31 - 1 ms).
pub const MAX_TIMER_MS: f64 = 2_147_483_647.0;

impl BackoffConfig {
    /// Checks every field; the error names the offending option.
    pub fn validate(&self) -> Result<(), &'static str> {
        // (a NaN or an infinity is outside every range)
        let within = |v: f64, hi: f64| (0.0..=hi).contains(&v);
        if !within(self.initial_delay, MAX_TIMER_MS) {
            return Err("autoReconnectOptions.initialDelay");
        }
        if !(1.0..=1000.0).contains(&self.multiplier) {
            return Err("autoReconnectOptions.multiplier");
        }
        if !within(self.max_delay, MAX_TIMER_MS) {
            return Err("autoReconnectOptions.maxDelay");
        }
        if !within(self.jitter, 1.0) {
            return Err("autoReconnectOptions.jitter");
        }
        if !within(self.randomness, MAX_TIMER_MS) {
            return Err("autoReconnectOptions.randomness");
        }
        if self.max_attempts == Some(0) {
            return Err("autoReconnectOptions.maxAttempts");
        }
        Ok(())
    }

    /// The capped, un-jittered delay of attempt `n` (0-based).
    pub fn base(&self, n: u32) -> f64 {
        let exp = powi(self.multiplier, n.min(1024));
        let raw = self.initial_delay * exp;
        if raw.is_finite() {
            raw.min(self.max_delay)
        } else {
            self.max_delay
        }
    }

    /// Delay in ms before attempt `n`, with `u`, `u2` uniform in `[0, 1)`.
    pub fn delay(&self, n: u32, u: f64, u2: f64) -> f64 {
        let u = clamp01(u);
        let u2 = clamp01(u2);
        let d = self.base(n) * (1.0 - self.jitter * u) + self.randomness * u2;
        d.clamp(0.0, MAX_TIMER_MS)
    }

    /// Inclusive bounds of `delay(n, ..)`, for tests and invariant checks.
    pub fn bounds(&self, n: u32) -> (f64, f64) {
        let b = self.base(n);
        (
            (b * (1.0 - self.jitter)).max(0.0),
            (b + self.randomness).min(MAX_TIMER_MS),
        )
    }

    /// Whether `attempts` failed attempts exhaust `max_attempts`.
    pub fn exhausted(&self, attempts: u32) -> bool {
        matches!(self.max_attempts, Some(m) if attempts >= m)
    }
}

fn clamp01(v: f64) -> f64 {
    if v.is_nan() {
        0.0
    } else {
        v.clamp(0.0, 0.999_999_999)
    }
}

/// A small deterministic RNG (xorshift64*), for tests and as a fallback when no host RNG is given.
#[derive(Debug, Clone)]
pub struct XorShift(u64);

impl XorShift {
    /// An RNG seeded with `seed` (any value, 0 included).
    pub fn new(seed: u64) -> Self {
        XorShift(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in `[0, 1)`.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Uniform in `[0, n)` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next_u64() % n
        }
    }
}

/// `x` to the power `n`, by squaring: `f64::powi`'s algorithm (compiler-builtins'
/// `__powidf2`, which `powi` calls on every target), so the same bits; `powi` itself needs std,
/// which the npm build does not link.
fn powi(mut x: f64, mut n: u32) -> f64 {
    let mut r = 1.0;
    loop {
        if n & 1 == 1 {
            r *= x;
        }
        n /= 2;
        if n == 0 {
            return r;
        }
        x *= x;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn powi_is_std_powi_to_the_bit() {
        let mut rng = XorShift::new(11);
        let mut xs = vec![0.0, 1.0, 1.5, 2.0, 1.000_001, 0.999, 10.0, 1000.0, 1e-3];
        for _ in 0..200 {
            xs.push(1.0 + rng.next_f64() * 999.0);
        }
        for &x in &xs {
            for n in 0..=1024u32 {
                assert_eq!(powi(x, n).to_bits(), x.powi(n as i32).to_bits(), "{x}^{n}");
            }
        }
    }

    #[test]
    fn defaults_match_api_md() {
        let c = BackoffConfig::default();
        assert_eq!(c.delay(0, 0.0, 0.0), 1000.0);
        assert_eq!(c.delay(1, 0.0, 0.0), 2000.0);
        assert_eq!(c.delay(10, 0.0, 0.0), 30000.0);
        // jitter 0.5 halves at most
        assert!((c.delay(0, 0.999_999, 0.0) - 500.0).abs() < 0.01);
    }

    #[test]
    fn distribution_within_bounds_and_spread_at_cap() {
        let c = BackoffConfig {
            randomness: 250.0,
            ..Default::default()
        };
        let mut rng = XorShift::new(7);
        let mut at_cap = Vec::new();
        for i in 0..10_000u32 {
            let n = i % 12;
            let d = c.delay(n, rng.next_f64(), rng.next_f64());
            let (lo, hi) = c.bounds(n);
            assert!(d >= lo && d <= hi, "attempt {n}: {d} not in [{lo}, {hi}]");
            if n >= 8 {
                at_cap.push(d);
            }
        }
        let min = at_cap.iter().cloned().fold(f64::INFINITY, f64::min);
        let max = at_cap.iter().cloned().fold(0.0, f64::max);
        assert!(
            max - min > 10_000.0,
            "delays at the cap are not spread: {min}..{max}"
        );
        let mut distinct = at_cap.clone();
        distinct.sort_by(|a, b| a.partial_cmp(b).unwrap());
        distinct.dedup();
        assert!(distinct.len() > at_cap.len() / 2);
    }

    #[test]
    fn validation_names_the_option() {
        let bad = BackoffConfig {
            jitter: 1.5,
            ..Default::default()
        };
        assert_eq!(bad.validate(), Err("autoReconnectOptions.jitter"));
        let bad = BackoffConfig {
            initial_delay: -1.0,
            ..Default::default()
        };
        assert_eq!(bad.validate(), Err("autoReconnectOptions.initialDelay"));
        let bad = BackoffConfig {
            max_attempts: Some(0),
            ..Default::default()
        };
        assert_eq!(bad.validate(), Err("autoReconnectOptions.maxAttempts"));
        assert!(BackoffConfig::default().validate().is_ok());
        // Not a number, infinite, or out of range: each field is named; its bounds pass.
        type Field = fn(&mut BackoffConfig) -> &mut f64;
        let fields: [(Field, f64, f64, &str); 5] = [
            (|c| &mut c.initial_delay, 0.0, MAX_TIMER_MS, "initialDelay"),
            (|c| &mut c.multiplier, 1.0, 1000.0, "multiplier"),
            (|c| &mut c.max_delay, 0.0, MAX_TIMER_MS, "maxDelay"),
            (|c| &mut c.jitter, 0.0, 1.0, "jitter"),
            (|c| &mut c.randomness, 0.0, MAX_TIMER_MS, "randomness"),
        ];
        for (field, lo, hi, name) in fields {
            let at = |v: f64| {
                let mut c = BackoffConfig::default();
                *field(&mut c) = v;
                c.validate()
            };
            let want = format!("autoReconnectOptions.{name}");
            for v in [
                f64::NAN,
                f64::INFINITY,
                f64::NEG_INFINITY,
                lo - 0.5,
                hi * 2.0,
            ] {
                assert_eq!(at(v), Err(want.as_str()), "{name} = {v}");
            }
            assert_eq!(at(lo), Ok(()), "{name} = {lo}");
            assert_eq!(at(hi), Ok(()), "{name} = {hi}");
        }
    }

    #[test]
    fn huge_attempt_numbers_stay_capped() {
        let c = BackoffConfig::default();
        assert!(c.delay(u32::MAX, 0.0, 0.0) <= 30000.0);
        assert!(!c.exhausted(3));
        let c = BackoffConfig {
            max_attempts: Some(3),
            ..Default::default()
        };
        assert!(c.exhausted(3) && !c.exhausted(2));
    }
}
