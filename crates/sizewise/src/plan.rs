//! Resolves "this model, maybe on this hardware" into a concrete estimate,
//! choosing hardware and device count where the user did not.

use anyhow::Context;

use crate::i18n::Lang;
use sizewise_catalog::{Architecture, Catalog, CatalogError, Hardware, HardwareClass, Model};
use sizewise_estimate::{
    ArchSummary, Engine, EstimateError, Numbers, Precision, PriorScale, Scenario, estimate_numbers,
    summarize,
};

/// Models up to this size default to a laptop or a small GPU; larger ones to a GPU server.
const SMALL_MODEL_PARAMS: f64 = 15e9;
/// Most devices sizewise proposes by itself for one replica: eight nodes of eight.
pub const MAX_AUTO_GPUS: u32 = 64;
/// GPUs in one node: the largest tensor-parallel group sizewise proposes.
pub const GPUS_PER_NODE: u32 = 8;

/// A choice sizewise made for the user, or a warning, to be said in their language.
#[derive(Debug, Clone, PartialEq)]
pub enum Note {
    /// The model's architecture is closed: it is compared through its API.
    Api {
        /// Model id.
        model: String,
    },
    /// An API-only model was pinned to hardware: the hardware is ignored.
    ApiIgnoresHardware {
        /// Model id.
        model: String,
        /// The hardware id given after `@`.
        hardware: String,
    },
    /// No hardware was given: sizewise chose this one.
    ChoseHardware {
        /// Model id.
        model: String,
        /// Hardware id.
        hardware: String,
        /// True for a small model (laptop or small GPU).
        small: bool,
    },
    /// The model needs several devices, so the column uses them.
    TensorParallel {
        /// Model id.
        model: String,
        /// Devices the memory alone needs.
        need: u32,
        /// Devices used (the next size sizewise proposes).
        gpus: u32,
        /// Hardware id.
        hardware: String,
        /// Attention heads per layer.
        heads: u32,
        /// KV heads per layer.
        kv_heads: u32,
    },
    /// The model does not fit.
    DoesNotFit {
        /// Model id.
        model: String,
        /// Devices.
        gpus: u32,
        /// Hardware id.
        hardware: String,
        /// Precision.
        precision: String,
        /// Flags that would make it fit (`--gpus 16`, `--precision int4`...).
        fixes: Vec<String>,
    },
    /// The request (prompt + output) is longer than the model's window.
    ContextTooLong {
        /// Model id.
        model: String,
        /// The model's window, tokens.
        window: u64,
        /// Prompt + output tokens asked for.
        requested: u64,
        /// The longest prompt that fits with the requested output, when any.
        max_prompt: Option<u64>,
    },
    /// The model is encoder-only: it does not generate text.
    CannotGenerate {
        /// Model id.
        model: String,
    },
    /// The hardware's memory depends on the system.
    MemoryDepends {
        /// Hardware id.
        hardware: String,
    },
    /// The llama.cpp priors for this hardware were corrected by a calibration.
    Calibrated {
        /// Hardware id.
        hardware: String,
        /// The model the calibration measured.
        model: String,
        /// The day it was measured (YYYY-MM-DD).
        date: String,
        /// The decode scale factor.
        decode: f64,
        /// The prefill scale factor.
        prefill: f64,
    },
    /// `--memory-gb` was given for hardware whose memory is fixed.
    MemoryGbIgnored {
        /// Hardware id.
        hardware: String,
        /// Its memory, GiB.
        memory_gib: f64,
    },
}

fn or_list(items: &[String], lang: Lang) -> String {
    let or = if lang == Lang::PtBr { " ou " } else { " or " };
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{}{or}{last}", init.join(", ")),
    }
}

