//! Hot swap: rescans the modules directory and, when a module was added,
//! changed or removed, publishes a new routing table atomically. A module
//! that fails admission never replaces the one serving; requests in flight
//! finish on the module they started with.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};

use crate::grpc::service::Dispatcher;
use crate::metrics::{Metrics, RejectLabels};
use crate::modules::admission::{self, Admission};
use crate::modules::registry::Registry;
use crate::modules::source::Source;
use crate::wasm::runtime::LoadedModule;

/// What one rescan did.
#[derive(Debug, Default)]
pub struct Report {
    /// `name@version (sha256:…)` of each module newly serving.
    pub admitted: Vec<String>,
    pub removed: Vec<String>,
    /// Files refused, with the reason.
    pub rejected: Vec<(Source, String)>,
    /// Files still being written; rescanned after the settle delay.
    pub deferred: Vec<PathBuf>,
}

impl Report {
    pub(crate) fn changed(&self) -> bool {
        !self.admitted.is_empty() || !self.removed.is_empty()
    }
}

pub struct Reloader {
    admission: Arc<Admission>,
    dispatcher: Arc<Dispatcher>,
    dir: PathBuf,
    /// A file modified more recently than this is not read yet.
    settle: Duration,
    metrics: Metrics,
    one_at_a_time: Mutex<()>,
}

impl Reloader {
    pub fn new(
        admission: Arc<Admission>,
        dispatcher: Arc<Dispatcher>,
        dir: &Path,
        settle: Duration,
        metrics: Metrics,
    ) -> Self {
        Self {
            admission,
            dispatcher,
            dir: dir.to_path_buf(),
            settle,
            metrics,
            one_at_a_time: Mutex::new(()),
        }
    }

    pub(crate) fn settle(&self) -> Duration {
        self.settle
    }

    /// Rescans the directory and swaps in what changed.
    pub fn reload(&self) -> Report {
        let _one = self.one_at_a_time.lock().unwrap_or_else(|e| e.into_inner());
        let mut report = Report::default();
        let serving = self.dispatcher.registry().modules();
        let files = match admission::module_files(&self.dir) {
            Ok(files) => files,
            Err(e) => {
                tracing::error!(error = %e, "cannot rescan the modules directory; keeping the modules serving");
                return report;
            }
        };

        // Modules of other sources (registries) are not this scan's to drop.
        let mut table: Vec<Arc<LoadedModule>> = serving
            .iter()
            .filter(|m| m.source.file().is_none())
            .cloned()
            .collect();
        let mut candidates: Vec<(Arc<LoadedModule>, Option<Arc<LoadedModule>>)> = Vec::new();
        for path in &files {
            let previous = serving
                .iter()
                .find(|m| m.source.file() == Some(path.as_path()))
                .cloned();
            let bytes = match self.read_settled(path) {
                Ok(bytes) => bytes,
                Err(Unready::Settling) => {
                    report.deferred.push(path.clone());
                    table.extend(previous);
                    continue;
                }
                Err(Unready::Failed(reason)) => {
                    self.reject(
                        &mut report,
                        &Source::File(path.clone()),
                        "unreadable",
                        reason,
                    );
                    table.extend(previous);
                    continue;
                }
            };
            let digest = hex::encode(Sha256::digest(&bytes));
            if let Some(same) = previous.as_ref().filter(|m| m.digest == digest) {
                table.push(same.clone());
                continue;
            }
            let signature = self.admission.signature_beside(path);
            let source = Source::File(path.clone());
            match self.admission.admit(&bytes, &source, signature.as_deref()) {
                Ok(module) => candidates.push((Arc::new(module), previous)),
                Err(e) => {
                    self.reject(&mut report, &source, &digest, format!("{e:#}"));
                    table.extend(previous);
                }
            }
        }
        report.removed = serving
            .iter()
            .filter(|m| {
                m.source
                    .file()
                    .is_some_and(|f| !files.iter().any(|p| p == f))
            })
            .map(|m| m.label())
            .collect();

        // One candidate at a time, so a module that claims a route another
        // already serves is refused alone.
        for (module, previous) in candidates {
            let mut trial = table.clone();
            trial.push(module.clone());
            match Registry::new(trial) {
                Ok(_) => {
                    report.admitted.push(module.label());
                    table.push(module);
                }
                Err(e) => {
                    let reason = format!("{e:#}");
                    let source = module.source.clone();
                    self.reject(&mut report, &source, &module.digest, reason);
                    table.extend(previous);
                }
            }
        }

        if report.changed() {
            match Registry::new(table) {
                Ok(registry) => {
                    tracing::info!(
                        admitted = ?report.admitted, removed = ?report.removed, modules = %registry.describe(),
                        "modules swapped"
                    );
                    self.dispatcher.swap(registry);
                    self.metrics.swaps.inc();
                }
                Err(e) => {
                    tracing::error!(error = %e, "the reloaded modules conflict; keeping the modules serving");
                    report.admitted.clear();
                    report.removed.clear();
                }
            }
        }
        report
    }

