//! The offline preview: two revisions rendered and compared with no cluster at all.

pub mod kinds;
