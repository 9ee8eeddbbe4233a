//! The ggml tensor types: block size and bytes per block of each, so sizes are exact.

use std::fmt;

/// Number of weights in a k-quant super-block (`QK_K` in ggml).
const QK_K: u64 = 256;

/// A ggml tensor type, as stored in a GGUF tensor info (the `ggml_type` enum of ggml).
///
/// Ids that ggml has removed (4, 5: `Q4_2`, `Q4_3`; 31..=33: `Q4_0_4_4`, `Q4_0_4_8`,
/// `Q4_0_8_8`; 36..=38: `IQ4_NL_4_4`, `IQ4_NL_4_8`, `IQ4_NL_8_8`) and ids this crate does not
/// know are rejected by [`GgmlType::from_id`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum GgmlType {
    /// 32-bit float.
    F32,
    /// 16-bit IEEE float.
    F16,
    /// 4-bit, blocks of 32 with an f16 scale (4.5 bits per weight).
    Q4_0,
    /// 4-bit, blocks of 32 with f16 scale and min (5.0 bpw).
    Q4_1,
    /// 5-bit, blocks of 32 with an f16 scale (5.5 bpw).
    Q5_0,
    /// 5-bit, blocks of 32 with f16 scale and min (6.0 bpw).
    Q5_1,
    /// 8-bit, blocks of 32 with an f16 scale (8.5 bpw).
    Q8_0,
    /// 8-bit, blocks of 32 with f16 scale and sum (9.0 bpw).
    Q8_1,
    /// 2-bit k-quant, super-blocks of 256 (2.625 bpw).
    Q2K,
    /// 3-bit k-quant (3.4375 bpw).
    Q3K,
    /// 4-bit k-quant (4.5 bpw).
    Q4K,
    /// 5-bit k-quant (5.5 bpw).
    Q5K,
    /// 6-bit k-quant (6.5625 bpw).
    Q6K,
    /// 8-bit k-quant, used for intermediate results (9.125 bpw).
    Q8K,
    /// i-quant 2-bit XXS (2.0625 bpw).
    IQ2XXS,
    /// i-quant 2-bit XS (2.3125 bpw).
    IQ2XS,
    /// i-quant 3-bit XXS (3.0625 bpw).
    IQ3XXS,
    /// i-quant 1-bit S (1.5625 bpw).
    IQ1S,
    /// i-quant 4-bit non-linear, blocks of 32 (4.5 bpw).
    IQ4NL,
    /// i-quant 3-bit S (3.4375 bpw).
    IQ3S,
    /// i-quant 2-bit S (2.5625 bpw).
    IQ2S,
    /// i-quant 4-bit XS (4.25 bpw).
    IQ4XS,
    /// 8-bit integer.
    I8,
    /// 16-bit integer.
    I16,
    /// 32-bit integer.
    I32,
    /// 64-bit integer.
    I64,
    /// 64-bit float.
    F64,
    /// i-quant 1-bit M (1.75 bpw).
    IQ1M,
    /// bfloat16.
    BF16,
    /// Ternary 1.6875 bpw.
    TQ10,
    /// Ternary 2.0625 bpw.
    TQ20,
    /// Microscaling FP4, blocks of 32 with an e8m0 scale (4.25 bpw).
    MXFP4,
}

impl GgmlType {
    /// Every type this crate knows, in id order.
    pub const ALL: [GgmlType; 32] = [
        GgmlType::F32,
        GgmlType::F16,
        GgmlType::Q4_0,
        GgmlType::Q4_1,
        GgmlType::Q5_0,
        GgmlType::Q5_1,
        GgmlType::Q8_0,
        GgmlType::Q8_1,
        GgmlType::Q2K,
        GgmlType::Q3K,
        GgmlType::Q4K,
        GgmlType::Q5K,
        GgmlType::Q6K,
        GgmlType::Q8K,
        GgmlType::IQ2XXS,
        GgmlType::IQ2XS,
        GgmlType::IQ3XXS,
        GgmlType::IQ1S,
        GgmlType::IQ4NL,
        GgmlType::IQ3S,
        GgmlType::IQ2S,
        GgmlType::IQ4XS,
        GgmlType::I8,
        GgmlType::I16,
        GgmlType::I32,
        GgmlType::I64,
        GgmlType::F64,
        GgmlType::IQ1M,
        GgmlType::BF16,
        GgmlType::TQ10,
        GgmlType::TQ20,
        GgmlType::MXFP4,
    ];

    /// The type with this ggml id, or `None` for an unknown or removed id.
    pub fn from_id(id: u32) -> Option<GgmlType> {
        GgmlType::ALL.iter().copied().find(|t| t.id() == id)
    }

