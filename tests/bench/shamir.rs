//! Split and combine timings of the Shamir engine, the case that matters
//! most being the largest set: 255 shares of a 32-byte key.
//!
//! `cargo bench --bench shamir` prints the median of repeated runs.

use std::time::{Duration, Instant};

use ceremony::secret::SecretBytes;
use ceremony::shares::shamir::{self, Threshold};
use rand::rngs::OsRng;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn time<F: FnMut()>(runs: usize, mut f: F) -> Duration {
    f();
    median(
        (0..runs)
            .map(|_| {
                let start = Instant::now();
                f();
                start.elapsed()
            })
            .collect(),
    )
}

fn main() {
    println!(
        "{:<28} {:>12} {:>14} {:>18}",
        "case", "split", "combine (k)", "combine_checked (n)"
    );
    for (k, n, len) in [
        (2, 3, 32),
        (3, 5, 32),
        (128, 255, 32),
        (255, 255, 32),
        (128, 255, 1024),
    ] {
        let secret = SecretBytes::random(len);
        let threshold = Threshold::new(k, n).expect("valid");
        let shares = shamir::split(&secret, threshold, &mut OsRng).expect("split");
        let split = time(21, || {
            std::hint::black_box(shamir::split(&secret, threshold, &mut OsRng).expect("split"));
        });
        let combine = time(21, || {
            std::hint::black_box(shamir::combine(&shares[..k]).expect("combine"));
        });
        let checked = time(11, || {
            std::hint::black_box(shamir::combine_checked(&shares, k).expect("combine"));
        });
        println!(
            "{:<28} {:>12.3?} {:>14.3?} {:>18.3?}",
            format!("{k} of {n}, {len}-byte secret"),
            split,
            combine,
            checked
        );
    }
}
