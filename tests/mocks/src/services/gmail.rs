//! The gmail service mock (being written).