    /// The ggml id of this type (its value in the `ggml_type` enum).
    pub fn id(self) -> u32 {
        match self {
            GgmlType::F32 => 0,
            GgmlType::F16 => 1,
            GgmlType::Q4_0 => 2,
            GgmlType::Q4_1 => 3,
            GgmlType::Q5_0 => 6,
            GgmlType::Q5_1 => 7,
            GgmlType::Q8_0 => 8,
            GgmlType::Q8_1 => 9,
            GgmlType::Q2K => 10,
            GgmlType::Q3K => 11,
            GgmlType::Q4K => 12,
            GgmlType::Q5K => 13,
            GgmlType::Q6K => 14,
            GgmlType::Q8K => 15,
            GgmlType::IQ2XXS => 16,
            GgmlType::IQ2XS => 17,
            GgmlType::IQ3XXS => 18,
            GgmlType::IQ1S => 19,
            GgmlType::IQ4NL => 20,
            GgmlType::IQ3S => 21,
            GgmlType::IQ2S => 22,
            GgmlType::IQ4XS => 23,
            GgmlType::I8 => 24,
            GgmlType::I16 => 25,
            GgmlType::I32 => 26,
            GgmlType::I64 => 27,
            GgmlType::F64 => 28,
            GgmlType::IQ1M => 29,
            GgmlType::BF16 => 30,
            GgmlType::TQ10 => 34,
            GgmlType::TQ20 => 35,
            GgmlType::MXFP4 => 39,
        }
    }

