//! The one integration-test binary. Each area adds its own `mod` line.

mod events;
