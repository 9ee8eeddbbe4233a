//! f32 matrix multiply: a packed, cache-blocked, register-tiled GEMM written so the
//! compiler vectorizes it, chosen at run time for the CPU's instruction set.
//!
//! Both operands are packed once (A in blocks of [`MR`] rows, B in panels of [`NR`]
//! columns), as an inference engine lays out its weights once; the multiply then
//! walks `KC`-deep slices of them so that a B panel slice stays in L1 while every
//! row block of A passes over it, and keeps an `MR`x`NR` tile of C in registers.

use std::thread;

use crate::ProbeError;

/// Rows of C computed together by the inner kernel.
pub const MR: usize = 4;
/// Columns of C computed together by the inner kernel (two 256-bit vectors of f32).
pub const NR: usize = 16;
/// Depth of one slice of the inner dimension (a B panel slice is `KC`x`NR` f32 = 16 KiB).
const KC: usize = 256;

/// The instruction set the GEMM kernel runs with on this CPU.
pub fn kernel_name() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    {
        if has_avx2_fma() { "avx2+fma" } else { "sse2" }
    }
    #[cfg(target_arch = "aarch64")]
    {
        "neon+fma"
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        "portable"
    }
}

#[cfg(target_arch = "x86_64")]
fn has_avx2_fma() -> bool {
    std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
}

/// Two n x n row-major f32 matrices, packed for [`Gemm::multiply`].
#[derive(Debug, Clone)]
pub struct Gemm {
    n: usize,
    /// A in blocks of `MR` rows: block `i`, depth `k` is `apack[i * n + k]` (zero-padded rows).
    apack: Vec<[f32; MR]>,
    /// B in panels of `NR` columns: panel `p`, depth `k` is `bpack[p * n + k]` (zero-padded columns).
    bpack: Vec<[f32; NR]>,
}

impl Gemm {
    /// Packs `a` and `b`, both `n * n` f32 in row-major order.
    pub fn new(a: &[f32], b: &[f32], n: usize) -> Result<Gemm, ProbeError> {
        if n == 0 || a.len() != n * n || b.len() != n * n {
            return Err(ProbeError::BadInput(format!(
                "matmul operands must both hold n*n = {} values (n = {n}); got {} and {}",
                n * n,
                a.len(),
                b.len()
            )));
        }
        let blocks = n.div_ceil(MR);
        let panels = n.div_ceil(NR);
        let mut apack = vec![[0.0f32; MR]; blocks * n];
        for ib in 0..blocks {
            for r in 0..MR.min(n - ib * MR) {
                let row = &a[(ib * MR + r) * n..(ib * MR + r + 1) * n];
                for (k, v) in row.iter().enumerate() {
                    apack[ib * n + k][r] = *v;
                }
            }
        }
        let mut bpack = vec![[0.0f32; NR]; panels * n];
        for p in 0..panels {
            let cols = NR.min(n - p * NR);
            for k in 0..n {
                let src = &b[k * n + p * NR..k * n + p * NR + cols];
                bpack[p * n + k][..cols].copy_from_slice(src);
            }
        }
        Ok(Gemm { n, apack, bpack })
    }

    /// The matrix size n.
    pub fn n(&self) -> usize {
        self.n
    }

    /// Floating-point operations of one multiply: 2 n^3 (a multiply and an add each).
    pub fn flops(&self) -> f64 {
        2.0 * (self.n as f64).powi(3)
    }

    /// Writes C = A B into `c` (`n * n` f32, row-major), splitting the rows of C
    /// over `threads` threads (at least one).
    pub fn multiply(&self, c: &mut [f32], threads: usize) -> Result<(), ProbeError> {
        let n = self.n;
        if c.len() != n * n {
            return Err(ProbeError::BadInput(format!(
                "matmul output must hold n*n = {} values; got {}",
                n * n,
                c.len()
            )));
        }
        let blocks = n.div_ceil(MR);
        let threads = threads.clamp(1, blocks);
        if threads == 1 {
            self.rows(0, blocks, c);
            return Ok(());
        }
        let per = blocks.div_ceil(threads);
        thread::scope(|s| {
            for (t, chunk) in c.chunks_mut(per * MR * n).enumerate() {
                let first = t * per;
                let last = (first + per).min(blocks);
                s.spawn(move || self.rows(first, last, chunk));
            }
        });
        Ok(())
    }