    /// The name ggml gives this type (`"Q4_K"`, `"IQ2_XXS"`, `"BF16"` ...).
    pub fn name(self) -> &'static str {
        match self {
            GgmlType::F32 => "F32",
            GgmlType::F16 => "F16",
            GgmlType::Q4_0 => "Q4_0",
            GgmlType::Q4_1 => "Q4_1",
            GgmlType::Q5_0 => "Q5_0",
            GgmlType::Q5_1 => "Q5_1",
            GgmlType::Q8_0 => "Q8_0",
            GgmlType::Q8_1 => "Q8_1",
            GgmlType::Q2K => "Q2_K",
            GgmlType::Q3K => "Q3_K",
            GgmlType::Q4K => "Q4_K",
            GgmlType::Q5K => "Q5_K",
            GgmlType::Q6K => "Q6_K",
            GgmlType::Q8K => "Q8_K",
            GgmlType::IQ2XXS => "IQ2_XXS",
            GgmlType::IQ2XS => "IQ2_XS",
            GgmlType::IQ3XXS => "IQ3_XXS",
            GgmlType::IQ1S => "IQ1_S",
            GgmlType::IQ4NL => "IQ4_NL",
            GgmlType::IQ3S => "IQ3_S",
            GgmlType::IQ2S => "IQ2_S",
            GgmlType::IQ4XS => "IQ4_XS",
            GgmlType::I8 => "I8",
            GgmlType::I16 => "I16",
            GgmlType::I32 => "I32",
            GgmlType::I64 => "I64",
            GgmlType::F64 => "F64",
            GgmlType::IQ1M => "IQ1_M",
            GgmlType::BF16 => "BF16",
            GgmlType::TQ10 => "TQ1_0",
            GgmlType::TQ20 => "TQ2_0",
            GgmlType::MXFP4 => "MXFP4",
        }
    }

    /// Number of weights in one block (1 for plain types, 32 for `Q4_0`, 256 for k-quants).
    pub fn block_size(self) -> u64 {
        match self {
            GgmlType::F32
            | GgmlType::F16
            | GgmlType::BF16
            | GgmlType::F64
            | GgmlType::I8
            | GgmlType::I16
            | GgmlType::I32
            | GgmlType::I64 => 1,
            GgmlType::Q4_0
            | GgmlType::Q4_1
            | GgmlType::Q5_0
            | GgmlType::Q5_1
            | GgmlType::Q8_0
            | GgmlType::Q8_1
            | GgmlType::IQ4NL
            | GgmlType::MXFP4 => 32,
            GgmlType::Q2K
            | GgmlType::Q3K
            | GgmlType::Q4K
            | GgmlType::Q5K
            | GgmlType::Q6K
            | GgmlType::Q8K
            | GgmlType::IQ2XXS
            | GgmlType::IQ2XS
            | GgmlType::IQ3XXS
            | GgmlType::IQ1S
            | GgmlType::IQ3S
            | GgmlType::IQ2S
            | GgmlType::IQ4XS
            | GgmlType::IQ1M
            | GgmlType::TQ10
            | GgmlType::TQ20 => QK_K,
        }
    }

    /// Bytes of one block (`sizeof(block_q4_0)` = 18 and so on; the element size for plain
    /// types).
    pub fn block_bytes(self) -> u64 {
        match self {
            GgmlType::F32 | GgmlType::I32 => 4,
            GgmlType::F16 | GgmlType::BF16 | GgmlType::I16 => 2,
            GgmlType::F64 | GgmlType::I64 => 8,
            GgmlType::I8 => 1,
            // 32 weights: f16 scale + 16 bytes of nibbles.
            GgmlType::Q4_0 | GgmlType::IQ4NL => 2 + 16,
            // f16 scale + f16 min + 16 bytes.
            GgmlType::Q4_1 => 2 + 2 + 16,
            // f16 scale + 4 bytes of high bits + 16 bytes.
            GgmlType::Q5_0 => 2 + 4 + 16,
            GgmlType::Q5_1 => 2 + 2 + 4 + 16,
            GgmlType::Q8_0 => 2 + 32,
            GgmlType::Q8_1 => 2 + 2 + 32,
            // e8m0 scale + 16 bytes of fp4 pairs.
            GgmlType::MXFP4 => 1 + 16,
            // 256 weights: scales[16] + qs[64] + d + dmin.
            GgmlType::Q2K => QK_K / 16 + QK_K / 4 + 2 + 2,
            // hmask[32] + qs[64] + scales[12] + d.
            GgmlType::Q3K => QK_K / 8 + QK_K / 4 + 12 + 2,
            // d + dmin + scales[12] + qs[128].
            GgmlType::Q4K => 2 + 2 + 12 + QK_K / 2,
            // d + dmin + scales[12] + qh[32] + qs[128].
            GgmlType::Q5K => 2 + 2 + 12 + QK_K / 8 + QK_K / 2,
            // ql[128] + qh[64] + scales[16] + d.
            GgmlType::Q6K => QK_K / 2 + QK_K / 4 + QK_K / 16 + 2,
            // f32 d + qs[256] + bsums[16] as i16.
            GgmlType::Q8K => 4 + QK_K + (QK_K / 16) * 2,
            // d + qs[QK_K/8] as u16.
            GgmlType::IQ2XXS => 2 + (QK_K / 8) * 2,
            // d + qs[QK_K/8] as u16 + scales[QK_K/32].
            GgmlType::IQ2XS => 2 + (QK_K / 8) * 2 + QK_K / 32,
            // d + qs[3*QK_K/8].
            GgmlType::IQ3XXS => 2 + 3 * QK_K / 8,
            // d + qs[QK_K/8] + qh[QK_K/32] as u16.
            GgmlType::IQ1S => 2 + QK_K / 8 + (QK_K / 32) * 2,
            // d + qs[QK_K/4] + qh[QK_K/32] + signs[QK_K/8] + scales[QK_K/64].
            GgmlType::IQ3S => 2 + QK_K / 4 + QK_K / 32 + QK_K / 8 + QK_K / 64,
            // d + qs[QK_K/4] + qh[QK_K/32] + scales[QK_K/32].
            GgmlType::IQ2S => 2 + QK_K / 4 + QK_K / 32 + QK_K / 32,
            // d + scales_h (u16) + scales_l[QK_K/64] + qs[QK_K/2].
            GgmlType::IQ4XS => 2 + 2 + QK_K / 64 + QK_K / 2,
            // qs[QK_K/8] + qh[QK_K/16] + scales[QK_K/32].
            GgmlType::IQ1M => QK_K / 8 + QK_K / 16 + QK_K / 32,
            // qs[(QK_K - 4*QK_K/64)/5] + qh[QK_K/64] + d.
            GgmlType::TQ10 => (QK_K - 4 * QK_K / 64) / 5 + QK_K / 64 + 2,
            // qs[QK_K/4] + d.
            GgmlType::TQ20 => QK_K / 4 + 2,
        }
    }

    /// Real bits per weight: `8 * block_bytes / block_size` (4.5 for `Q4_0`, 6.5625 for `Q6_K`).
    pub fn bits_per_weight(self) -> f64 {
        (self.block_bytes() * 8) as f64 / self.block_size() as f64
    }

    /// Whether the type is quantized (stores weights in blocks with scales).
    pub fn is_quantized(self) -> bool {
        self.block_size() > 1
    }

    /// Bytes taken by `n_elements` weights of this type, or `None` when `n_elements` is not a
    /// whole number of blocks or the size overflows `u64`.
    pub fn bytes_for(self, n_elements: u64) -> Option<u64> {
        let block = self.block_size();
        if !n_elements.is_multiple_of(block) {
            return None;
        }
        (n_elements / block).checked_mul(self.block_bytes())
    }
}

