//! Ballista sessions: on a running scheduler, or on a scheduler and executors started here.

use crate::Error;
use ballista::prelude::SessionContextExt;
use ballista_core::serde::protobuf::scheduler_grpc_client::SchedulerGrpcClient;
use datafusion::execution::SessionStateBuilder;
use datafusion::prelude::{SessionConfig, SessionContext};
use std::time::Duration;

/// How long a scheduler has to answer before it is reported unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A session on the scheduler at `url` (`df://HOST:PORT`), checked to answer.
pub async fn remote(url: &str, config: SessionConfig) -> Result<SessionContext, Error> {
    let parsed = url::Url::parse(url).map_err(|e| {
        Error(format!(
            "{url:?} is not a scheduler URL (df://HOST:PORT): {e}"
        ))
    })?;
    let host = parsed
        .host_str()
        .ok_or_else(|| Error(format!("{url:?} names no host (df://HOST:PORT)")))?;
    let port = parsed.port().unwrap_or(50050);
    // Ballista connects at the first query; a scheduler that is not there is said here, once.
    connect(&format!("http://{host}:{port}"), CONNECT_TIMEOUT).await?;
    let state = SessionStateBuilder::new()
        .with_config(config)
        .with_default_features()
        .build();
    SessionContext::remote_with_state(url, state)
        .await
        .map_err(|e| Error(format!("cannot open a session on {url}: {e}")))
}

/// A scheduler and `executors` executors on loopback ports, as tasks of the current runtime,
/// and a session on them. They are started as `w3triage-ballista` starts them (push-based
/// scheduling), not with Ballista's own standalone helpers, whose pull-based polling costs
/// about a second per query.
pub async fn standalone(executors: usize, config: SessionConfig) -> Result<SessionContext, Error> {
    let port = free_port()?;
    let scheduler = crate::serve::scheduler_config("127.0.0.1", port, 180);
    tokio::spawn(crate::serve::run_scheduler(scheduler));
    let url = format!("http://127.0.0.1:{port}");
    connect(&url, CONNECT_TIMEOUT).await?;
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    for _ in 0..executors.max(1) {
        let settings = crate::serve::ExecutorSettings {
            scheduler: format!("127.0.0.1:{port}"),
            bind: "127.0.0.1".into(),
            port: free_port()?,
            vcores: (cores / 2).max(1),
            work_dir: None,
            heartbeat_s: 60,
        };
        let e = crate::serve::executor_config(&settings)?;
        tokio::spawn(ballista_executor::executor_process::start_executor_process(
            std::sync::Arc::new(e),
        ));
    }
    // A job submitted before an executor has registered waits for one.
    remote(&format!("df://127.0.0.1:{port}"), config).await
}

/// A loopback port nothing listens on now, and the next one too (an executor's gRPC port).
fn free_port() -> Result<u16, Error> {
    for _ in 0..100 {
        let l = std::net::TcpListener::bind("127.0.0.1:0")
            .map_err(|e| Error(format!("cannot find a free loopback port: {e}")))?;
        let p = l.local_addr().map_err(|e| Error(e.to_string()))?.port();
        if p < u16::MAX && std::net::TcpListener::bind(("127.0.0.1", p + 1)).is_ok() {
            return Ok(p);
        }
    }
    Err(Error("cannot find two free loopback ports in a row".into()))
}

/// A client of the scheduler at `url` (`http://HOST:PORT`), retried until `within`.
async fn connect(
    url: &str,
    within: Duration,
) -> Result<SchedulerGrpcClient<tonic::transport::Channel>, Error> {
    let start = std::time::Instant::now();
    loop {
        match SchedulerGrpcClient::connect(url.to_string()).await {
            Ok(c) => return Ok(c),
            Err(e) if start.elapsed() >= within => {
                return Err(Error(format!(
                    "the Ballista scheduler at {url} does not answer after {} s: {e}",
                    within.as_secs()
                )));
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}
