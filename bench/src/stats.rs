//! What one load run measured, and the one machine-readable line every load
//! generator of bench/run prints (the wrk scripts print the same line).

use std::time::Duration;

use hdrhistogram::Histogram;

/// Latencies in microseconds, from 1 us to 60 s, 3 significant digits.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds")
}

/// Counts of one run, kept per task and added up at the end.
pub struct Tally {
    /// Latency of every answered request.
    pub latency: Histogram<u64>,
    /// Answers other than the expected status (or outcome).
    pub unexpected: u64,
    /// Connect, read, write and timeout failures.
    pub socket_errors: u64,
}

impl Tally {
    /// An empty tally.
    pub fn new() -> Tally {
        Tally {
            latency: new_histogram(),
            unexpected: 0,
            socket_errors: 0,
        }
    }

    /// Records one answered request.
    pub fn record(&mut self, latency: Duration) {
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.latency.saturating_record(micros.max(1));
    }

    /// Adds another task's counts to these.
    pub fn merge(&mut self, other: &Tally) {
        // Both histograms have the same bounds, so adding cannot fail.
        let _ = self.latency.add(&other.latency);
        self.unexpected += other.unexpected;
        self.socket_errors += other.socket_errors;
    }

    /// Waits for every task's tally, adds them up and prints the result line.
    pub async fn report_all(
        tasks: Vec<tokio::task::JoinHandle<Tally>>,
        elapsed: Duration,
    ) -> Result<(), String> {
        let mut total = Tally::new();
        for task in tasks {
            total.merge(&task.await.map_err(|e| e.to_string())?);
        }
        println!("{}", total.result_line(elapsed));
        Ok(())
    }

    /// The `RESULT ...` line for a run that lasted `elapsed`.
    pub fn result_line(&self, elapsed: Duration) -> String {
        let requests = self.latency.len();
        let secs = elapsed.as_secs_f64();
        let ms = |micros: u64| micros as f64 / 1000.0;
        format!(
            "RESULT requests={requests} duration_s={secs:.3} rps={:.1} p50_ms={:.3} p99_ms={:.3} \
             max_ms={:.3} unexpected={} socket_errors={}",
            requests as f64 / secs,
            ms(self.latency.value_at_quantile(0.50)),
            ms(self.latency.value_at_quantile(0.99)),
            ms(self.latency.max()),
            self.unexpected,
            self.socket_errors,
        )
    }
}

/// `kv-bench calibrate`: prints `CALIBRATE mops=<per core>` (see [`calibrate_mops`]).
pub fn calibrate(args: &crate::args::Args) -> Result<(), String> {
    println!(
        "CALIBRATE mops={:.0}",
        calibrate_mops(args.get_or("seconds", 1.0)?)
    );
    Ok(())
}

/// A fixed CPU-bound loop on every core for `seconds`, so a run shows
/// whether the machine itself (a shared host) got slower between its start
/// and its end. Millions of loop steps per second per core.
pub fn calibrate_mops(seconds: f64) -> f64 {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let until = std::time::Instant::now() + Duration::from_secs_f64(seconds);
    let workers: Vec<_> = (0..cores)
        .map(|seed| {
            std::thread::spawn(move || {
                let (mut x, mut ops) = (seed as u64 + 1, 0u64);
                while std::time::Instant::now() < until {
                    for _ in 0..100_000 {
                        // xorshift: cheap, branch-free, never optimised away.
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                    }
                    ops += 100_000;
                }
                std::hint::black_box(x);
                ops
            })
        })
        .collect();
    let total: u64 = workers.into_iter().map(|w| w.join().unwrap_or(0)).sum();
    total as f64 / seconds / cores as f64 / 1e6
}