    /// Computes the rows of C in row blocks `first..last` into `c` (those rows only).
    fn rows(&self, first: usize, last: usize, c: &mut [f32]) {
        #[cfg(target_arch = "x86_64")]
        {
            if has_avx2_fma() {
                // SAFETY: the CPU supports AVX2 and FMA (checked just above), the only
                // requirement of calling a function compiled with those features.
                unsafe { rows_avx2_fma(self, first, last, c) };
                return;
            }
            rows_generic::<false>(self, first, last, c);
        }
        #[cfg(target_arch = "aarch64")]
        {
            // NEON and fused multiply-add are part of every aarch64 CPU.
            rows_generic::<true>(self, first, last, c);
        }
        #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
        {
            rows_generic::<false>(self, first, last, c);
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn rows_avx2_fma(g: &Gemm, first: usize, last: usize, c: &mut [f32]) {
    rows_generic::<true>(g, first, last, c);
}

#[inline(always)]
fn madd<const FMA: bool>(a: f32, b: f32, acc: f32) -> f32 {
    if FMA { a.mul_add(b, acc) } else { a * b + acc }
}

/// acc += A block slice x B panel slice, over their common depth.
#[inline(always)]
fn tile<const FMA: bool>(a: &[[f32; MR]], b: &[[f32; NR]], acc_out: &mut [[f32; NR]; MR]) {
    let mut acc = *acc_out;
    for (ak, bk) in a.iter().zip(b) {
        for r in 0..MR {
            for j in 0..NR {
                acc[r][j] = madd::<FMA>(ak[r], bk[j], acc[r][j]);
            }
        }
    }
    *acc_out = acc;
}

#[inline(always)]
fn rows_generic<const FMA: bool>(g: &Gemm, first: usize, last: usize, c: &mut [f32]) {
    let n = g.n;
    let panels = n.div_ceil(NR);
    let row_base = first * MR;
    c.fill(0.0);
    let mut k0 = 0;
    while k0 < n {
        let k1 = (k0 + KC).min(n);
        for p in 0..panels {
            let b = &g.bpack[p * n + k0..p * n + k1];
            let col0 = p * NR;
            let cols = NR.min(n - col0);
            for ib in first..last {
                let a = &g.apack[ib * n + k0..ib * n + k1];
                let row0 = ib * MR;
                let rows = MR.min(n - row0);
                let mut acc = [[0.0f32; NR]; MR];
                if k0 > 0 {
                    for (r, acc_row) in acc.iter_mut().enumerate().take(rows) {
                        let off = (row0 - row_base + r) * n + col0;
                        acc_row[..cols].copy_from_slice(&c[off..off + cols]);
                    }
                }
                tile::<FMA>(a, b, &mut acc);
                for (r, acc_row) in acc.iter().enumerate().take(rows) {
                    let off = (row0 - row_base + r) * n + col0;
                    c[off..off + cols].copy_from_slice(&acc_row[..cols]);
                }
            }
        }
        k0 = k1;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    fn naive(a: &[f32], b: &[f32], n: usize) -> Vec<f32> {
        let mut c = vec![0.0f32; n * n];
        for i in 0..n {
            for j in 0..n {
                let mut s = 0.0f64;
                for k in 0..n {
                    s += a[i * n + k] as f64 * b[k * n + j] as f64;
                }
                c[i * n + j] = s as f32;
            }
        }
        c
    }

    fn matrix(n: usize, seed: u32) -> Vec<f32> {
        let mut x = seed;
        (0..n * n)
            .map(|_| {
                x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (x >> 8) as f32 / (1u32 << 24) as f32 - 0.5
            })
            .collect()
    }

    #[test]
    fn matches_the_naive_product() {
        // Sizes that are not multiples of MR, NR or KC exercise the padded edges.
        for n in [1, 3, 4, 17, 37, 64, 300] {
            let a = matrix(n, 1);
            let b = matrix(n, 2);
            let want = naive(&a, &b, n);
            let g = Gemm::new(&a, &b, n).unwrap();
            for threads in [1, 2, 3] {
                let mut c = vec![f32::NAN; n * n];
                g.multiply(&mut c, threads).unwrap();
                for (i, (x, y)) in c.iter().zip(&want).enumerate() {
                    assert!(
                        (x - y).abs() <= 1e-3 * (1.0 + y.abs()),
                        "n={n} threads={threads} [{i}]: {x} vs {y}"
                    );
                }
            }
        }
    }

    #[test]
    fn refuses_wrong_sizes() {
        assert!(Gemm::new(&[1.0; 4], &[1.0; 3], 2).is_err());
        let g = Gemm::new(&[1.0; 4], &[1.0; 4], 2).unwrap();
        assert!(g.multiply(&mut [0.0; 3], 1).is_err());
        assert_eq!(g.flops(), 16.0);
        assert!(!kernel_name().is_empty());
    }
}
