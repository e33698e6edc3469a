//! The wasm runtime: one engine, modules compiled once, a fresh sandboxed
//! instance for every call.

use crate::modules::source::Source;
use std::fmt;
use std::path::Path;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store, Trap};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use crate::modules::registry::Route;
use crate::wasm::bindings::{CompositionModule, CompositionModulePre, wit};
use crate::wasm::cache::CompiledCache;
use crate::wasm::clock_guard::WaitPastDeadline;
use crate::wasm::guest_log::{GuestLog, ModuleTag, Stream};
use crate::wasm::limits::{Limits, MemoryGuard};
use crate::wasm::off_executor::run_off_executor;

/// Linear memory kept resident per pool slot between instances.
const KEEP_RESIDENT: usize = 4 << 20;

/// What one component instance may take from the pool.
const PER_COMPONENT_CORE_INSTANCES: u32 = 8;
const PER_COMPONENT_MEMORIES: u32 = 2;
const PER_COMPONENT_TABLES: u32 = 8;

/// How often the epoch advances; deadlines are counted in these ticks.
const EPOCH_TICK: Duration = Duration::from_millis(10);

/// What a module says about itself, checked at load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleInfo {
    pub name: String,
    pub version: String,
    /// What it serves: the step Input's `module` and composite labels.
    pub routes: Vec<Route>,
}

/// A compiled, described module, ready to instantiate.
pub struct LoadedModule {
    pub info: ModuleInfo,
    pub digest: String,
    pub(crate) source: Source,
    pub(crate) loaded_at: std::time::SystemTime,
    /// Requests routed to this module.
    pub(crate) calls: std::sync::atomic::AtomicU64,
    tag: ModuleTag,
    pre: CompositionModulePre<CallState>,
}

impl LoadedModule {
    /// `name@version (sha256:abcdef123456)`, for messages.
    pub(crate) fn label(&self) -> String {
        format!(
            "{}@{} (sha256:{})",
            self.info.name,
            self.info.version,
            &self.digest[..12]
        )
    }
}

impl fmt::Debug for LoadedModule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoadedModule")
            .field("info", &self.info)
            .field("digest", &self.digest)
            .field("source", &self.source)
            .finish()
    }
}

/// Why a call did not produce a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    Timeout(Duration),
    OutOfMemory(usize),
    Trap(String),
    /// The module panicked (and so trapped); the message it reported.
    Panic(String),
    /// The module ran and returned its own error.
    Module(String),
}

impl Failure {
    /// A short label for metrics.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Failure::Timeout(_) => "timeout",
            Failure::OutOfMemory(_) => "out_of_memory",
            Failure::Trap(_) => "trap",
            Failure::Panic(_) => "panic",
            Failure::Module(_) => "module_error",
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Timeout(d) => write!(f, "ran past its {d:?} deadline and was stopped"),
            Failure::OutOfMemory(b) => {
                write!(
                    f,
                    "exceeded its memory limit of {} MiB and was stopped",
                    b >> 20
                )
            }
            Failure::Trap(t) => write!(f, "trapped: {t}"),
            Failure::Panic(p) => write!(f, "panicked: {p}"),
            Failure::Module(m) => write!(f, "returned an error: {m}"),
        }
    }
}

/// The store data of one call: a locked-down WASI context (no files,
/// environment, arguments or sockets; stdout and stderr go to the log),
/// the memory guard and the call's log.
pub(crate) struct CallState {
    /// When the call must end; waits past it are refused (see clock_guard).
    pub(crate) deadline: Instant,
    wasi: WasiCtx,
    table: ResourceTable,
    memory: MemoryGuard,
    log: GuestLog,
}

impl WasiView for CallState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

pub struct Runtime {
    engine: Engine,
    linker: Linker<CallState>,
    limits: Limits,
    cache: Option<CompiledCache>,
}

