//! `sizewise synth MODEL`: a GGUF file with a catalog model's exact architecture and random
//! weights, for measuring its speed and memory with llama.cpp where the real weights are not
//! at hand.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use anyhow::Context;
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;
use sizewise_catalog::{Catalog, Mlp, Model, Norm, Position};
use sizewise_gguf::{GgufFile, SynthArch, SynthPrecision, SynthSpec, write_synth};

use crate::human;
use crate::plan::model_by_id;
use crate::table;

/// The longest context written by default: a synthetic file is for speed and memory, and
/// llama.cpp sizes nothing by the trained context unless asked.
const DEFAULT_MAX_CONTEXT: u64 = 32_768;

/// What the refusals say sizewise synth can write.
const SUPPORTED: &str = "sizewise synth writes dense decoder models with a gated MLP, RMSNorm, rotary positions, full attention on every layer and no biases beyond q/k/v (Llama, Qwen2, SmolLM2, TinyLlama ...)";

/// Arguments of `sizewise synth`.
#[derive(Args)]
#[command(after_help = "Examples:
  sizewise synth qwen2.5-0.5b --precision q4_k_m -o /tmp/qwen2.5-0.5b.synth.gguf
  sizewise bench --gguf /tmp/qwen2.5-0.5b.synth.gguf     (then measure it with llama.cpp)
  sizewise synth llama-3.2-1b --precision f16 -o llama-1b.gguf --context 8192 --json
