//! The buildpack's layers, one module each (CNB buildpack spec 0.10, "Layers").

pub mod app;
pub mod cache;