impl Runtime {
    pub fn new(limits: Limits, cache_dir: Option<&Path>) -> anyhow::Result<Self> {
        let mut config = Config::new();
        config.epoch_interruption(true);
        let slots = limits.max_concurrent_calls + 4; // + loads and self-tests
        let mut pool = PoolingAllocationConfig::new();
        // A Rust wasip2 component has one memory and a few core instances.
        // Capping each component at its share keeps one module from taking
        // the pool (or many memories' worth of RAM) from the others; the
        // pool reserves address space for every slot, and keeps up to
        // KEEP_RESIDENT of each used memory slot resident.
        pool.total_component_instances(slots)
            .max_core_instances_per_component(PER_COMPONENT_CORE_INSTANCES)
            .max_memories_per_component(PER_COMPONENT_MEMORIES)
            .max_tables_per_component(PER_COMPONENT_TABLES)
            .total_core_instances(slots * PER_COMPONENT_CORE_INSTANCES)
            .total_memories(slots * PER_COMPONENT_MEMORIES)
            .total_tables(slots * PER_COMPONENT_TABLES)
            .total_stacks(slots)
            .max_memory_size(limits.memory_bytes)
            // Memory a call touched is zeroed in place rather than handed
            // back to the kernel, up to this much: the next instance in the
            // slot then takes no page faults for it.
            .linear_memory_keep_resident(KEEP_RESIDENT)
            .table_keep_resident(KEEP_RESIDENT)
            // Where the kernel can say which pages are resident (Linux
            // 6.7+), only those are reset, not all of KEEP_RESIDENT.
            .pagemap_scan(wasmtime::Enabled::Auto);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        let engine = Engine::new(&config)?;
        spawn_epoch_ticker(&engine)?;

        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
        crate::wasm::clock_guard::add_to_linker(&mut linker)?;
        let cache = cache_dir
            .map(|dir| CompiledCache::new(dir, &engine))
            .transpose()?;
        Ok(Self {
            engine,
            linker,
            limits,
            cache,
        })
    }

    pub(crate) fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Compiles (or loads from the cache), links and describes a module.
    pub fn load(&self, path: &Path) -> anyhow::Result<LoadedModule> {
        let bytes = std::fs::read(path)?;
        self.load_bytes(&bytes, &Source::File(path.to_path_buf()))
    }

    pub(crate) fn load_bytes(&self, bytes: &[u8], source: &Source) -> anyhow::Result<LoadedModule> {
        anyhow::ensure!(
            bytes.starts_with(b"\0asm"),
            "not a WebAssembly binary (no \\0asm header)"
        );
        let digest = hex::encode(Sha256::digest(bytes));
        let component = self.compile(bytes, &digest)?;
        crate::wasm::contract::check(&component, &self.engine)?;
        let pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(|e| anyhow::anyhow!("does not fit the host's imports: {e:#}"))?;
        let pre = CompositionModulePre::new(pre).map_err(|e| {
            anyhow::anyhow!(
                "does not export the {}/composition interface: {e:#}",
                crate::wasm::contract::PACKAGE
            )
        })?;
        let placeholder = ModuleTag {
            name: source.to_string().into(),
            version: "unknown".into(),
            digest: digest.clone().into(),
        };
        let info = self.describe(&pre, placeholder)?;
        anyhow::ensure!(!info.name.is_empty(), "describe() returned an empty name");
        anyhow::ensure!(
            !info.routes.is_empty(),
            "describe() lists no route it serves (a step Input `module` value and composite labels)"
        );
        let tag = ModuleTag {
            name: info.name.as_str().into(),
            version: info.version.as_str().into(),
            digest: digest.as_str().into(),
        };
        Ok(LoadedModule {
            info,
            digest,
            source: source.clone(),
            loaded_at: std::time::SystemTime::now(),
            calls: Default::default(),
            tag,
            pre,
        })
    }

    fn compile(&self, bytes: &[u8], digest: &str) -> anyhow::Result<Component> {
        if let Some(component) = self
            .cache
            .as_ref()
            .and_then(|c| c.load(&self.engine, digest))
        {
            return Ok(component);
        }
        let component = Component::from_binary(&self.engine, bytes)
            .map_err(|e| anyhow::anyhow!("is not a valid component: {e:#}"));
        return_freed_memory();
        let component = component?;
        if let Some(cache) = &self.cache {
            cache.store(digest, &component);
        }
        Ok(component)
    }

    fn describe(
        &self,
        pre: &CompositionModulePre<CallState>,
        tag: ModuleTag,
    ) -> anyhow::Result<ModuleInfo> {
        let info = self
            .with_instance(pre, tag, false, |instance, store| {
                instance
                    .platform_function_composition()
                    .call_describe(store)
            })
            .map_err(|f| anyhow::anyhow!("describe() {f}"))?;
        Ok(ModuleInfo {
            name: info.name,
            version: info.version,
            routes: info
                .routes
                .into_iter()
                .map(|r| Route {
                    module: r.module,
                    labels: r.labels.into_iter().collect(),
                })
                .collect(),
        })
    }

