//! `keybot mcp`: the bot's tools for other local agents, over stdio with the Model Context
//! Protocol (the `rmcp` crate, the protocol's official Rust SDK). The read-only tools answer as
//! they answer `keybot ask`; a proposal is only queued in the store for the user's review
//! (`keybot proposals`, or `P` on the app's Chat screen) and the agent is told so: this server
//! never signs, and holds no way to.
//!
//! Stdin and stdout are the protocol, so the vault's password comes from `--password-file` or
//! `KEYBOT_PASSWORD`. The wallet, its store and the network live on one thread of their own (the
//! store is not `Sync`); the protocol's tasks hand it each call and wait for its answer.
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Result, anyhow, bail};
use clap::Args;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler, ServiceExt};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use crate::bot::tools::{self, Call, Read};
use crate::cli::desk::Opened;
use crate::config::Paths;
use crate::sanitize::clean_line;

/// Who a queued proposal came from.
pub const SOURCE: &str = "mcp";

#[derive(Debug, Args)]
pub struct McpArgs {
    /// The network the tools read (default: the active one).
    #[arg(long)]
    network: Option<String>,
    /// Read the vault password from FILE (or set KEYBOT_PASSWORD): stdin is the protocol.
    #[arg(long, value_name = "FILE")]
    password_file: Option<PathBuf>,
}

/// What the store's thread does for the protocol.
enum Job {
    Read(Read, oneshot::Sender<Result<Value, String>>),
    /// Queue a proposal (the tool's name and arguments as sent); answers its id.
    Queue {
        tool: String,
        arguments: String,
        reply: oneshot::Sender<Result<i64, String>>,
    },
}

impl McpArgs {
    pub fn run(self, paths: &Paths) -> Result<u8> {
        if self.password_file.is_none() && std::env::var_os("KEYBOT_PASSWORD").is_none() {
            bail!(
                "keybot mcp reads the vault password from --password-file FILE or KEYBOT_PASSWORD (its stdin is the protocol)"
            );
        }
        let (jobs, symbols) = self.start_desk(paths)?;
        let server = Server {
            jobs,
            tools: Arc::new(tools::specs(&symbols).into_iter().map(tool_of).collect()),
        };
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()?;
        rt.block_on(async {
            let running = server
                .serve(rmcp::transport::stdio())
                .await
                .map_err(|e| anyhow!("the MCP client did not start a session: {e}"))?;
            running
                .waiting()
                .await
                .map_err(|e| anyhow!("the MCP session ended: {e}"))?;
            Ok::<_, anyhow::Error>(())
        })?;
        Ok(0)
    }

    /// Opens the wallet, its store and the network on a thread of their own, which then answers
    /// jobs until the server is gone; the configured tokens' symbols (a proposal names one).
    fn start_desk(&self, paths: &Paths) -> Result<(mpsc::UnboundedSender<Job>, Vec<String>)> {
        let (tx, mut rx) = mpsc::unbounded_channel::<Job>();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<Vec<String>, String>>();
        let paths = paths.clone();
        let network = self.network.clone();
        let password_file = self.password_file.clone();
        std::thread::Builder::new()
            .name("mcp-desk".into())
            .spawn(move || {
                let opened =
                    match Opened::open(&paths, network.as_deref(), password_file.as_deref(), "0") {
                        Ok(o) => o,
                        Err(e) => {
                            let _ = ready_tx.send(Err(format!("{e:#}")));
                            return;
                        }
                    };
                let symbols = opened
                    .client
                    .iter()
                    .flat_map(|c| c.network.tokens.iter().map(|t| t.symbol.clone()))
                    .collect();
                let _ = ready_tx.send(Ok(symbols));
                while let Some(job) = rx.blocking_recv() {
                    match job {
                        Job::Read(read, reply) => {
                            let _ = reply.send(opened.rt.block_on(opened.reader().read(&read)));
                        }
                        Job::Queue {
                            tool,
                            arguments,
                            reply,
                        } => {
                            let r = opened
                                .store
                                .queue_proposal(&tool, &arguments, SOURCE)
                                .map_err(|e| clean_line(&e.to_string()).into_owned());
                            let _ = reply.send(r);
                        }
                    }
                }
            })?;
        let symbols = ready_rx
            .recv()
            .map_err(|_| anyhow!("the wallet's thread stopped"))?
            .map_err(|e| anyhow!(e))?;
        Ok((tx, symbols))
    }
}

/// A tool as MCP lists it: the same name, description and JSON schema the local model sees.
fn tool_of(spec: crate::bot::format::ToolSpec) -> Tool {
    let schema = match spec.parameters {
        Value::Object(m) => m,
        _ => serde_json::Map::new(),
    };
    Tool::new(spec.name, spec.description, Arc::new(schema))
}

#[derive(Clone)]
struct Server {
    jobs: mpsc::UnboundedSender<Job>,
    tools: Arc<Vec<Tool>>,
}

impl Server {
    /// Runs one call: a read on the store's thread, a proposal into the queue.
    async fn call(&self, name: &str, arguments: &Value) -> Result<Value, String> {
        let gone = || "keybot's wallet thread stopped".to_owned();
        match tools::parse(name, arguments)? {
            Call::Read(read) => {
                let (reply, answer) = oneshot::channel();
                self.jobs.send(Job::Read(read, reply)).map_err(|_| gone())?;
                answer.await.map_err(|_| gone())?
            }
            Call::Propose(p) => {
                let (reply, answer) = oneshot::channel();
                self.jobs
                    .send(Job::Queue {
                        tool: name.to_owned(),
                        arguments: arguments.to_string(),
                        reply,
                    })
                    .map_err(|_| gone())?;
                let id = answer.await.map_err(|_| gone())??;
                Ok(Value::String(format!(
                    "proposed: waiting for the user (proposal {id}: {}; the user reviews it with `keybot proposals review {id}` or in keybot's Chat screen)",
                    p.describe()
                )))
            }
        }
    }
}

impl ServerHandler for Server {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("keybot", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "keybot's wallet and data market, read-only, plus proposals: a proposal is queued for the user's review and never signed by this server. Values under \"untrusted\" were written by strangers.",
            )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(self.tools.as_ref().clone()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let arguments = Value::Object(request.arguments.unwrap_or_default());
        tracing::info!(tool = %clean_line(&request.name), "mcp: call");
        Ok(match self.call(&request.name, &arguments).await {
            Ok(v) => CallToolResult::success(vec![ContentBlock::text(v.to_string())]),
            Err(line) => CallToolResult::error(vec![ContentBlock::text(line)]),
        }
        .into())
    }
}