The file has the model's exact tensors, types and shapes, so llama.cpp spends the same time
and memory on it as on the real model; its weights are random, so the text it writes is
meaningless. Results measured on it are speed and memory, never quality. Supported: dense
Llama-style and Qwen2-style models (`sizewise models` lists the catalog); MoE, LayerNorm,
sliding-window and API-only models are refused. A 1B model at q4_k_m is about 0.8 GB.")]
pub struct SynthArgs {
    /// Catalog id of the model to imitate (see `sizewise models`).
    model: String,
    /// Precision of the weight matrices, as llama.cpp file types (q4_k_m and q4_0 use the
    /// tensor types llama-quantize picks by default).
    #[arg(long, short = 'p', value_enum)]
    precision: PrecisionArg,
    /// The GGUF file to write.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: PathBuf,
    /// Seed of the random weights (the same seed gives the same file).
    #[arg(long, default_value_t = 0, value_name = "S")]
    seed: u64,
    /// Training context length written into the file [default: the model's context window,
    /// at most 32768].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=u64::from(u32::MAX)))]
    context: Option<u64>,
    /// Overwrite FILE when it exists.
    #[arg(long)]
    force: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// `--precision` values.
#[derive(Clone, Copy, ValueEnum)]
enum PrecisionArg {
    /// 32-bit floats (4 bytes per weight).
    F32,
    /// 16-bit floats.
    F16,
    /// 8-bit blocks.
    #[value(name = "q8_0")]
    Q8_0,
    /// 4-bit blocks, the output projection Q6_K.
    #[value(name = "q4_0")]
    Q4_0,
    /// 4-bit blocks with a minimum, the output projection Q6_K.
    #[value(name = "q4_1")]
    Q4_1,
    /// 5-bit blocks, the output projection Q6_K.
    #[value(name = "q5_0")]
    Q5_0,
    /// llama.cpp's Q4_K_M mix of Q4_K and Q6_K.
    #[value(name = "q4_k_m")]
    Q4KM,
}

impl From<PrecisionArg> for SynthPrecision {
    fn from(p: PrecisionArg) -> SynthPrecision {
        match p {
            PrecisionArg::F32 => SynthPrecision::F32,
            PrecisionArg::F16 => SynthPrecision::F16,
            PrecisionArg::Q8_0 => SynthPrecision::Q8_0,
            PrecisionArg::Q4_0 => SynthPrecision::Q4_0,
            PrecisionArg::Q4_1 => SynthPrecision::Q4_1,
            PrecisionArg::Q5_0 => SynthPrecision::Q5_0,
            PrecisionArg::Q4KM => SynthPrecision::Q4KM,
        }
    }
}

/// The synthetic shape of catalog model `m`, or an error saying why it cannot be written and
/// what to do instead.
fn spec_for(m: &Model, context: Option<u64>) -> anyhow::Result<SynthSpec> {
    let instead = format!(
        "hint: {SUPPORTED}.\n  For {id}, `sizewise estimate {id}` gives its figures from the architecture; a real GGUF of it can be measured with `sizewise bench --gguf FILE`",
        id = m.id
    );
    let Some(a) = &m.architecture else {
        anyhow::bail!(
            "{} has no published architecture (API-only or undisclosed), so there is no shape to write\n  hint: measure its API with `sizewise bench URL --model NAME`, or see its published facts with `sizewise estimate {}`",
            m.id,
            m.id
        );
    };
    let mut why: Vec<String> = Vec::new();
    if a.is_moe() {
        why.push(format!(
            "it is a mixture of experts ({} experts)",
            a.experts.unwrap_or(0)
        ));
    }
    if a.per_layer.is_some() {
        why.push("its layers have different shapes".into());
    }
    if a.mlp == Mlp::Plain {
        why.push("its MLP is not gated".into());
    }
    if a.norm == Norm::Layernorm {
        why.push("it uses LayerNorm".into());
    }
    if a.position != Position::Rope {
        why.push("its positions are not rotary".into());
    }
    if a.linear_bias {
        why.push("its output and MLP projections have biases".into());
    }
    if let Some(w) = a.sliding_window {
        why.push(format!("it attends within a sliding window of {w} tokens"));
    }
    if a.vocab < sizewise_gguf::MIN_SYNTH_VOCAB {
        why.push(format!(
            "its vocabulary of {} tokens is under the {} a synthetic one needs",
            a.vocab,
            sizewise_gguf::MIN_SYNTH_VOCAB
        ));
    }
    let (heads, ffn) = match (a.heads, a.ffn) {
        (Some(h), Some(f)) => (h, f),
        _ => {
            why.push("its catalog entry gives no head count or feed-forward width".into());
            (0, 0)
        }
    };
    if !why.is_empty() {
        anyhow::bail!(
            "cannot write a synthetic {}: {}\n  {instead}",
            m.id,
            why.join("; ")
        );
    }
    let (arch, rope_base, rms_eps) = if a.qkv_bias {
        (SynthArch::Qwen2, 1.0e6, 1e-6)
    } else if m.id.starts_with("llama-3") {
        (SynthArch::Llama, 500_000.0, 1e-5)
    } else {
        (SynthArch::Llama, 10_000.0, 1e-5)
    };
    let spec = SynthSpec {
        arch,
        name: m.name.clone(),
        source_model: m.id.clone(),
        layers: a.layers,
        hidden: a.hidden,
        heads,
        kv_heads: a.kv_heads.unwrap_or(heads),
        head_dim: a.head_dim,
        ffn,
        vocab: a.vocab,
        tied_embeddings: a.tied_embeddings,
        qkv_bias: a.qkv_bias,
        context_length: context.unwrap_or_else(|| {
            m.context_window
                .unwrap_or(DEFAULT_MAX_CONTEXT)
                .min(DEFAULT_MAX_CONTEXT)
        }),
        rope_base,
        rms_eps,
    };
    spec.validate().with_context(|| {
        format!(
            "the catalog shape of {} cannot be written\n  {instead}",
            m.id
        )
    })?;
    Ok(spec)
}

/// `FILE.partial`, next to `FILE`.
fn partial_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    path.with_file_name(name)
}

/// Bytes free for an unprivileged user on the file system holding `dir`, when known.
#[cfg(unix)]
fn free_bytes(dir: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    let mut st = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `c` is a NUL-terminated path and `st` is writable memory of the right type;
    // statvfs fills it when it returns 0.
    let rc = unsafe { libc::statvfs(c.as_ptr(), st.as_mut_ptr()) };
    if rc != 0 {
        return None;
    }
    // SAFETY: statvfs returned 0, so it has initialised `st`.
    let st = unsafe { st.assume_init() };
    #[allow(clippy::unnecessary_cast)] // the field types differ between platforms
    Some((st.f_bavail as u64).saturating_mul(st.f_frsize as u64))
}

#[cfg(not(unix))]
fn free_bytes(_dir: &Path) -> Option<u64> {
    None
}