impl Note {
    /// The note in `lang`.
    pub fn render(&self, lang: Lang) -> String {
        let pt = lang == Lang::PtBr;
        let devices = |g: u32, h: &str| {
            if g > 1 {
                format!("{g} x {h}")
            } else {
                h.to_string()
            }
        };
        match self {
            Note::Api { model } if pt => format!(
                "{model}: arquitetura não divulgada, comparado pela API (preços e fatos publicados)"
            ),
            Note::Api { model } => format!(
                "{model}: architecture undisclosed, compared through its API (published prices and facts)"
            ),
            Note::ApiIgnoresHardware { model, hardware } if pt => format!(
                "{model}: só existe como API e roda no hardware do fornecedor; @{hardware} foi ignorado"
            ),
            Note::ApiIgnoresHardware { model, hardware } => format!(
                "{model}: API-only, it runs on the provider's hardware; @{hardware} is ignored"
            ),
            Note::ChoseHardware {
                model,
                hardware,
                small,
            } if pt => format!(
                "{model}: nenhum hardware indicado, o sizewise escolheu {hardware} ({})",
                if *small {
                    "modelo pequeno em um notebook ou GPU pequena"
                } else {
                    "modelo grande em um servidor de GPUs"
                }
            ),
            Note::ChoseHardware {
                model,
                hardware,
                small,
            } => format!(
                "{model}: no hardware given, so sizewise chose {hardware} ({})",
                if *small {
                    "a small model on a laptop or a small GPU"
                } else {
                    "a large model on a GPU server"
                }
            ),
            Note::TensorParallel {
                model,
                need,
                gpus,
                hardware,
                heads,
                kv_heads,
            } => {
                let nodes = gpus / GPUS_PER_NODE;
                if pt {
                    let mut s = format!(
                        "{model}: pesos e cache precisam de {need} x {hardware}, então a coluna usa {gpus} (grupos de paralelismo de tensor de 1, 2, 4 ou 8 que dividem as {heads} cabeças de atenção e {kv_heads} cabeças KV, depois nós inteiros de 8)"
                    );
                    if *gpus > GPUS_PER_NODE {
                        s.push_str(&format!(
                            "; {nodes} nós de 8: tensor dentro do nó, pipeline entre nós, estimado como um grupo único de {gpus} (otimista)"
                        ));
                    }
                    s
                } else {
                    let mut s = format!(
                        "{model}: weights and cache need {need} x {hardware}, so the column uses {gpus} (tensor-parallel groups of 1, 2, 4 or 8 that divide its {heads} attention and {kv_heads} KV heads, then whole nodes of 8)"
                    );
                    if *gpus > GPUS_PER_NODE {
                        s.push_str(&format!(
                            "; {nodes} nodes of 8: tensor parallel within a node, pipeline across nodes, estimated as one {gpus}-way group (optimistic)"
                        ));
                    }
                    s
                }
            }
            Note::DoesNotFit {
                model,
                gpus,
                hardware,
                precision,
                fixes,
            } => {
                let mut s = if pt {
                    format!(
                        "{model} não cabe em {} com {precision}",
                        devices(*gpus, hardware)
                    )
                } else {
                    format!(
                        "{model} does not fit on {} at {precision}",
                        devices(*gpus, hardware)
                    )
                };
                if fixes.is_empty() {
                    s.push_str(&if pt {
                        format!("; `sizewise fit {model}` mostra onde ele cabe")
                    } else {
                        format!("; `sizewise fit {model}` shows where it fits")
                    });
                } else {
                    s.push_str(if pt { "; tente " } else { "; try " });
                    s.push_str(&or_list(fixes, lang));
                }
                s
            }
            Note::ContextTooLong {
                model,
                window,
                requested,
                max_prompt,
            } => {
                let w = crate::human::window(*window);
                let mut s = if pt {
                    format!(
                        "{model}: a requisição de {requested} tokens (entrada + saída) passa da janela de {w} tokens; tente "
                    )
                } else {
                    format!(
                        "{model}: a request of {requested} tokens (prompt + output) is longer than its {w}-token window; try "
                    )
                };
                if let Some(p) = max_prompt {
                    s.push_str(&format!("--prompt-tokens {p}"));
                    s.push_str(if pt { " ou " } else { " or " });
                }
                s.push_str(if pt {
                    "um modelo com janela maior"
                } else {
                    "a model with a longer window"
                });
                s
            }
            Note::CannotGenerate { model } if pt => format!(
                "{model} é só codificador (encoder-only): classifica e gera embeddings, mas não gera texto; não tem velocidade nem custo de geração. Compare-o para classificação ou troque por um modelo generativo"
            ),
            Note::CannotGenerate { model } => format!(
                "{model} is encoder-only: it classifies and embeds text but does not generate it, so it has no generation speed or cost; compare it for classification, or pick a generative model"
            ),
            Note::MemoryDepends { hardware } if pt => {
                format!("{hardware}: a memória depende do sistema (--memory-gb, em GiB)")
            }
            Note::MemoryDepends { hardware } => {
                format!("{hardware}: memory depends on the system (--memory-gb, in GiB)")
            }
            Note::Calibrated {
                hardware,
                model,
                date,
                decode,
                prefill,
            } if pt => format!(
                "{hardware}: estimativa calibrada com a medição de {model} em {date} (sizewise bench --gguf): geração x{decode:.2}, processamento do prompt x{prefill:.2} sobre as eficiências de referência"
            ),
            Note::Calibrated {
                hardware,
                model,
                date,
                decode,
                prefill,
            } => format!(
                "{hardware}: estimate calibrated on {model} as measured on {date} (sizewise bench --gguf): generation x{decode:.2}, prompt processing x{prefill:.2} over the prior efficiencies"
            ),
            Note::MemoryGbIgnored {
                hardware,
                memory_gib,
            } if pt => format!(
                "{hardware} tem memória fixa ({} GiB): --memory-gb vale só para hardware cuja memória depende do sistema, e foi ignorado",
                crate::human::sig(*memory_gib)
            ),
            Note::MemoryGbIgnored {
                hardware,
                memory_gib,
            } => format!(
                "{hardware} has fixed memory ({} GiB): --memory-gb applies only to hardware whose memory depends on the system, so it is ignored",
                crate::human::sig(*memory_gib)
            ),
        }
    }
}

