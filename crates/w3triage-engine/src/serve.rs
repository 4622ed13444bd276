//! A Ballista scheduler or executor of exactly the DataFusion and Ballista versions this
//! client speaks (`w3triage-ballista scheduler|executor`). The farm's queries use built-in
//! functions only, so the crates.io `ballista-scheduler` and `ballista-executor` 55.0.0 binaries
//! serve them as well; these are for a cluster built from this repository (and for the tests
//! that stop an executor mid-query).

use crate::Error;
use ballista_executor::executor_process::{ExecutorProcessConfig, start_executor_process};
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::scheduler_process::start_server;
use std::sync::Arc;

/// A scheduler's settings.
#[derive(Debug, Clone)]
pub struct SchedulerSettings {
    /// The address to listen on.
    pub bind: String,
    /// The port (Ballista's default is 50050).
    pub port: u16,
    /// An executor silent this long is dead and its tasks run elsewhere (Ballista's default
    /// is 180).
    pub executor_timeout_s: u64,
}

/// An executor's settings.
#[derive(Debug, Clone)]
pub struct ExecutorSettings {
    /// The scheduler, `HOST:PORT`.
    pub scheduler: String,
    /// The address to listen on, and the name the scheduler and the other executors reach it by.
    pub bind: String,
    /// Its Flight port (shuffle data), and the next one for its gRPC service.
    pub port: u16,
    /// Task slots.
    pub vcores: usize,
    /// Where its shuffle files go.
    pub work_dir: Option<String>,
    /// Seconds between heartbeats (Ballista's default is 60).
    pub heartbeat_s: u64,
}

fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        // As Ballista's own binaries: deep plans recurse.
        .thread_stack_size(32 * 1024 * 1024)
        .build()
        .map_err(|e| Error(format!("cannot start a runtime: {e}")))
}

/// A scheduler's configuration.
pub(crate) fn scheduler_config(bind: &str, port: u16, executor_timeout_s: u64) -> SchedulerConfig {
    SchedulerConfig {
        bind_host: bind.to_string(),
        bind_port: port,
        executor_timeout_seconds: executor_timeout_s,
        expire_dead_executor_interval_seconds: executor_timeout_s.clamp(1, 15),
        ..Default::default()
    }
}

/// Serves a scheduler until the runtime stops.
pub(crate) async fn run_scheduler(config: SchedulerConfig) -> Result<(), Error> {
    let addr = format!("{}:{}", config.bind_host, config.bind_port)
        .parse()
        .map_err(|e| {
            Error(format!(
                "{}:{} is not an address: {e}",
                config.bind_host, config.bind_port
            ))
        })?;
    let cluster = BallistaCluster::new_from_config(&config)
        .await
        .map_err(|e| Error(format!("cannot set up the scheduler: {e}")))?;
    start_server(cluster, addr, Arc::new(config))
        .await
        .map_err(|e| Error(format!("the scheduler stopped: {e}")))
}

/// Runs a scheduler until the process is stopped.
pub fn scheduler(s: &SchedulerSettings) -> Result<(), Error> {
    let config = scheduler_config(&s.bind, s.port, s.executor_timeout_s);
    runtime()?.block_on(run_scheduler(config))
}

/// An executor's configuration.
pub(crate) fn executor_config(s: &ExecutorSettings) -> Result<ExecutorProcessConfig, Error> {
    let (host, port) = s
        .scheduler
        .rsplit_once(':')
        .and_then(|(h, p)| Some((h.to_string(), p.parse::<u16>().ok()?)))
        .ok_or_else(|| Error(format!("{:?} is not HOST:PORT", s.scheduler)))?;
    Ok(ExecutorProcessConfig {
        bind_host: s.bind.clone(),
        external_host: Some(s.bind.clone()),
        port: s.port,
        grpc_port: s.port.saturating_add(1),
        scheduler_host: host,
        scheduler_port: port,
        scheduler_connect_timeout_seconds: 30,
        vcores: s.vcores.max(1),
        work_dir: s.work_dir.clone(),
        executor_heartbeat_interval_seconds: s.heartbeat_s.max(1),
        print_thread_info: false,
        ..Default::default()
    })
}

/// Runs an executor until the process is stopped.
pub fn executor(s: &ExecutorSettings) -> Result<(), Error> {
    let config = executor_config(s)?;
    runtime()?.block_on(async {
        start_executor_process(Arc::new(config))
            .await
            .map_err(|e| Error(format!("the executor stopped: {e}")))
    })
}

/// Ballista's log on standard error, at the level `W3TRIAGE_BALLISTA_LOG` names (`error`,
/// `warn`, `info`, `debug`, `trace`); `warn` when unset.
pub fn log_to_stderr() {
    struct Stderr;
    impl log::Log for Stderr {
        fn enabled(&self, m: &log::Metadata<'_>) -> bool {
            m.level() <= log::max_level()
        }
        fn log(&self, r: &log::Record<'_>) {
            if self.enabled(r.metadata()) {
                eprintln!("{} {}: {}", r.level(), r.target(), r.args());
            }
        }
        fn flush(&self) {}
    }
    static LOGGER: Stderr = Stderr;
    let level = std::env::var("W3TRIAGE_BALLISTA_LOG")
        .ok()
        .and_then(|l| l.parse().ok())
        .unwrap_or(log::LevelFilter::Warn);
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(level);
    }
}
