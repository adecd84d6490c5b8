//! The notion service mock (being written).