impl fmt::Display for GgmlType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The name of a `general.file_type` value (llama.cpp's `llama_ftype`), such as `"Q4_K_M"`.
///
/// `None` for values llama.cpp has removed or that this crate does not know.
pub fn file_type_name(file_type: u32) -> Option<&'static str> {
    Some(match file_type {
        0 => "F32",
        1 => "F16",
        2 => "Q4_0",
        3 => "Q4_1",
        4 => "Q4_1_SOME_F16",
        7 => "Q8_0",
        8 => "Q5_0",
        9 => "Q5_1",
        10 => "Q2_K",
        11 => "Q3_K_S",
        12 => "Q3_K_M",
        13 => "Q3_K_L",
        14 => "Q4_K_S",
        15 => "Q4_K_M",
        16 => "Q5_K_S",
        17 => "Q5_K_M",
        18 => "Q6_K",
        19 => "IQ2_XXS",
        20 => "IQ2_XS",
        21 => "Q2_K_S",
        22 => "IQ3_XS",
        23 => "IQ3_XXS",
        24 => "IQ1_S",
        25 => "IQ4_NL",
        26 => "IQ3_S",
        27 => "IQ3_M",
        28 => "IQ2_S",
        29 => "IQ2_M",
        30 => "IQ4_XS",
        31 => "IQ1_M",
        32 => "BF16",
        36 => "TQ1_0",
        37 => "TQ2_0",
        38 => "MXFP4_MOE",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_are_unique() {
        for t in GgmlType::ALL {
            assert_eq!(GgmlType::from_id(t.id()), Some(t), "{t}");
        }
        for removed in [4, 5, 31, 32, 33, 36, 37, 38, 40, 1000, u32::MAX] {
            assert_eq!(GgmlType::from_id(removed), None, "{removed}");
        }
    }

    #[test]
    fn block_bytes_match_ggml() {
        // (type, block size, sizeof(block)) from ggml-common.h.
        let table = [
            (GgmlType::F32, 1, 4),
            (GgmlType::F16, 1, 2),
            (GgmlType::BF16, 1, 2),
            (GgmlType::Q4_0, 32, 18),
            (GgmlType::Q4_1, 32, 20),
            (GgmlType::Q5_0, 32, 22),
            (GgmlType::Q5_1, 32, 24),
            (GgmlType::Q8_0, 32, 34),
            (GgmlType::Q8_1, 32, 36),
            (GgmlType::Q2K, 256, 84),
            (GgmlType::Q3K, 256, 110),
            (GgmlType::Q4K, 256, 144),
            (GgmlType::Q5K, 256, 176),
            (GgmlType::Q6K, 256, 210),
            (GgmlType::Q8K, 256, 292),
            (GgmlType::IQ2XXS, 256, 66),
            (GgmlType::IQ2XS, 256, 74),
            (GgmlType::IQ3XXS, 256, 98),
            (GgmlType::IQ1S, 256, 50),
            (GgmlType::IQ4NL, 32, 18),
            (GgmlType::IQ3S, 256, 110),
            (GgmlType::IQ2S, 256, 82),
            (GgmlType::IQ4XS, 256, 136),
            (GgmlType::I8, 1, 1),
            (GgmlType::I16, 1, 2),
            (GgmlType::I32, 1, 4),
            (GgmlType::I64, 1, 8),
            (GgmlType::F64, 1, 8),
            (GgmlType::IQ1M, 256, 56),
            (GgmlType::TQ10, 256, 54),
            (GgmlType::TQ20, 256, 66),
            (GgmlType::MXFP4, 32, 17),
        ];
        assert_eq!(table.len(), GgmlType::ALL.len());
        for (t, block, bytes) in table {
            assert_eq!((t.block_size(), t.block_bytes()), (block, bytes), "{t}");
        }
    }

    #[test]
    fn bits_per_weight() {
        assert_eq!(GgmlType::Q4_0.bits_per_weight(), 4.5);
        assert_eq!(GgmlType::Q4_1.bits_per_weight(), 5.0);
        assert_eq!(GgmlType::Q8_0.bits_per_weight(), 8.5);
        assert_eq!(GgmlType::Q4K.bits_per_weight(), 4.5);
        assert_eq!(GgmlType::Q6K.bits_per_weight(), 6.5625);
        assert_eq!(GgmlType::Q2K.bits_per_weight(), 2.625);
        assert_eq!(GgmlType::F16.bits_per_weight(), 16.0);
        assert_eq!(GgmlType::IQ2XXS.bits_per_weight(), 2.0625);
        assert_eq!(GgmlType::TQ10.bits_per_weight(), 1.6875);
    }

    #[test]
    fn bytes_for() {
        assert_eq!(GgmlType::Q4_0.bytes_for(64), Some(36));
        assert_eq!(GgmlType::Q4_0.bytes_for(33), None);
        assert_eq!(GgmlType::F32.bytes_for(u64::MAX), None);
        assert_eq!(GgmlType::F32.bytes_for(0), Some(0));
    }

    #[test]
    fn file_types() {
        assert_eq!(file_type_name(15), Some("Q4_K_M"));
        assert_eq!(file_type_name(3), Some("Q4_1"));
        assert_eq!(file_type_name(5), None);
    }
}
