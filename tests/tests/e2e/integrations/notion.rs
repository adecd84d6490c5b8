//! The notion integration against its mock (being written).