    /// Publishes a module already admitted (an upload) for `source`,
    /// replacing what that file served; `write` puts it on disk first, so a
    /// restart keeps it. Refused when it claims a route another file serves.
    pub(crate) fn install(
        &self,
        module: LoadedModule,
        write: impl FnOnce() -> std::io::Result<()>,
    ) -> Result<String, InstallError> {
        let _one = self.one_at_a_time.lock().unwrap_or_else(|e| e.into_inner());
        let module = Arc::new(module);
        let mut table: Vec<_> = self
            .dispatcher
            .registry()
            .modules()
            .into_iter()
            .filter(|m| m.source != module.source)
            .collect();
        table.push(module.clone());
        let registry =
            Registry::new(table).map_err(|e| InstallError::Conflict(format!("{e:#}")))?;
        write().map_err(|e| InstallError::Io(e.to_string()))?;
        tracing::info!(module = %module.label(), source = %module.source, modules = %registry.describe(), "module installed");
        self.dispatcher.swap(registry);
        self.metrics.swaps.inc();
        Ok(module.label())
    }

    /// Stops serving the module of `source` and deletes its files; false
    /// when no module is loaded from there.
    pub(crate) fn uninstall(&self, source: &Path) -> std::io::Result<bool> {
        let _one = self.one_at_a_time.lock().unwrap_or_else(|e| e.into_inner());
        let serving = self.dispatcher.registry().modules();
        let source = Source::File(source.to_path_buf());
        if !serving.iter().any(|m| m.source == source) {
            return Ok(false);
        }
        let path = source.file().unwrap_or(Path::new(""));
        std::fs::remove_file(path)?;
        let _ = std::fs::remove_file(crate::modules::cosign::signature_path(path));
        let table = serving.into_iter().filter(|m| m.source != source).collect();
        // Removing routes cannot create a conflict.
        if let Ok(registry) = Registry::new(table) {
            self.dispatcher.swap(registry);
            self.metrics.swaps.inc();
        }
        Ok(true)
    }

    fn reject(&self, report: &mut Report, source: &Source, digest: &str, reason: String) {
        tracing::error!(%source, digest, %reason, "module refused; the module serving (if any) keeps serving");
        // A file by its name; a registry source by its reference.
        let label = match source.file().and_then(Path::file_name) {
            Some(name) => name.to_string_lossy().to_string(),
            None => source.to_string(),
        };
        self.metrics
            .rejected
            .get_or_create(&RejectLabels { source: label })
            .inc();
        report.rejected.push((source.clone(), reason));
    }

    /// The file's bytes, once it has not changed for the settle delay and
    /// did not change while being read.
    fn read_settled(&self, path: &Path) -> Result<Vec<u8>, Unready> {
        let stamp = |path: &Path| -> Result<(u64, SystemTime), Unready> {
            let meta = std::fs::metadata(path).map_err(|e| Unready::Failed(e.to_string()))?;
            Ok((
                meta.len(),
                meta.modified()
                    .map_err(|e| Unready::Failed(e.to_string()))?,
            ))
        };
        let before = stamp(path)?;
        // A time in the future was set on purpose (rsync -t, tar), which
        // tools do once the content is complete: no wait would ever pass.
        let age = SystemTime::now()
            .duration_since(before.1)
            .unwrap_or(self.settle);
        if age < self.settle {
            return Err(Unready::Settling);
        }
        let bytes = std::fs::read(path).map_err(|e| Unready::Failed(e.to_string()))?;
        if stamp(path)? != before || bytes.len() as u64 != before.0 {
            return Err(Unready::Settling);
        }
        Ok(bytes)
    }
}

#[derive(Debug)]
pub(crate) enum InstallError {
    Conflict(String),
    Io(String),
}

enum Unready {
    Settling,
    Failed(String),
}