/// Why a column cannot serve the workload.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Infeasible {
    /// Weights, cache and buffers exceed the devices' usable memory.
    DoesNotFit,
    /// Prompt + output is longer than the model's context window.
    ContextTooLong,
    /// The model does not generate text (encoder-only).
    CannotGenerate,
}

impl Infeasible {
    /// A stable code for JSON: `does_not_fit`, `context_too_long`, `cannot_generate`.
    pub fn code(self) -> &'static str {
        match self {
            Infeasible::DoesNotFit => "does_not_fit",
            Infeasible::ContextTooLong => "context_too_long",
            Infeasible::CannotGenerate => "cannot_generate",
        }
    }

    /// A few words for a table cell.
    pub fn short(self, lang: Lang) -> &'static str {
        let pt = lang == Lang::PtBr;
        match self {
            Infeasible::DoesNotFit if pt => "não cabe",
            Infeasible::DoesNotFit => "does not fit",
            Infeasible::ContextTooLong if pt => "requisição maior que a janela",
            Infeasible::ContextTooLong => "request longer than the window",
            Infeasible::CannotGenerate if pt => "não gera texto",
            Infeasible::CannotGenerate => "does not generate text",
        }
    }
}

/// Where a parameter count comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamSource {
    /// The catalog's published figure.
    Published,
    /// Counted from the architecture (no published figure).
    Counted,
}

impl ParamSource {
    /// "published" or "counted from the architecture".
    pub fn as_str(self) -> &'static str {
        match self {
            ParamSource::Published => "published",
            ParamSource::Counted => "counted from the architecture",
        }
    }
}

/// The parameter count every command shows: the published figure when the
/// catalog has one, else the count from the architecture.
pub fn param_count(m: &Model, a: Option<&ArchSummary>) -> Option<(f64, ParamSource)> {
    match (m.params_total, a) {
        (Some(v), _) => Some((v, ParamSource::Published)),
        (None, Some(a)) => Some((a.params.total, ParamSource::Counted)),
        (None, None) => None,
    }
}

/// True for a model that does not generate text (an encoder such as BERT):
/// the catalog gives it `max_output_tokens = 0`.
pub fn is_encoder_only(m: &Model) -> bool {
    m.max_output_tokens == Some(0)
}

/// Whether `tp` devices can split every attention layer of `a`: the query heads
/// divide evenly, and the KV heads either divide or are replicated (vLLM's rule).
pub fn tensor_parallel_ok(a: &Architecture, tp: u32) -> bool {
    (0..a.layers as usize).all(|i| {
        let (h, kv) = (a.heads_at(i), a.kv_heads_at(i));
        (h == 0 || h.is_multiple_of(tp))
            && (kv == 0 || kv.is_multiple_of(tp) || tp.is_multiple_of(kv))
    })
}

