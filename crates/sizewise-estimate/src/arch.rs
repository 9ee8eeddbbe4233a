//! Exact architecture accounting: parameters, matmul weights per token, KV cache.
//!
//! Counts follow the architecture as written in `config.json`: explicit
//! `head_dim`, grouped/multi-query KV heads, tied or untied embeddings, gated or
//! plain MLP, mixture-of-experts total vs active, per-layer shapes, sliding
//! windows, biases and norms.

use sizewise_catalog::{Architecture, Mlp, Norm, Position};

/// Parameter counts derived from an architecture.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ParamCount {
    /// Every parameter stored (all experts).
    pub total: f64,
    /// Parameters used for one token (routed experts only).
    pub active: f64,
    /// The input embedding table (vocab x hidden).
    pub embedding: f64,
    /// Weights multiplied for one token: transformer blocks (active experts) plus
    /// the output projection. The input embedding is a lookup, not a product.
    pub matmul_active: f64,
    /// Weights of the transformer blocks with every expert (what a batch can touch).
    pub blocks_total: f64,
    /// Weights of the transformer blocks used by one token.
    pub blocks_active: f64,
    /// Output projection (vocab x hidden), shared with the embedding when tied.
    pub lm_head: f64,
}

fn norm_params(norm: Norm, hidden: f64) -> f64 {
    match norm {
        Norm::Rmsnorm => hidden,
        Norm::Layernorm => 2.0 * hidden,
    }
}

/// Counts the parameters of `a`. `context_window` sizes learned position tables.
pub fn count_params(a: &Architecture, context_window: Option<u64>) -> ParamCount {
    let h = a.hidden as f64;
    let hd = a.head_dim as f64;
    let vocab = a.vocab as f64;
    let embedding = vocab * h;
    let lm_head = vocab * h;
    let mut blocks_total = 0.0;
    let mut blocks_active = 0.0;
    for i in 0..a.layers as usize {
        let heads = a.heads_at(i) as f64;
        let kv = a.kv_heads_at(i) as f64;
        let ffn = a.ffn_at(i) as f64;
        let mut attn = h * heads * hd + 2.0 * h * kv * hd + heads * hd * h;
        if a.qkv_bias {
            attn += (heads + 2.0 * kv) * hd;
        }
        if a.linear_bias {
            attn += h;
        }
        let mut mlp = match a.mlp {
            Mlp::Gated => 3.0 * h * ffn,
            Mlp::Plain => 2.0 * h * ffn,
        };
        if a.linear_bias {
            mlp += ffn + h;
        }
        let norms = 2.0 * norm_params(a.norm, h);
        let (mlp_total, mlp_active) = match (a.experts, a.experts_active) {
            (Some(e), Some(k)) if e > 1 => {
                let router = h * e as f64;
                (mlp * e as f64 + router, mlp * k as f64 + router)
            }
            _ => (mlp, mlp),
        };
        blocks_total += attn + mlp_total + norms;
        blocks_active += attn + mlp_active + norms;
    }
    let final_norm = norm_params(a.norm, h);
    let positions = match a.position {
        Position::Learned => context_window.unwrap_or(0) as f64 * h,
        _ => 0.0,
    };
    let extra = a.extra_params.unwrap_or(0.0);
    let head = if a.tied_embeddings { 0.0 } else { lm_head };
    let total = embedding + head + blocks_total + final_norm + positions + extra;
    let active = embedding + head + blocks_active + final_norm + positions + extra;
    ParamCount {
        total,
        active,
        embedding,
        matmul_active: blocks_active + lm_head,
        blocks_total,
        blocks_active,
        lm_head,
    }
}

/// KV-cache elements (not bytes) for one sequence of `context` tokens: every
/// layer stores a key and a value vector per KV head; sliding-window layers
/// keep at most the window.
pub fn kv_elements(a: &Architecture, context: f64) -> f64 {
    let hd = a.head_dim as f64;
    let mut total = 0.0;
    for i in 0..a.layers as usize {
        let kv = a.kv_heads_at(i) as f64;
        let tokens = match (a.is_sliding_layer(i), a.sliding_window) {
            (true, Some(w)) => context.min(w as f64),
            _ => context,
        };
        total += 2.0 * kv * hd * tokens;
    }
    total
}

