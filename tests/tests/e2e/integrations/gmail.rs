//! The gmail integration against its mock (being written).