/// Device counts sizewise proposes for one replica: 1, 2, 4 or 8 (a tensor-
/// parallel group inside a node, only sizes the heads allow), then whole nodes
/// of 8 up to [`MAX_AUTO_GPUS`].
pub fn device_ladder(m: &Model) -> Vec<u32> {
    let Some(a) = &m.architecture else {
        return vec![1];
    };
    let mut out: Vec<u32> = [1, 2, 4, GPUS_PER_NODE]
        .into_iter()
        .filter(|&t| tensor_parallel_ok(a, t))
        .collect();
    if out.contains(&GPUS_PER_NODE) {
        out.extend((2..=MAX_AUTO_GPUS / GPUS_PER_NODE).map(|n| n * GPUS_PER_NODE));
    }
    out
}

/// One column of a comparison: a model, and where it runs.
pub struct Plan<'a> {
    /// The model.
    pub model: &'a Model,
    /// The hardware, or None for an API-only model.
    pub hardware: Option<&'a Hardware>,
    /// The scenario after defaults (precision, devices) were chosen.
    pub scenario: Scenario,
    /// The architecture summary, when disclosed.
    pub summary: Option<ArchSummary>,
    /// The estimate, when self-hosted.
    pub numbers: Option<Numbers>,
    /// Choices sizewise made for the user, said out loud.
    pub notes: Vec<Note>,
    /// Why this column cannot serve the workload; empty when it can.
    pub infeasible: Vec<Infeasible>,
}

impl Plan<'_> {
    /// "model@hardware" or "model (API)".
    pub fn label(&self) -> String {
        match (self.hardware, &self.numbers) {
            (Some(h), Some(n)) => {
                let g = self.scenario.gpus;
                format!(
                    "{}@{}{} {}",
                    self.model.id,
                    if g > 1 {
                        format!("{g}x")
                    } else {
                        String::new()
                    },
                    h.id,
                    n.deployment.precision
                )
            }
            _ => format!("{} (API)", self.model.id),
        }
    }

    /// True when the column can serve the workload (it fits, the request fits
    /// the window, and the model generates text).
    pub fn feasible(&self) -> bool {
        self.infeasible.is_empty()
    }
}

fn try_on(model: &Model, a: &ArchSummary, h: &Hardware, s: &Scenario) -> Option<Numbers> {
    estimate_numbers(model, a, h, s).ok().filter(|n| n.fits)
}

/// Precisions smaller than `current` worth proposing when a model does not fit,
/// largest first: the engine's own formats.
fn smaller_precisions(engine: Engine, current_bytes: f64) -> Vec<Precision> {
    let ladder: &[Precision] = if engine == Engine::LlamaCpp {
        &[
            Precision::Q8_0,
            Precision::Q6K,
            Precision::Q5KM,
            Precision::Q4KM,
            Precision::Q3KM,
            Precision::Q2K,
        ]
    } else {
        &[Precision::Fp8, Precision::Int8, Precision::Int4]
    };
    ladder
        .iter()
        .copied()
        .filter(|p| p.bytes_per_weight() < current_bytes * 0.99)
        .collect()
}

/// Flags that would make `model` fit on `h`: more devices, a smaller precision,
/// or a shorter prompt, each checked with the estimator.
fn fixes_for(
    model: &Model,
    a: &ArchSummary,
    h: &Hardware,
    s: &Scenario,
    n: &Numbers,
) -> Vec<String> {
    let mut out = Vec::new();
    if h.class.is_gpu()
        && let Some(g) = device_ladder(model).into_iter().find(|&g| {
            g > s.gpus && {
                let t = Scenario {
                    gpus: g,
                    ..s.clone()
                };
                try_on(model, a, h, &t).is_some()
            }
        })
    {
        out.push(format!("--gpus {g}"));
    }
    let engine = n.deployment.engine;
    if let Some(p) = smaller_precisions(engine, n.deployment.weight_bytes)
        .into_iter()
        .find(|p| {
            let t = Scenario {
                precision: Some(*p),
                engine: Some(engine),
                weight_bits: None,
                ..s.clone()
            };
            try_on(model, a, h, &t).is_some()
        })
    {
        out.push(format!("--precision {}", p.name()));
    }
    let room = n.max_context_fits;
    if s.context.is_none() && room.is_finite() && room > s.output_tokens as f64 {
        let prompt = (room as u64).saturating_sub(s.output_tokens);
        if prompt >= 1 && prompt < s.prompt_tokens {
            out.push(format!("--prompt-tokens {prompt}"));
        }
    }
    out
}

