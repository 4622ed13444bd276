//! The one integration-test binary. Each area adds its own `mod` line.

#[path = "../support/w3wp_dump.rs"]
mod w3wp_dump;

mod dump;
