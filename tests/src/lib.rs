//! End-to-end tests live in `tests/`; this library is empty on purpose so
//! that the crate can hold them.