/// The feasibility checks that do not need hardware: the window and generation.
fn request_checks(model: &Model, s: &Scenario, notes: &mut Vec<Note>) -> Vec<Infeasible> {
    let mut out = Vec::new();
    if is_encoder_only(model) {
        out.push(Infeasible::CannotGenerate);
        notes.push(Note::CannotGenerate {
            model: model.id.clone(),
        });
    }
    let requested = s.prompt_tokens + s.output_tokens;
    if let Some(w) = model.context_window
        && requested > w
    {
        out.push(Infeasible::ContextTooLong);
        notes.push(Note::ContextTooLong {
            model: model.id.clone(),
            window: w,
            requested,
            max_prompt: w.checked_sub(s.output_tokens).filter(|p| *p > 0),
        });
    }
    out
}

/// Estimates `model` on `hw` (or on hardware sizewise picks). `auto_gpus` lets
/// sizewise raise the device count until the model fits, along
/// [`device_ladder`].
pub fn plan<'a>(
    catalog: &'a Catalog,
    model: &'a Model,
    hw: Option<&str>,
    base: &Scenario,
    auto_gpus: bool,
) -> anyhow::Result<Plan<'a>> {
    let Ok(summary) = summarize(model) else {
        let mut notes = vec![Note::Api {
            model: model.id.clone(),
        }];
        let infeasible = request_checks(model, base, &mut notes);
        return Ok(Plan {
            model,
            hardware: None,
            scenario: base.clone(),
            summary: None,
            numbers: None,
            notes,
            infeasible,
        });
    };
    let mut notes = Vec::new();
    let mut s = base.clone();
    let hardware: &Hardware = match hw {
        Some(id) => hardware_by_id(catalog, id)?,
        None => {
            let small = model.params_total.unwrap_or(summary.params.total) <= SMALL_MODEL_PARAMS;
            let candidates: &[(&str, Option<Precision>)] = if small {
                &[
                    ("apple-m2", Some(Precision::Q4KM)),
                    ("nvidia-rtx-4090", Some(Precision::Q4KM)),
                    ("nvidia-l4", None),
                ]
            } else {
                &[("nvidia-h100-sxm", None)]
            };
            let mut chosen = None;
            for (id, p) in candidates {
                let Ok(h) = catalog.hardware_by_id(id) else {
                    continue;
                };
                let mut t = s.clone();
                t.precision = s.precision.or(*p);
                if try_on(model, &summary, h, &t).is_some() {
                    chosen = Some((h, t));
                    break;
                }
            }
            match chosen {
                Some((h, t)) => {
                    notes.push(Note::ChoseHardware {
                        model: model.id.clone(),
                        hardware: h.id.clone(),
                        small,
                    });
                    s = t;
                    h
                }
                None => {
                    let id = candidates.last().map_or("nvidia-h100-sxm", |c| c.0);
                    catalog.hardware_by_id(id).context("default hardware")?
                }
            }
        }
    };
    if let (Some(_), Some(gib)) = (s.memory_gb, hardware.memory_gb) {
        notes.push(Note::MemoryGbIgnored {
            hardware: hardware.id.clone(),
            memory_gib: gib,
        });
    }
    let calibration = match s.calibration {
        Some(_) => None,
        None => catalog.calibration(&hardware.id, Engine::LlamaCpp.name()),
    };
    if let Some(c) = calibration {
        s.calibration = Some(PriorScale {
            decode_bw: c.decode_bandwidth_scale,
            prefill_mfu: c.prefill_compute_scale,
        });
    }
    let mut numbers = estimate_numbers(model, &summary, hardware, &s)?;
    if let (Some(c), Some(_)) = (calibration, numbers.deployment.calibration) {
        notes.push(Note::Calibrated {
            hardware: hardware.id.clone(),
            model: c.model.clone(),
            date: c
                .measured_at
                .get(..10)
                .unwrap_or(&c.measured_at)
                .to_string(),
            decode: c.decode_bandwidth_scale,
            prefill: c.prefill_compute_scale,
        });
    }
    if !numbers.fits && auto_gpus && hardware.class.is_gpu() && s.gpus == 1 {
        let need = numbers.min_devices;
        if need != u32::MAX {
            for g in device_ladder(model)
                .into_iter()
                .filter(|&g| g > 1 && g >= need)
            {
                let t = Scenario {
                    gpus: g,
                    ..s.clone()
                };
                if let Ok(n) = estimate_numbers(model, &summary, hardware, &t)
                    && n.fits
                {
                    let a = model.architecture.as_ref();
                    notes.push(Note::TensorParallel {
                        model: model.id.clone(),
                        need: need.max(2),
                        gpus: g,
                        hardware: hardware.id.clone(),
                        heads: a.map_or(0, |a| a.heads_at(0)),
                        kv_heads: a.map_or(0, |a| a.kv_heads_at(0)),
                    });
                    numbers = n;
                    s = t;
                    break;
                }
            }
        }
    }
    let mut infeasible = Vec::new();
    if !numbers.fits {
        infeasible.push(Infeasible::DoesNotFit);
        notes.push(Note::DoesNotFit {
            model: model.id.clone(),
            gpus: s.gpus,
            hardware: hardware.id.clone(),
            precision: numbers.deployment.precision.to_string(),
            fixes: fixes_for(model, &summary, hardware, &s, &numbers),
        });
    }
    infeasible.extend(request_checks(model, &s, &mut notes));
    if hardware.class == HardwareClass::Cpu && s.memory_gb.is_none() && hardware.memory_gb.is_none()
    {
        notes.push(Note::MemoryDepends {
            hardware: hardware.id.clone(),
        });
    }
    Ok(Plan {
        model,
        hardware: Some(hardware),
        scenario: s,
        summary: Some(summary),
        numbers: Some(numbers),
        notes,
        infeasible,
    })
}

