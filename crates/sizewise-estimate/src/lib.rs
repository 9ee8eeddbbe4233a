//! Estimator core (work in progress).
