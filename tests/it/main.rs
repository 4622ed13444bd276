//! The one integration-test binary: each area adds its module here.
mod httperr;
mod w3c;
