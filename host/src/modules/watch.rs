//! Triggers reloads: file events in the modules directory (debounced) and
//! SIGHUP.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::time::Duration;

use notify::event::{AccessKind, AccessMode, EventKind};
use notify::{RecursiveMode, Watcher};

use crate::modules::reload::Reloader;

/// Why a rescan was asked for.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Trigger {
    FileEvent,
    Signal,
}

/// Keeps the watcher alive; dropping it stops watching.
pub(crate) struct WatchHandle {
    _watcher: Option<notify::RecommendedWatcher>,
    triggers: Sender<Trigger>,
}

impl WatchHandle {
    /// Asks for a rescan, as SIGHUP does.
    pub(crate) fn trigger(&self) {
        let _ = self.triggers.send(Trigger::Signal);
    }
}

/// Reloads from a thread of its own on [`WatchHandle::trigger`] and, when
/// `watch` is set, on changes in `dir`.
pub(crate) fn spawn(
    reloader: Arc<Reloader>,
    dir: &std::path::Path,
    watch: bool,
) -> anyhow::Result<WatchHandle> {
    let (triggers, events) = channel();
    let sender = triggers.clone();
    let watcher = if watch {
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                if let Ok(event) = event
                    && is_change(&event.kind)
                {
                    let _ = sender.send(Trigger::FileEvent);
                }
            })?;
        watcher.watch(dir, RecursiveMode::NonRecursive)?;
        Some(watcher)
    } else {
        None
    };
    std::thread::Builder::new()
        .name("module-watch".into())
        .spawn(move || run(reloader, events))?;
    Ok(WatchHandle {
        _watcher: watcher,
        triggers,
    })
}

/// Creates, renames, writes closed and removals; never the host's own reads.
fn is_change(kind: &EventKind) -> bool {
    matches!(
        kind,
        EventKind::Create(_)
            | EventKind::Remove(_)
            | EventKind::Modify(_)
            | EventKind::Access(AccessKind::Close(AccessMode::Write))
    )
}

fn run(reloader: Arc<Reloader>, events: Receiver<Trigger>) {
    let settle = reloader.settle().max(Duration::from_millis(20));
    while let Ok(first) = events.recv() {
        // One copy fires many events: wait for a quiet settle period.
        loop {
            match events.recv_timeout(settle) {
                Ok(_) => continue,
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
        tracing::debug!(trigger = ?first, "rescanning modules");
        let mut report = reloader.reload();
        // A file still being written is looked at again once it settles.
        while !report.deferred.is_empty() {
            std::thread::sleep(settle);
            report = reloader.reload();
        }
    }
}