    /// Runs one request on a fresh instance of `module`.
    pub fn call(
        &self,
        module: &LoadedModule,
        request: &wit::Request,
    ) -> Result<wit::Response, Failure> {
        self.run(module, request, false)
    }

    /// [`Runtime::call`] with the module's log lines dropped.
    pub(crate) fn call_muted(
        &self,
        module: &LoadedModule,
        request: &wit::Request,
    ) -> Result<wit::Response, Failure> {
        self.run(module, request, true)
    }

    fn run(
        &self,
        module: &LoadedModule,
        request: &wit::Request,
        muted: bool,
    ) -> Result<wit::Response, Failure> {
        self.with_instance(&module.pre, module.tag.clone(), muted, |instance, store| {
            instance
                .platform_function_composition()
                .call_run_function(store, request)
        })?
        .map_err(|e| Failure::Module(e.message))
    }

    /// Instantiates `module` in a fresh store and drops it: the fixed cost
    /// of every call, measured by the benchmarks.
    pub fn instantiate_only(&self, module: &LoadedModule) -> Result<(), Failure> {
        self.with_instance(&module.pre, module.tag.clone(), false, |_, _| Ok(()))
    }

    /// Instantiates `pre` in a fresh, limited store and runs `f` on it,
    /// off the async executor when called from async code.
    fn with_instance<R>(
        &self,
        pre: &CompositionModulePre<CallState>,
        tag: ModuleTag,
        muted: bool,
        f: impl FnOnce(&CompositionModule, &mut Store<CallState>) -> wasmtime::Result<R> + Send,
    ) -> Result<R, Failure>
    where
        R: Send,
    {
        run_off_executor(|| self.with_fresh_store(pre, tag, muted, f))
    }

    fn with_fresh_store<R>(
        &self,
        pre: &CompositionModulePre<CallState>,
        tag: ModuleTag,
        muted: bool,
        f: impl FnOnce(&CompositionModule, &mut Store<CallState>) -> wasmtime::Result<R>,
    ) -> Result<R, Failure> {
        let log = GuestLog::new(
            tag,
            self.limits.max_log_lines,
            self.limits.max_log_bytes,
            muted,
        );
        let state = CallState {
            deadline: Instant::now() + self.limits.timeout,
            wasi: WasiCtxBuilder::new()
                .stdout(log.stream(Stream::Stdout))
                .stderr(log.stream(Stream::Stderr))
                .build(),
            table: ResourceTable::new(),
            memory: MemoryGuard::new(self.limits.memory_bytes),
            log,
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.memory);
        let ticks = self.limits.timeout.as_millis() / EPOCH_TICK.as_millis() + 1;
        store.set_epoch_deadline(ticks as u64);
        store.epoch_deadline_trap();

        let outcome = pre
            .instantiate(&mut store)
            .and_then(|instance| f(&instance, &mut store));
        store.data().log.finish();
        outcome.map_err(|e| self.classify(e, store.data()))
    }

    fn classify(&self, error: wasmtime::Error, state: &CallState) -> Failure {
        if state.memory.exhausted {
            return Failure::OutOfMemory(self.limits.memory_bytes);
        }
        if error.downcast_ref::<Trap>() == Some(&Trap::Interrupt)
            || error.downcast_ref::<WaitPastDeadline>().is_some()
        {
            return Failure::Timeout(self.limits.timeout);
        }
        if let Some(panic) = state.log.panic() {
            return Failure::Panic(panic);
        }
        Failure::Trap(format!("{error:#}"))
    }
}

/// Hands the memory compiling freed back to the kernel. glibc keeps freed
/// heap in its arenas' free lists, and a compile frees tens of MiB (the
/// compiler's working memory, on several threads): a host that compiled a
/// module on start or on a swap would otherwise stay that much larger for
/// as long as it serves.
fn return_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim takes no pointers; it walks glibc's own arenas.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Advances the engine's epoch every tick for as long as the engine lives.
fn spawn_epoch_ticker(engine: &Engine) -> std::io::Result<()> {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("wasm-epoch".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        })?;
    Ok(())
}
