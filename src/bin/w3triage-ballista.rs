//! `w3triage-ballista scheduler|executor`: a Ballista 55 scheduler or executor built with the
//! same DataFusion and Ballista as `w3triage farm --engine ballista` (docs/distributed.md).

use clap::{Parser, Subcommand};
use std::process::ExitCode;
use w3triage_engine::serve::{self, ExecutorSettings, SchedulerSettings};

#[derive(Parser)]
#[command(
    version,
    about = "A Ballista scheduler or executor for w3triage's farm reduce"
)]
struct Cli {
    #[command(subcommand)]
    role: Role,
}

#[derive(Subcommand)]
enum Role {
    /// The scheduler the client (`w3triage farm --scheduler df://HOST:PORT`) connects to.
    Scheduler {
        /// The address to listen on.
        #[arg(long, default_value = "0.0.0.0")]
        bind: String,
        /// The port.
        #[arg(long, default_value_t = 50050)]
        port: u16,
        /// Seconds without a heartbeat before an executor is dead and its tasks run elsewhere.
        #[arg(long, default_value_t = 180)]
        executor_timeout: u64,
    },
    /// An executor: runs the scheduler's tasks, reading the dataset at the path the client gave.
    Executor {
        /// The scheduler, HOST:PORT.
        #[arg(long, default_value = "localhost:50050")]
        scheduler: String,
        /// The address to listen on, which the scheduler and the other executors must reach.
        #[arg(long, default_value = "127.0.0.1")]
        bind: String,
        /// The Flight port (shuffle data); the next port is its gRPC service.
        #[arg(long, default_value_t = 50051)]
        port: u16,
        /// Task slots (default: one per core).
        #[arg(long)]
        vcores: Option<usize>,
        /// Where shuffle files go (default: a temporary folder).
        #[arg(long)]
        work_dir: Option<String>,
        /// Seconds between heartbeats to the scheduler.
        #[arg(long, default_value_t = 60)]
        heartbeat: u64,
    },
}

fn main() -> ExitCode {
    serve::log_to_stderr();
    let done = match Cli::parse().role {
        Role::Scheduler {
            bind,
            port,
            executor_timeout,
        } => serve::scheduler(&SchedulerSettings {
            bind,
            port,
            executor_timeout_s: executor_timeout,
        }),
        Role::Executor {
            scheduler,
            bind,
            port,
            vcores,
            work_dir,
            heartbeat,
        } => serve::executor(&ExecutorSettings {
            scheduler,
            bind,
            port,
            vcores: vcores
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
            work_dir,
            heartbeat_s: heartbeat,
        }),
    };
    match done {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("w3triage-ballista: {e}");
            ExitCode::from(2)
        }
    }
}
