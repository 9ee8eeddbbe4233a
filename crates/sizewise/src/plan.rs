//! Resolves "this model, maybe on this hardware" into a concrete estimate,
//! choosing hardware and device count where the user did not.

use anyhow::Context;

use crate::i18n::Lang;
use sizewise_catalog::{Catalog, Hardware, HardwareClass, Model};
use sizewise_estimate::{ArchSummary, Numbers, Precision, Scenario, estimate_numbers, summarize};

/// Models up to this size default to a laptop or a small GPU; larger ones to a GPU server.
const SMALL_MODEL_PARAMS: f64 = 15e9;
/// Largest tensor-parallel group sizewise proposes by itself.
const MAX_AUTO_GPUS: u32 = 8;

/// A choice sizewise made for the user, or a warning, to be said in their language.
#[derive(Debug, Clone, PartialEq)]
pub enum Note {
    /// The model's architecture is closed: it is compared through its API.
    Api {
        /// Model id.
        model: String,
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
        /// Devices.
        gpus: u32,
        /// Hardware id.
        hardware: String,
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
    },
    /// The hardware's memory depends on the system.
    MemoryDepends {
        /// Hardware id.
        hardware: String,
    },
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
                gpus,
                hardware,
            } if pt => format!(
                "{model}: precisa de {gpus} x {hardware} para pesos e cache, então a coluna usa {gpus} (paralelismo de tensor)"
            ),
            Note::TensorParallel {
                model,
                gpus,
                hardware,
            } => format!(
                "{model}: needs {gpus} x {hardware} to hold weights and cache, so the column uses {gpus} (tensor parallel)"
            ),
            Note::DoesNotFit {
                model,
                gpus,
                hardware,
                precision,
            } if pt => {
                format!(
                    "{model} não cabe em {} com {precision}",
                    devices(*gpus, hardware)
                )
            }
            Note::DoesNotFit {
                model,
                gpus,
                hardware,
                precision,
            } => {
                format!(
                    "{model} does not fit on {} at {precision}",
                    devices(*gpus, hardware)
                )
            }
            Note::MemoryDepends { hardware } if pt => {
                format!("{hardware}: a memória depende do sistema (--memory-gb)")
            }
            Note::MemoryDepends { hardware } => {
                format!("{hardware}: memory depends on the system (--memory-gb)")
            }
        }
    }
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
}

fn try_on(model: &Model, a: &ArchSummary, h: &Hardware, s: &Scenario) -> Option<Numbers> {
    estimate_numbers(model, a, h, s).ok().filter(|n| n.fits)
}

/// Estimates `model` on `hw` (or on hardware sizewise picks). `auto_gpus` lets
/// sizewise raise the device count until the model fits.
pub fn plan<'a>(
    catalog: &'a Catalog,
    model: &'a Model,
    hw: Option<&str>,
    base: &Scenario,
    auto_gpus: bool,
) -> anyhow::Result<Plan<'a>> {
    let Ok(summary) = summarize(model) else {
        return Ok(Plan {
            model,
            hardware: None,
            scenario: base.clone(),
            summary: None,
            numbers: None,
            notes: vec![Note::Api {
                model: model.id.clone(),
            }],
        });
    };
    let mut notes = Vec::new();
    let mut s = base.clone();
    let hardware: &Hardware = match hw {
        Some(id) => catalog.hardware_by_id(id)?,
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
    let mut numbers = estimate_numbers(model, &summary, hardware, &s)?;
    if !numbers.fits && auto_gpus && hardware.class.is_gpu() && s.gpus == 1 {
        let need = numbers.min_devices;
        if need > 1 && need <= MAX_AUTO_GPUS {
            let mut t = s.clone();
            for g in need..=MAX_AUTO_GPUS {
                t.gpus = g;
                if let Ok(n) = estimate_numbers(model, &summary, hardware, &t)
                    && n.fits
                {
                    {
                        notes.push(Note::TensorParallel {
                            model: model.id.clone(),
                            gpus: g,
                            hardware: hardware.id.clone(),
                        });
                        numbers = n;
                        s = t;
                        break;
                    }
                }
            }
        }
    }
    if !numbers.fits {
        notes.push(Note::DoesNotFit {
            model: model.id.clone(),
            gpus: s.gpus,
            hardware: hardware.id.clone(),
            precision: numbers.deployment.precision.to_string(),
        });
    }
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
    })
}

/// Parses `MODEL[@HW]`.
pub fn split_spec(spec: &str) -> (&str, Option<&str>) {
    match spec.split_once('@') {
        Some((m, h)) if !h.is_empty() => (m, Some(h)),
        Some((m, _)) => (m, None),
        None => (spec, None),
    }
}
