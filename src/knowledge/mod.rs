//! What w3triage knows about IIS: module classes, exception codes, HTTP.sys reasons.

pub mod exceptions;
pub mod httperr_reasons;
pub mod modules;
