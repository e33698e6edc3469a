//! `converge`: runs the reconcile loop locally. Each round calls the
//! pipeline against what a simulated control plane holds ([`world`]),
//! applies the desired state to it and lets the simulated providers act:
//! the rounds show, before anything is applied, what is created, what
//! becomes ready and what waits for what, and end in the stream `render`
//! would print once the platform is up.

pub(crate) mod providers;
pub(crate) mod world;

use std::fmt::Write as _;

use super::{Prepared, RenderArgs, options, output};
use providers::Providers;
use world::{Round, World};

#[derive(clap::Args, Debug)]
pub struct ConvergeArgs {
    #[command(flatten)]
    pub(crate) render: RenderArgs,

    /// Rounds the platform may take to converge before converge gives up.
    #[arg(long, default_value_t = 40)]
    pub(crate) max_rounds: usize,
}

/// The rounds' report and the final stream.
pub struct Converged {
    pub rounds: String,
    pub stream: String,
}

/// Why converge stopped short, with the rounds so far.
#[derive(Debug)]
pub struct NotConverged {
    pub rounds: String,
    pub reason: anyhow::Error,
}

impl std::fmt::Display for NotConverged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:#}", self.reason)
    }
}

impl std::error::Error for NotConverged {}

pub async fn converge(args: &ConvergeArgs) -> Result<Converged, NotConverged> {
    let mut rounds = String::new();
    match run(args, &mut rounds).await {
        Ok(stream) => Ok(Converged { rounds, stream }),
        Err(reason) => Err(NotConverged { rounds, reason }),
    }
}

async fn run(args: &ConvergeArgs, log: &mut String) -> anyhow::Result<String> {
    let prepared = Prepared::new(&args.render)?;
    let xr = prepared.xr.clone();
    let mut world = World::new(Providers::built_in()?, &xr);
    let mut waited = std::collections::BTreeMap::new();
    let mut still_waiting = Vec::new();
    anyhow::ensure!(
        args.render.observed_resources.is_none(),
        "converge starts from an empty control plane and observes what it creates itself; drop -o/--observed-resources"
    );
    for round in 1..=args.max_rounds {
        let outcome = prepared.run(world.observed(&xr)).await?;
        let composed_ready = outcome
            .desired
            .resources
            .values()
            .all(|r| r.ready == function_sdk_rust::proto::v1::Ready::True as i32);
        if world.settled(&outcome.desired) && composed_ready {
            writeln!(
                log,
                "converged after {} rounds: {} resources ready, the composite is Ready",
                round - 1,
                outcome.desired.resources.len()
            )?;
            return output::to_yaml(&output::documents(
                &xr,
                &outcome,
                &world.names(),
                &options(&args.render),
            )?);
        }
        let mut changes = world.advance(round, &outcome.desired)?;
        still_waiting = changes.waiting.clone();
        // Only what waits for something new is worth a line again.
        changes.waiting.retain(|(name, deps)| {
            waited.insert(name.clone(), deps.clone()).as_ref() != Some(deps)
        });
        report(log, round, &changes)?;
    }
    let waits: Vec<String> = still_waiting
        .iter()
        .map(|(name, deps)| format!("{name} for {}", deps.join(", ")))
        .collect();
    anyhow::bail!(
        "the platform did not converge within {} rounds (--max-rounds); still waiting: {}",
        args.max_rounds,
        if waits.is_empty() {
            "nothing, but resources are still changing".to_string()
        } else {
            waits.join("; ")
        }
    )
}

fn report(log: &mut String, round: usize, changes: &Round) -> std::fmt::Result {
    writeln!(log, "round {round}:")?;
    let list = |names: &[String]| names.join(", ");
    if !changes.created.is_empty() {
        writeln!(
            log,
            "  created {}: {}",
            changes.created.len(),
            list(&changes.created)
        )?;
    }
    if !changes.deleted.is_empty() {
        writeln!(log, "  deleted: {}", list(&changes.deleted))?;
    }
    if !changes.ready.is_empty() {
        writeln!(
            log,
            "  ready {}: {}",
            changes.ready.len(),
            list(&changes.ready)
        )?;
    }
    for (name, why) in &changes.failed {
        writeln!(log, "  failed: {name}: {why}")?;
    }
    for (name, deps) in &changes.waiting {
        writeln!(log, "  waiting: {name} for {}", list(deps))?;
    }
    Ok(())
}
