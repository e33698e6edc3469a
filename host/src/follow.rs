//! Keeps every registry source serving what it names. A pinned digest is
//! pulled until it is admitted; a tag is resolved again every
//! `--module-poll` and on SIGHUP, and a new digest goes through the same
//! admission as a file before it replaces what the source served. A
//! registry that cannot be reached keeps the module serving and is retried
//! with backoff; each failure is logged and counted.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use crate::admission::Admission;
use crate::cosign::CosignKeys;
use crate::metrics::{Metrics, SourceLabels};
use crate::oci::{OciSource, Registries};
use crate::probes::Readiness;
use crate::reload::Reloader;
use crate::runtime::LoadedModule;
use crate::source::Source;

/// The first retry after a failure; doubled up to the poll interval.
const FIRST_RETRY: Duration = Duration::from_secs(1);

/// Pulls and admits the module `digest` of `source`, off the async
/// threads: describe() and the self-test run the module.
pub async fn pull(
    registries: &Registries,
    admission: &Arc<Admission>,
    keys: Option<&CosignKeys>,
    source: &OciSource,
    digest: &str,
) -> anyhow::Result<LoadedModule> {
    if let Some(keys) = keys {
        registries.verify(source, digest, keys).await?;
    }
    let bytes = registries.fetch(source, digest).await?;
    let admission = admission.clone();
    let origin = Source::Oci(source.text.clone());
    tokio::task::spawn_blocking(move || admission.admit(&bytes, &origin, None))
        .await
        .map_err(|e| anyhow::anyhow!("admission stopped: {e}"))?
        .map_err(|e| anyhow::anyhow!("{} ({digest}) refused: {e:#}", source.text))
}

pub struct Follower {
    pub registries: Arc<Registries>,
    /// With keys, only modules signed by one of them are admitted.
    pub keys: Option<CosignKeys>,
    pub admission: Arc<Admission>,
    pub reloader: Arc<Reloader>,
    pub metrics: Metrics,
    pub poll: Duration,
    /// Wakes every follower at once (SIGHUP).
    pub wake: Arc<Notify>,
    pub readiness: Arc<Readiness>,
}

impl Follower {
    /// Follows `source` for as long as the server runs; `serving` is the
    /// manifest digest admitted at start, if any.
    pub fn spawn(self: &Arc<Self>, source: OciSource, serving: Option<String>) {
        let this = self.clone();
        tokio::spawn(async move { this.follow(source, serving).await });
    }

    async fn follow(&self, source: OciSource, mut serving: Option<String>) {
        let mut retry = FIRST_RETRY;
        loop {
            let pinned_and_done = source.pinned().is_some() && serving.is_some();
            if pinned_and_done {
                return;
            }
            let wait = match self.step(&source, serving.as_deref()).await {
                Ok(digest) => {
                    self.readiness.admitted(&source.text);
                    serving = Some(digest);
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

    /// Resolves `source`; when it names a digest other than `serving`,
    /// pulls, admits and installs it. Returns the digest serving after.
    async fn step(&self, source: &OciSource, serving: Option<&str>) -> anyhow::Result<String> {
        let digest = self.registries.resolve(source).await?;
        if serving == Some(digest.as_str()) {
            return Ok(digest);
        }
        let module = pull(
            &self.registries,
            &self.admission,
            self.keys.as_ref(),
            source,
            &digest,
        )
        .await?;
        let reloader = self.reloader.clone();
        let label = tokio::task::spawn_blocking(move || reloader.install(module, || Ok(())))
            .await
            .map_err(|e| anyhow::anyhow!("install stopped: {e}"))?
            .map_err(|e| anyhow::anyhow!("{} ({digest}) refused: {e:?}", source.text))?;
        tracing::info!(source = %source.text, %digest, module = %label, "module source now serves a new digest");
        Ok(digest)
    }
}
