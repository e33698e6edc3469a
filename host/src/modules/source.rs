//! Where a module came from: a file of the modules directory (also where
//! uploads land), or an OCI registry reference.

use std::fmt;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    File(PathBuf),
    /// The `oci://` reference as configured, a tag or a digest.
    Oci(String),
}

impl Source {
    /// The file, for a module of the modules directory.
    pub(crate) fn file(&self) -> Option<&Path> {
        match self {
            Self::File(path) => Some(path),
            Self::Oci(_) => None,
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File(path) => write!(f, "{}", path.display()),
            Self::Oci(reference) => f.write_str(reference),
        }
    }
}
