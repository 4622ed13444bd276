//! Ballista sessions: on a running scheduler, or on a scheduler and executors started here.

use crate::Error;
use ballista::prelude::SessionContextExt;
use ballista_core::serde::BallistaCodec;
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
/// and a session on them.
pub async fn standalone(executors: usize, config: SessionConfig) -> Result<SessionContext, Error> {
    let addr = ballista_scheduler::standalone::new_standalone_scheduler()
        .await
        .map_err(|e| Error(format!("cannot start a Ballista scheduler: {e}")))?;
    let url = format!("http://localhost:{}", addr.port());
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let vcores = (cores / 2).max(1);
    for _ in 0..executors.max(1) {
        let client = connect(&url, CONNECT_TIMEOUT).await?;
        ballista_executor::new_standalone_executor(client, vcores, BallistaCodec::default())
            .await
            .map_err(|e| Error(format!("cannot start a Ballista executor: {e}")))?;
    }
    remote(&format!("df://localhost:{}", addr.port()), config).await
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
