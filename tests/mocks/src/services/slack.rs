//! The slack service mock (being written).
