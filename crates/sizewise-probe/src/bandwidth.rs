//! Memory bandwidth: STREAM-like kernels over f64 arrays far larger than the caches.
//!
//! Bytes are counted as STREAM counts them: read-sum reads 8 bytes per element,
//! copy moves 16 (read + write), triad 24 (two reads, one write). Write-allocate
//! traffic is not counted, so copy and triad read a little below what the memory
//! really moves.

use std::hint::black_box;
use std::mem::MaybeUninit;
use std::thread;

use crate::ProbeError;

/// The three arrays the kernels run over, each `len` f64.
#[derive(Debug)]
pub struct Arrays {
    a: Vec<f64>,
    b: Vec<f64>,
    c: Vec<f64>,
}

/// Allocates `len` f64 and writes every element from `threads` threads, so that
/// each thread's slice is first touched (and placed in memory) by a thread.
fn filled(len: usize, value: f64, threads: usize) -> Result<Vec<f64>, ProbeError> {
    let mut v: Vec<f64> = Vec::new();
    v.try_reserve_exact(len).map_err(|_| ProbeError::Alloc {
        bytes: (len as u64).saturating_mul(8),
    })?;
    {
        let spare = &mut v.spare_capacity_mut()[..len];
        let per = len.div_ceil(threads.max(1)).max(1);
        thread::scope(|s| {
            for chunk in spare.chunks_mut(per) {
                s.spawn(move || {
                    for x in chunk {
                        *x = MaybeUninit::new(value);
                    }
                });
            }
        });
    }
    // SAFETY: the capacity is at least `len` (reserved above) and the scope above
    // initialized all of the first `len` elements (the chunks cover them).
    unsafe { v.set_len(len) };
    Ok(v)
}

impl Arrays {
    /// Three arrays of `len` f64 (at least 1), first touched by `threads` threads.
    pub fn new(len: usize, threads: usize) -> Result<Arrays, ProbeError> {
        let len = len.max(1);
        Ok(Arrays {
            a: filled(len, 1.0, threads)?,
            b: filled(len, 2.0, threads)?,
            c: filled(len, 0.5, threads)?,
        })
    }

    /// Elements per array.
    pub fn len(&self) -> usize {
        self.a.len()
    }

    /// Always false: arrays hold at least one element.
    pub fn is_empty(&self) -> bool {
        self.a.is_empty()
    }

    /// Bytes of one array.
    pub fn bytes_per_array(&self) -> u64 {
        self.a.len() as u64 * 8
    }

    /// Runs `kernel` once on `threads` threads (one slice of every array each) and
    /// returns the bytes it counts as moved.
    pub fn run(&mut self, kernel: Kernel, threads: usize) -> f64 {
        let len = self.a.len();
        let per = len.div_ceil(threads.max(1)).max(1);
        let a = &mut self.a;
        let b = &mut self.b;
        let c = &self.c;
        if threads <= 1 {
            kernel.apply(a, b, c);
        } else {
            thread::scope(|s| {
                for ((a, b), c) in a.chunks_mut(per).zip(b.chunks_mut(per)).zip(c.chunks(per)) {
                    s.spawn(move || kernel.apply(a, b, c));
                }
            });
        }
        kernel.bytes_per_element() * len as f64
    }
}

/// One STREAM-like kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernel {
    /// Sum of `a` (reads only: what decoding a model's weights does).
    Read,
    /// `b = a`.
    Copy,
    /// `a = b + s * c`.
    Triad,
}

impl Kernel {
    /// Every kernel, in the order the probe runs them.
    pub const ALL: [Kernel; 3] = [Kernel::Read, Kernel::Copy, Kernel::Triad];

    /// Bytes counted per element (STREAM's convention).
    pub fn bytes_per_element(self) -> f64 {
        match self {
            Kernel::Read => 8.0,
            Kernel::Copy => 16.0,
            Kernel::Triad => 24.0,
        }
    }

    /// The kernel's name.
    pub fn name(self) -> &'static str {
        match self {
            Kernel::Read => "read",
            Kernel::Copy => "copy",
            Kernel::Triad => "triad",
        }
    }

    fn apply(self, a: &mut [f64], b: &mut [f64], c: &[f64]) {
        match self {
            Kernel::Read => {
                black_box(read_sum(a));
            }
            Kernel::Copy => b.copy_from_slice(a),
            Kernel::Triad => triad(a, b, c, black_box(0.5)),
        }
    }
}

/// Sum of `x`, in 32 independent lanes: enough additions in flight to hide their latency,
/// so that memory, not the adder, limits the kernel. With eight lanes one core's figure
/// followed the clock speed and varied by 15% from one probe to the next; copy and triad,
/// which have no additions to wait for, did not.
pub fn read_sum(x: &[f64]) -> f64 {
    let (chunks, rest) = x.as_chunks::<32>();
    let mut acc = [0.0f64; 32];
    for ch in chunks {
        for (s, v) in acc.iter_mut().zip(ch) {
            *s += v;
        }
    }
    acc.iter().sum::<f64>() + rest.iter().sum::<f64>()
}

/// `a[i] = b[i] + s * c[i]`.
pub fn triad(a: &mut [f64], b: &[f64], c: &[f64], s: f64) {
    for ((x, y), z) in a.iter_mut().zip(b).zip(c) {
        *x = y + s * z;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use std::time::Instant;

    #[test]
    fn kernels_compute_what_they_say() {
        let x: Vec<f64> = (0..1003).map(f64::from).collect();
        assert_eq!(read_sum(&x), 1002.0 * 1003.0 / 2.0);
        let mut a = vec![0.0; 5];
        triad(&mut a, &[1.0; 5], &[2.0; 5], 3.0);
        assert_eq!(a, vec![7.0; 5]);
    }

    #[test]
    fn tiny_arrays_give_a_positive_finite_bandwidth() {
        let mut arr = Arrays::new(10_000, 2).unwrap();
        assert_eq!(arr.len(), 10_000);
        assert_eq!(arr.bytes_per_array(), 80_000);
        for k in Kernel::ALL {
            for threads in [1, 2, 3] {
                let t = Instant::now();
                let bytes = arr.run(k, threads);
                let bw = bytes / t.elapsed().as_secs_f64().max(1e-9);
                assert!(bw.is_finite() && bw > 0.0, "{k:?} {threads}: {bw}");
            }
        }
        // Triad wrote a = b + 0.5 c after copy made b = a = 1.
        assert!(arr.a.iter().all(|&v| v == 1.25));
    }
}
