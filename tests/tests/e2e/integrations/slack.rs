//! The slack integration against its mock (being written).
