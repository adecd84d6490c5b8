//! The stripe integration against its mock (being written).
