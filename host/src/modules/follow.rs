//! Keeps every registry source serving what it names. A pinned digest is
//! pulled until it is admitted; a tag is resolved again every
//! `--module-poll` and on SIGHUP, and a new digest goes through the same
//! admission as a file before it replaces what the source served. A
//! registry that cannot be reached keeps the module serving and is retried
//! with backoff; each failure is logged and counted. The digest each source
//! had admitted is recorded beside the cache, so a restart with the
//! registry down serves it again.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use crate::metrics::{Metrics, SourceLabels};
use crate::modules::admission::Admission;
use crate::modules::oci::{OciSource, Registries};
use crate::modules::reload::Reloader;
use crate::modules::source::Source;
use crate::probes::Readiness;
use crate::wasm::runtime::LoadedModule;

/// The first retry after a failure; doubled up to the poll interval.
const FIRST_RETRY: Duration = Duration::from_secs(1);

/// Pulls and admits the module `digest` of `source`, its cosign signature
/// checked first when keys are set.
pub(crate) async fn pull(
    registries: &Registries,
    admission: &Arc<Admission>,
    source: &OciSource,
    digest: &str,
) -> anyhow::Result<LoadedModule> {
    if let Some(keys) = admission.keys() {
        registries.verify(source, digest, keys).await?;
    }
    let bytes = registries.fetch(source, digest).await?;
    admit(admission, source, bytes)
        .await
        .map_err(|e| anyhow::anyhow!("{} ({digest}) refused: {e:#}", source.text))
}

/// The module `source` had admitted last, from the cache alone: for a
/// start while its registry cannot be reached. Its signature was verified
/// when it was admitted; the follower verifies it again once the registry
/// answers.
pub(crate) async fn pull_remembered(
    registries: &Registries,
    admission: &Arc<Admission>,
    source: &OciSource,
) -> anyhow::Result<(String, LoadedModule)> {
    let digest = registries
        .remembered(source)
        .ok_or_else(|| anyhow::anyhow!("no digest of {} was admitted before", source.text))?;
    let bytes = registries.fetch(source, &digest).await?;
    Ok((digest, admit(admission, source, bytes).await?))
}

/// Admits a pulled module whose signature, if keys are set, was checked,
/// off the async threads: describe() and the self-test run the module.
async fn admit(
    admission: &Arc<Admission>,
    source: &OciSource,
    bytes: Vec<u8>,
) -> anyhow::Result<LoadedModule> {
    let admission = admission.clone();
    let origin = Source::Oci(source.text.clone());
    tokio::task::spawn_blocking(move || admission.admit_verified(&bytes, &origin))
        .await
        .map_err(|e| anyhow::anyhow!("admission stopped: {e}"))?
}

/// Where a source stands when its follower starts.
pub(crate) struct Start {
    pub(crate) source: OciSource,
    /// The manifest digest serving, if any.
    pub(crate) serving: Option<String>,
    /// False when it came from the cache without its registry, so its
    /// signature has not been checked by this process.
    pub(crate) verified: bool,
}

pub(crate) struct Follower {
    pub(crate) registries: Arc<Registries>,
    pub(crate) admission: Arc<Admission>,
    pub(crate) reloader: Arc<Reloader>,
    pub(crate) metrics: Metrics,
    pub(crate) poll: Duration,
    /// Wakes every follower at once (SIGHUP).
    pub(crate) wake: Arc<Notify>,
    pub(crate) readiness: Arc<Readiness>,
}

impl Follower {
    /// Follows a source for as long as the server runs.
    pub(crate) fn spawn(self: &Arc<Self>, start: Start) {
        let this = self.clone();
        tokio::spawn(async move { this.follow(start).await });
    }

    async fn follow(&self, start: Start) {
        let Start {
            source,
            mut serving,
            mut verified,
        } = start;
        let mut retry = FIRST_RETRY;
        loop {
            let pinned_and_done = source.pinned().is_some() && serving.is_some() && verified;
            if pinned_and_done {
                return;
            }
            let current = serving.as_deref().filter(|_| verified);
            let wait = match self.step(&source, current).await {
                Ok(digest) => {
                    self.readiness.admitted(&source.text);
                    serving = Some(digest);
                    verified = true;
                    retry = FIRST_RETRY;
                    self.poll
                }
                Err(e) => {
                    tracing::error!(source = %source.text, error = %format!("{e:#}"), retry_in = ?retry, "module source failed; the module serving (if any) keeps serving");
                    self.metrics
                        .source_failures
                        .get_or_create(&SourceLabels {
                            source: source.text.clone(),
                        })
                        .inc();
                    let wait = retry;
                    retry = (retry * 2).min(self.poll);
                    wait
                }
            };
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = self.wake.notified() => {}
            }
        }
    }

    /// Resolves `source`; when it names a digest other than `serving`
    /// (`None`: nothing serving, or not verified yet), pulls, admits and
    /// installs it. Returns the digest serving after.
    async fn step(&self, source: &OciSource, serving: Option<&str>) -> anyhow::Result<String> {
        let digest = self.registries.resolve(source).await?;
        self.metrics
            .source_checks
            .get_or_create(&SourceLabels {
                source: source.text.clone(),
            })
            .inc();
        if serving == Some(digest.as_str()) {
            return Ok(digest);
        }
        let module = pull(&self.registries, &self.admission, source, &digest).await?;
        let reloader = self.reloader.clone();
        let label = tokio::task::spawn_blocking(move || reloader.install(module, || Ok(())))
            .await
            .map_err(|e| anyhow::anyhow!("install stopped: {e}"))?
            .map_err(|e| anyhow::anyhow!("{} ({digest}) refused: {e:?}", source.text))?;
        tracing::info!(source = %source.text, %digest, module = %label, "module source now serves a new digest");
        self.registries.remember(source, &digest);
        Ok(digest)
    }
}
