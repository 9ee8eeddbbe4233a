//! The sizewise estimator: every dimension of a model on hardware under a
//! workload, from first principles, with (p10, p50, p90) bands and the basis of
//! each number.
//!
//! Pure: no I/O, no async. The numeric core ([`estimate_numbers`]) allocates
//! nothing, so sweeps over precisions and devices are instant; [`report`] turns
//! numbers into leaves with units and bases.

pub mod arch;
pub mod core;
pub mod error;
pub mod precision;
pub mod priors;
pub mod report;
pub mod validation;

pub use crate::core::{
    ArchSummary, Band, Deployment, Numbers, Scenario, TypedWeights, deployment, estimate_numbers,
};
pub use error::EstimateError;
pub use precision::{ComputeDtype, Precision};
pub use priors::{Engine, PriorScale, Priors, Tri};

/// Summarises a catalog model for estimation, or says why it cannot be.
pub fn summarize(model: &sizewise_catalog::Model) -> Result<ArchSummary, EstimateError> {
    match &model.architecture {
        Some(a) => Ok(ArchSummary::new(a, model.context_window)),
        None => Err(EstimateError::ArchitectureUndisclosed {
            model: model.id.clone(),
        }),
    }
}
