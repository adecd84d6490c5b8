//! The stripe service mock (being written).