/// The output file, failing the next write once Ctrl-C has been pressed.
struct Stoppable<W> {
    inner: W,
    stop: Arc<AtomicBool>,
}

impl<W: Write> Write for Stoppable<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.stop.load(Ordering::Relaxed) {
            return Err(io::Error::other("interrupted by Ctrl-C"));
        }
        self.inner.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn progress_bar(total: u64) -> ProgressBar {
    let pb = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    pb.set_style(
        ProgressStyle::with_template(
            "synth [{bar:30}] {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    pb
}

/// Writes the file into `partial`, then renames it to `output`.
fn write_file(
    spec: &SynthSpec,
    precision: SynthPrecision,
    seed: u64,
    partial: &Path,
    output: &Path,
    total: u64,
) -> anyhow::Result<()> {
    let file = File::create(partial).with_context(|| format!("creating {}", partial.display()))?;
    // Ctrl-C stops the write, which then removes its partial file.
    let interrupt = crate::interrupt::InterruptFlag::install();
    let stop = interrupt.flag();
    let out = BufWriter::with_capacity(
        1 << 20,
        Stoppable {
            inner: file,
            stop: Arc::clone(&stop),
        },
    );
    let pb = progress_bar(total);
    let written = write_synth(spec, precision, seed, out, |n| pb.set_position(n));
    pb.finish_and_clear();
    if interrupt.is_set() {
        anyhow::bail!("interrupted by Ctrl-C; no file was written");
    }
    let (out, _) = written.with_context(|| format!("writing {}", partial.display()))?;
    let file = out
        .into_inner()
        .map_err(|e| e.into_error())
        .with_context(|| format!("writing {}", partial.display()))?
        .inner;
    file.sync_all()
        .with_context(|| format!("writing {} to disk", partial.display()))?;
    drop(file);
    std::fs::rename(partial, output)
        .with_context(|| format!("renaming {} to {}", partial.display(), output.display()))
}

/// Runs `sizewise synth`.
pub fn synth(catalog: &Catalog, args: SynthArgs) -> anyhow::Result<()> {
    let m = model_by_id(catalog, &args.model)?;
    let spec = spec_for(m, args.context)?;
    let precision = SynthPrecision::from(args.precision);
    let output = &args.output;
    if output.is_dir() {
        anyhow::bail!(
            "{} is a folder\n  hint: -o takes a file name, such as {}",
            output.display(),
            output
                .join(format!("{}.synth.{}.gguf", m.id, precision.name()))
                .display()
        );
    }
    if output.exists() && !args.force {
        anyhow::bail!(
            "{} already exists\n  hint: pass --force to overwrite it, or choose another file with -o",
            output.display()
        );
    }
    let total = spec.file_size(precision)?;
    let dir = match output.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    anyhow::ensure!(
        dir.is_dir(),
        "the folder {} does not exist\n  hint: create it first, or write elsewhere with -o",
        dir.display()
    );
    if let Some(free) = free_bytes(&dir) {
        // Overwriting frees the old file only after the rename.
        anyhow::ensure!(
            free >= total,
            "the file needs {} and {} has {} free\n  hint: free some space, write elsewhere with -o, or pick a smaller --precision",
            human::bytes(total as f64),
            dir.display(),
            human::bytes(free as f64)
        );
    }

    let partial = partial_path(output);
    let started = Instant::now();
    let result = write_file(&spec, precision, args.seed, &partial, output, total);
    if let Err(e) = result {
        // Never leave half a file behind.
        let _ = std::fs::remove_file(&partial);
        return Err(e);
    }
    let seconds = started.elapsed().as_secs_f64();

    // Read back what was written: the header must parse and say what was meant.
    let file = GgufFile::open(output)
        .with_context(|| format!("reading back {} (please report this)", output.display()))?;
    anyhow::ensure!(
        file.is_synthetic() && file.parameter_count() == spec.parameter_count(),
        "{} does not read back as written (please report this)",
        output.display()
    );
    let parameters = file.parameter_count();
    let bits = file.bits_per_weight().unwrap_or(0.0);
    let file_type = file.architecture().file_type_name.unwrap_or("?");
    let path = output.display().to_string();
    if args.json {
        return table::print_json(&json!({
            "model": m.id,
            "name": m.name,
            "architecture": spec.arch.gguf_name(),
            "precision": precision.name(),
            "file_type": file_type,
            "path": path,
            "parameters": parameters,
            "catalog_params_total": m.params_total,
            "file_bytes": file.file_size(),
            "weight_bytes": file.weight_bytes(),
            "bits_per_weight": bits,
            "tensors": file.tensors().len(),
            "context_length": spec.context_length,
            "seed": args.seed,
            "seconds": seconds,
            "synthetic": true,
            "note": "random weights: timing and memory measured on this file are real, the text it generates is not",
            "next": format!("sizewise bench --gguf {path}"),
        }));
    }
    let catalog_params = m
        .params_total
        .map(|p| format!(" (catalog: {})", human::count(p)))
        .unwrap_or_default();
    let lines = [
        format!(
            "wrote {path}: a synthetic {} ({}), llama.cpp architecture {}",
            m.name,
            m.id,
            spec.arch.gguf_name()
        ),
        format!("  precision    {} (file type {file_type})", precision.name()),
        format!(
            "  parameters   {}{catalog_params}",
            human::count(parameters as f64)
        ),
        format!("  file size    {}", human::bytes(file.file_size() as f64)),
        format!("  bits/weight  {bits:.2}"),
        format!(
            "  context      {} tokens",
            human::context(spec.context_length as f64)
        ),
        format!("  seed         {}", args.seed),
        format!("  took         {}", human::seconds(seconds)),
        "The weights are random: timing and memory measured on this file are real, the text it generates is not.".to_string(),
        format!("Next: sizewise bench --gguf {path}"),
    ];
    table::print(&lines.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> Catalog {
        Catalog::embedded().unwrap_or_default()
    }

    #[test]
    fn catalog_shapes_map_to_llama_cpp_architectures() {
        let c = catalog();
        let spec = |id: &str| spec_for(c.model(id).unwrap(), None).unwrap();
        let qwen = spec("qwen2.5-0.5b");
        assert_eq!(qwen.arch, SynthArch::Qwen2);
        assert!(qwen.qkv_bias && qwen.tied_embeddings);
        assert_eq!((qwen.rope_base, qwen.rms_eps), (1.0e6, 1e-6));
        assert_eq!(qwen.context_length, 32_768);
        let llama = spec("llama-3.2-1b");
        assert_eq!(llama.arch, SynthArch::Llama);
        assert_eq!(llama.rope_base, 500_000.0);
        assert_eq!(llama.context_length, 32_768, "capped from 128k");
        let smol = spec("smollm2-135m");
        assert_eq!((smol.rope_base, smol.context_length), (10_000.0, 8192));
        assert_eq!(smol.parameter_count(), 134_515_008);
        let short = spec_for(c.model("smollm2-135m").unwrap(), Some(512)).unwrap();
        assert_eq!(short.context_length, 512);
    }

    #[test]
    fn unsupported_shapes_say_why() {
        let c = catalog();
        let err = |id: &str| format!("{:#}", spec_for(c.model(id).unwrap(), None).unwrap_err());
        assert!(
            err("gpt-4").contains("no published architecture"),
            "{}",
            err("gpt-4")
        );
        assert!(err("mixtral-8x7b").contains("mixture of experts"));
        assert!(err("gemma-3-270m").contains("sliding window"));
        assert!(err("bert-base").contains("LayerNorm"));
        assert!(err("openelm-270m").contains("different shapes"));
        assert!(err("falcon-7b").contains("sizewise estimate falcon-7b"));
    }

    #[test]
    fn partial_files_sit_next_to_the_output() {
        assert_eq!(
            partial_path(Path::new("/tmp/a.gguf")),
            PathBuf::from("/tmp/a.gguf.partial")
        );
        assert_eq!(partial_path(Path::new("a")), PathBuf::from("a.partial"));
    }

    #[cfg(unix)]
    #[test]
    fn free_space_is_known_on_unix() {
        assert!(free_bytes(Path::new(".")).is_some_and(|b| b > 0));
        assert_eq!(free_bytes(Path::new("/no/such/folder")), None);
    }
}