/// The training estimate of `model` on one `train_hw` device: bf16 where the
/// device has it, else fp16, else fp32. Only the training figures of the result
/// (FLOPs, device-hours, wall time on `--train-gpus`, cost, energy) are meant.
pub fn training_numbers(
    model: &Model,
    a: &ArchSummary,
    train_hw: &Hardware,
    base: &Scenario,
) -> Result<Numbers, EstimateError> {
    let mut last = None;
    for p in [Precision::Bf16, Precision::Fp16, Precision::Fp32] {
        let s = Scenario {
            precision: Some(p),
            engine: None,
            gpus: 1,
            batch: 1,
            context: None,
            weight_bits: None,
            // Memory plays no part in training time; a CPU without a fixed size
            // still gets an estimate.
            memory_gb: Some(base.memory_gb.unwrap_or(64.0)),
            ..base.clone()
        };
        match estimate_numbers(model, a, train_hw, &s) {
            Ok(n) => return Ok(n),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        EstimateError::InvalidScenario(format!("{} cannot run a training estimate", train_hw.id))
    }))
}

/// Parses `MODEL[@HW]`, refusing an empty model or hardware around the `@`.
pub fn split_spec(spec: &str) -> anyhow::Result<(&str, Option<&str>)> {
    match spec.split_once('@') {
        Some(("", _)) => anyhow::bail!(
            "`{spec}`: missing model before @\n  hint: write MODEL@HARDWARE, e.g. phi-3-mini{}; `sizewise models` lists the ids",
            &spec[spec.find('@').unwrap_or(0)..]
        ),
        Some((m, "")) => anyhow::bail!(
            "`{spec}`: missing hardware after @\n  hint: write MODEL@HARDWARE, e.g. {m}@nvidia-l4, or drop the @; `sizewise hardware` lists the ids"
        ),
        Some((m, h)) => Ok((m, Some(h))),
        None => Ok((spec, None)),
    }
}