/// KV-cache elements per token while the context is shorter than every window.
pub fn kv_elements_per_token(a: &Architecture) -> f64 {
    let hd = a.head_dim as f64;
    (0..a.layers as usize)
        .map(|i| 2.0 * a.kv_heads_at(i) as f64 * hd)
        .sum()
}

/// Attention FLOPs (QK^T and AV) for one new token attending to `context`
/// earlier tokens: 4 x heads x head_dim x attended tokens per layer.
pub fn attention_flops_per_token(a: &Architecture, context: f64) -> f64 {
    let hd = a.head_dim as f64;
    let mut total = 0.0;
    for i in 0..a.layers as usize {
        let heads = a.heads_at(i) as f64;
        let tokens = match (a.is_sliding_layer(i), a.sliding_window) {
            (true, Some(w)) => context.min(w as f64),
            _ => context,
        };
        total += 4.0 * heads * hd * tokens;
    }
    total
}

/// Attention FLOPs for a causal prefill of `n` tokens: every token attends to the
/// ones before it, so the full n² product is halved.
pub fn attention_flops_prefill(a: &Architecture, n: f64) -> f64 {
    let hd = a.head_dim as f64;
    let mut total = 0.0;
    for i in 0..a.layers as usize {
        let heads = a.heads_at(i) as f64;
        let pairs = match (a.is_sliding_layer(i), a.sliding_window) {
            (true, Some(w)) if (w as f64) < n => {
                let w = w as f64;
                w * w / 2.0 + (n - w) * w
            }
            _ => n * n / 2.0,
        };
        total += 4.0 * heads * hd * pairs;
    }
    total
}

/// Expected number of distinct experts a batch of `batch` tokens touches in one
/// MoE layer, with uniform routing: E x (1 - (1 - k/E)^B).
pub fn experts_touched(experts: u32, active: u32, batch: f64) -> f64 {
    let e = experts as f64;
    let k = active as f64;
    e * (1.0 - (1.0 - k / e).powf(batch.max(1.0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn llama_3_8b() -> Architecture {
        Architecture {
            layers: 32,
            hidden: 4096,
            heads: Some(32),
            kv_heads: Some(8),
            head_dim: 128,
            ffn: Some(14336),
            vocab: 128256,
            tied_embeddings: false,
            mlp: Mlp::Gated,
            norm: Norm::Rmsnorm,
            position: Position::Rope,
            qkv_bias: false,
            linear_bias: false,
            sliding_window: None,
            full_attention_every: None,
            experts: None,
            experts_active: None,
            extra_params: None,
            per_layer: None,
        }
    }

    #[test]
    fn llama_3_8b_is_8_03b_with_untied_head() {
        let p = count_params(&llama_3_8b(), Some(8192));
        assert!((p.total - 8.030e9).abs() < 0.002e9, "{}", p.total);
        // Tying would drop the 525M output matrix: the bug of tools that assume tied.
        let mut tied = llama_3_8b();
        tied.tied_embeddings = true;
        let t = count_params(&tied, Some(8192));
        assert!((p.total - t.total - 128256.0 * 4096.0).abs() < 1.0);
    }

    #[test]
    fn gqa_shrinks_kv() {
        let a = llama_3_8b();
        // 32 layers x 2 x 8 heads x 128 = 65536 elements per token (128 KiB at fp16).
        assert_eq!(kv_elements_per_token(&a), 65536.0);
        assert_eq!(kv_elements(&a, 1000.0), 65_536_000.0);
    }

    #[test]
    fn sliding_window_caps_kv() {
        let mut a = llama_3_8b();
        a.sliding_window = Some(4096);
        a.full_attention_every = Some(2);
        // Half the layers keep 4096 tokens at most.
        let full = kv_elements_per_token(&a) * 8192.0;
        assert_eq!(kv_elements(&a, 8192.0), full * 0.75);
    }

    #[test]
    fn moe_active_is_smaller() {
        let mut a = llama_3_8b();
        a.experts = Some(8);
        a.experts_active = Some(2);
        let p = count_params(&a, None);
        assert!(p.active < p.total / 2.5);
        assert!((experts_touched(8, 2, 1.0) - 2.0).abs() < 1e-9);
        assert!(experts_touched(8, 2, 64.0) > 7.9);
    }

    #[test]
    fn causal_prefill_halves_attention() {
        let a = llama_3_8b();
        let n = 512.0;
        let full = 4.0 * 32.0 * 128.0 * n * n * 32.0;
        assert_eq!(attention_flops_prefill(&a, n), full / 2.0);
    }
}
