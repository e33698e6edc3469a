//! On-disk cache of compiled modules, so a restart does not recompile.
//!
//! An artifact is keyed by the wasm file's sha256 and the engine's
//! compatibility hash (wasmtime version, configuration, CPU features), so a
//! stale artifact is never found rather than rejected. Artifacts are native
//! code: only ever load them from a directory this host writes.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};

use wasmtime::Engine;
use wasmtime::component::Component;

pub(crate) struct CompiledCache {
    dir: PathBuf,
    engine_key: String,
}

impl CompiledCache {
    pub(crate) fn new(dir: &Path, engine: &Engine) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)
            .map_err(|e| anyhow::anyhow!("cannot create --cache-dir {}: {e}", dir.display()))?;
        let mut hasher = DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        Ok(Self {
            dir: dir.to_path_buf(),
            engine_key: format!("{:016x}", hasher.finish()),
        })
    }

    fn path(&self, digest: &str) -> PathBuf {
        self.dir.join(format!("{digest}-{}.cwasm", self.engine_key))
    }

    /// The cached compilation of the wasm with this digest, if any.
    pub(crate) fn load(&self, engine: &Engine, digest: &str) -> Option<Component> {
        let path = self.path(digest);
        if !path.exists() {
            return None;
        }
        // SAFETY: the file was written by `store` below from a component this
        // engine compiled, in a directory only the host writes.
        match unsafe { Component::deserialize_file(engine, &path) } {
            Ok(component) => Some(component),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "ignoring unusable compiled-module cache entry");
                None
            }
        }
    }

    /// Stores a compilation; a failure only costs the next start a compile.
    pub(crate) fn store(&self, digest: &str, component: &Component) {
        let path = self.path(digest);
        let written = component
            .serialize()
            .and_then(|bytes| Ok(crate::files::write_atomically(&path, &bytes)?));
        if let Err(e) = written {
            tracing::warn!(path = %path.display(), error = %e, "cannot write compiled-module cache entry");
        }
    }
}