/// Ids close to `wanted`: those with a dash-separated part that starts with it
/// (`m2` finds `apple-m2`), then those that contain it, then the catalog's own
/// spelling suggestions.
fn close_ids<'a>(
    wanted: &str,
    ids: impl Iterator<Item = &'a str>,
    fallback: &[String],
) -> Vec<String> {
    let w = wanted.to_ascii_lowercase();
    let ids: Vec<&str> = ids.collect();
    let mut out: Vec<String> = Vec::new();
    let mut add = |id: &str| {
        if out.len() < 5 && !out.iter().any(|x| x == id) {
            out.push(id.to_string());
        }
    };
    if !w.is_empty() {
        for id in &ids {
            if id.split('-').any(|part| part.starts_with(&w)) {
                add(id);
            }
        }
        if w.len() >= 3 {
            for id in &ids {
                if id.contains(&w) {
                    add(id);
                }
            }
        }
    }
    for id in fallback {
        add(id);
    }
    out
}

/// The hardware with this id, or an error that suggests close ids.
pub fn hardware_by_id<'a>(catalog: &'a Catalog, id: &str) -> anyhow::Result<&'a Hardware> {
    match catalog.hardware_by_id(id) {
        Ok(h) => Ok(h),
        // `local` is not in the catalog until this machine has been measured.
        Err(CatalogError::UnknownHardware { id, .. })
            if id.eq_ignore_ascii_case(sizewise_probe::LOCAL_ID) =>
        {
            anyhow::bail!(
                "no hardware `local` yet: it is this machine, once measured\n  hint: run `sizewise probe` (about 6 s), then ask again"
            )
        }
        Err(CatalogError::UnknownHardware { id, suggestions }) => {
            let suggestions =
                close_ids(&id, catalog.hardware().map(|h| h.id.as_str()), &suggestions);
            Err(CatalogError::UnknownHardware { id, suggestions }.into())
        }
        Err(e) => Err(e.into()),
    }
}

/// The model with this id, or an error that suggests close ids.
pub fn model_by_id<'a>(catalog: &'a Catalog, id: &str) -> anyhow::Result<&'a Model> {
    match catalog.model(id) {
        Ok(m) => Ok(m),
        Err(CatalogError::UnknownModel { id, suggestions }) => {
            let suggestions = close_ids(&id, catalog.models().map(|m| m.id.as_str()), &suggestions);
            Err(CatalogError::UnknownModel { id, suggestions }.into())
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> Catalog {
        Catalog::embedded().unwrap_or_default()
    }

    #[test]
    fn specs_need_a_model_and_hardware_around_the_at() {
        assert!(matches!(split_spec("phi-3-mini"), Ok(("phi-3-mini", None))));
        assert!(matches!(
            split_spec("phi-3-mini@apple-m2"),
            Ok(("phi-3-mini", Some("apple-m2")))
        ));
        let e = split_spec("@apple-m2")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("missing model before @"), "{e}");
        let e = split_spec("phi-3-mini@")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("missing hardware after @"), "{e}");
    }

    #[test]
    fn short_hardware_names_suggest_their_ids() {
        let c = catalog();
        let e = hardware_by_id(&c, "m2")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("apple-m2"), "{e}");
        assert!(!e.contains("sxm2"), "{e}");
        let e = hardware_by_id(&c, "h100")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            e.contains("nvidia-h100-sxm") && e.contains("nvidia-h100-pcie"),
            "{e}"
        );
    }

    #[test]
    fn device_counts_divide_the_heads() {
        let c = catalog();
        let ladder = |id: &str| c.model(id).map(device_ladder).unwrap_or_default();
        // 128 query heads, 8 KV heads: 1, 2, 4, 8, then nodes of 8.
        assert_eq!(ladder("llama-3.1-405b")[..6], [1, 2, 4, 8, 16, 24]);
        // Qwen2.5-7B has 28 query heads: no group of 8.
        assert_eq!(ladder("qwen2.5-7b"), [1, 2, 4]);
        for id in [
            "llama-3.1-405b",
            "llama-3.1-70b",
            "qwen2.5-7b",
            "falcon-40b",
        ] {
            let Ok(m) = c.model(id) else { continue };
            let Some(a) = &m.architecture else { continue };
            for g in device_ladder(m) {
                let tp = g.min(GPUS_PER_NODE);
                assert!(tensor_parallel_ok(a, tp), "{id}: {g}");
            }
        }
    }

    #[test]
    fn unknown_local_says_to_run_probe() {
        let e = hardware_by_id(&catalog(), "local")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("sizewise probe"), "{e}");
    }
}
