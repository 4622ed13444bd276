//! What w3triage knows about IIS: module classes, exception codes, HTTP.sys reasons, and the
//! per-dump verdict rules built on them.

pub mod asp;
pub mod clients;
pub mod exceptions;
pub mod httperr_reasons;
pub mod managed;
pub mod modules;
pub mod verdict;
