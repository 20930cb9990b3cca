//! Load on the sequencer, in one process: an embedded L1 (1 s blocks) with the contracts,
//! the demo models registered and the dev accounts deposited (`verdict_devnet::
//! prepare`), extra L2 senders funded through the bridge, and a sequencer serving the
//! digits MLP from a temporary directory. Then, for `verdict_sendInference` on the MLP:
//!
//! 1. **bare loop**, the ceiling: the pre-signed requests through `admission::admit`
//!    (EIP-712 digest, secp256k1 recovery, input check) and the executor's `run_batch`,
//!    64 per batch as the builder batches them, on one thread; no RPC, no storage.
//! 2. **end to end**, over HTTP and over WebSocket (jsonrpsee clients, one client and so
//!    one connection per sender): first a closed-loop run (`--closed-senders` senders,
//!    each sending its next request as soon as the last is answered) whose throughput is
//!    the transport's maximum; then open-loop runs at 25, 50, 75, 100 and 150 % of that
//!    maximum with `--senders` senders. Every sender sends its requests in nonce order,
//!    one in flight, so concurrency is the number of senders; an open-loop sender `s` of
//!    `S` sends at `t0 + (s + j S) / rate`, or at once when it is behind.
//! 3. **ratios**: the best closed-loop throughput over the bare loop (goal >= 0.5), and
//!    each transport's p99 at 50 % of its maximum (goal < 50 ms).
//!
//! Requests are signed before each run starts (signing is the client's cost). Latency
//! is measured from the scheduled send time to the answer (from the actual send time in
//! closed loop), so a sender that falls behind its schedule shows up in the figures
//! instead of hiding (no coordinated omission); below saturation the two are the same.
//! `service_*` fields give send-to-answer alone. "Answered" means durable in the
//! sequencer's database, not posted to L1.
//!
//! Diagnostics beside the figures:
//! - CPU columns: seconds of CPU each thread group used per second of the run (from
//!   `/proc/self/task`): the load clients, the builder thread, the group-commit thread,
//!   and everything else (RPC and admission on the runtime workers, the batcher, RocksDB,
//!   the L1 chain); and `others`, the busy cores of other programs on the machine (a
//!   run with others well above zero competed for the cores and is not comparable).
//! - `p99@seal`: the share of requests at or above the run's p99 during which an L2
//!   block was sealed (beside the share of all requests, what chance gives).
//! - the builder's state-tree rehash at a seal (`State::root`) for `--senders` and
//!   `--closed-senders` changed accounts, and the batcher's `fit` (encoding the batch data) over
//!   a full backlog, with how many records one post holds; and at the end, how far the
//!   L1 posts trail the L2 head. `--no-posting` turns posting off, to tell the request
//!   path's own latency from what the batcher's work costs it.
//!
//! The clients share the machine with the sequencer: on a small machine their CPU (JSON,
//! HTTP, WebSocket framing) is taken from the sequencer's, so the end-to-end figures are
//! lower than a sequencer with the machine to itself would reach.
//!
//! ```text
//! cargo run --release -p verdict-bench --bin sequencer-load -- [--seconds-per-rate 5]
//!     [--senders 64] [--closed-senders 256] [--quick] [--no-posting]
//! ```
//!
//! prints a table and writes `target/bench/sequencer-load.json` (under 2 minutes with the
//! defaults, about 20 s of it setting up the L1). `--quick` (CI smoke) runs 1 s per
//! rate and two rates (50 %, 100 %). `RUST_LOG` shows the sequencer's log (default: warn).

use std::collections::VecDeque;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy::primitives::utils::parse_ether;
use alloy::primitives::{B256, Signature};
use alloy::signers::local::PrivateKeySigner;
use anyhow::{Context, Result, anyhow, bail};
use clap::Parser;
use jsonrpsee::http_client::HttpClientBuilder;
use jsonrpsee::ws_client::WsClientBuilder;
use serde_json::{Value, json};
use verdict_bench::{Workload, write_json};
use verdict_devchain::{DevAccounts, DevChain, DevChainConfig, DevChainServer};
use verdict_devnet::{Prepared, prepare};
use verdict_l1::client::{ClientConfig, L1Client};
use verdict_l1::contracts::VerdictL1;
use verdict_models::{ModelSet, ServedModel};
use verdict_rpc::VerdictApiClient;
use verdict_rpc::signing::{domain_of, sign_request_json};
use verdict_rpc::types::SignedRequestJson;
use verdict_sequencer::Sequencer;
use verdict_sequencer::admission::admit;
use verdict_sequencer::batcher::{BatcherConfig, fit};
use verdict_sequencer::builder::BlockConfig;
use verdict_sequencer::config::SequencerConfig;
use verdict_specs::Tensor;
use verdict_specs::encoding::Writer;
use verdict_specs::l2::account::Account;
use verdict_specs::l2::batch_data::BlockBody;
use verdict_specs::l2::block::{BlockHeader, HEADER_BYTES};
use verdict_specs::l2::record::InferenceTx;
use verdict_specs::l2::request::{InferenceRequest, SigningDomain};
use verdict_specs::l2::transition::State;

const MODEL: &str = "digits-mlp";

static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();

/// A progress line on stderr, with the seconds since the start.
macro_rules! note {
    ($($arg:tt)*) => {
        eprintln!(
            "{:>6.1}s {}",
            START.get_or_init(Instant::now).elapsed().as_secs_f64(),
            format_args!($($arg)*)
        )
    };
}
/// Requests per executor batch in the bare loop (the builder runs each step's requests
/// of one model as one batch; under load a step holds tens to hundreds).
const BARE_BATCH: usize = 64;
/// What each extra sender gets on L2: a million inferences at the demo fee.
const EXTRA_DEPOSIT_ETHER: &str = "1";
/// How long the sequencer gets to stop at the end.
const STOP_GRACE: Duration = Duration::from_secs(10);
/// Extra senders funded per round of deposits (under the builder's 256 deposits a block).
const DEPOSIT_CHUNK: usize = 128;
/// The open-loop rates, as fractions of the transport's closed-loop maximum.
const FRACTIONS: [f64; 5] = [0.25, 0.5, 0.75, 1.0, 1.5];
const QUICK_FRACTIONS: [f64; 2] = [0.5, 1.0];
/// Goals the report checks.
const GOAL_RATIO: f64 = 0.5;
const GOAL_P99_MS: f64 = 50.0;

/// Load on the sequencer over HTTP and WebSocket against its bare admission + execution
/// loop; writes target/bench/sequencer-load.json.
#[derive(Parser, Debug)]
struct Args {
    /// Seconds each run lasts (each offered rate, and each closed-loop run).
    #[arg(long, default_value_t = 5.0)]
    seconds_per_rate: f64,
    /// Senders of the open-loop runs (one request in flight each).
    #[arg(long, default_value_t = 64)]
    senders: usize,
    /// Senders of the closed-loop maximum.
    #[arg(long, default_value_t = 256)]
    closed_senders: usize,
    /// Short run for CI smoke: 1 s per rate, 2 rates.
    #[arg(long)]
    quick: bool,
    /// Never post batches to L1 (isolates the request path from the batcher's work).
    #[arg(long)]
    no_posting: bool,
}

fn main() -> Result<()> {
    let mut args = Args::parse();
    if verdict_bench::smoke() {
        args.quick = true;
        args.senders = args.senders.min(8);
        args.closed_senders = args.closed_senders.min(16);
    }
    // The sequencer's own log, warnings only unless RUST_LOG says otherwise.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    if args.quick {
        args.seconds_per_rate = 1.0;
    }
    if args.senders == 0 || args.closed_senders == 0 || args.seconds_per_rate <= 0.0 {
        bail!("--senders, --closed-senders and --seconds-per-rate must be positive");
    }
    // The sequencer (RPC, admission, batcher, deposit follower) and the L1 run on one
    // runtime, the load clients on another, so the CPU columns can tell them apart.
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("seq-rt")
        .build()
        .context("starting the sequencer's runtime")?;
    let load_rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("load")
        .build()
        .context("starting the load runtime")?;
    let dir = tempfile::tempdir().context("creating a temporary directory")?;
    let started = *START.get_or_init(Instant::now);

    let senders_needed = args.senders.max(args.closed_senders);
    let (mut net, senders) =
        server_rt.block_on(setup(dir.path(), senders_needed, args.no_posting))?;
    note!(
        "[setup] ready after {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let outcome = measure(&args, &net, senders, &load_rt);
    // The batcher posts its whole backlog before it looks at the stop signal (one post per
    // L1 block): give it a few seconds, then drop the runtime with it.
    note!("[stop] stopping the sequencer and the L1…");
    server_rt.block_on(async {
        let stopping = tokio::time::timeout(STOP_GRACE, net.sequencer.stop()).await;
        if stopping.is_err() {
            note!("[stop] the sequencer did not stop within {STOP_GRACE:?} (batcher catching up); abandoning it");
        }
        net.l1_server.stop().await;
    });
    server_rt.shutdown_timeout(Duration::from_secs(2));
    note!("[stop] done");
    drop(net.l1);
    let report = outcome?;
    print_report(&report);
    let path = write_json("sequencer-load.json", &report.to_json(&args))?;
    println!(
        "wrote {} ({:.0} s in all)",
        path.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The running devnet and the funded senders.
struct Net {
    l1: DevChain,
    l1_server: DevChainServer,
    sequencer: Sequencer,
    model: Arc<ServedModel>,
    domain: SigningDomain,
}

/// Starts the L1, prepares it, funds `count` senders on L2 and starts the sequencer.
async fn setup(dir: &Path, count: usize, no_posting: bool) -> Result<(Net, Vec<Sender>)> {
    let keys = DevAccounts::default()
        .derive()
        .context("deriving the dev accounts")?;
    let deployer = keys.first().cloned().context("no dev accounts")?;
    let l1 = DevChain::open(DevChainConfig {
        block_time: Some(Duration::from_secs(1)),
        ..DevChainConfig::default()
    })
    .context("opening the embedded L1")?;
    let (_, l1_server) = l1
        .serve("127.0.0.1:0".parse()?)
        .await
        .context("serving the embedded L1")?;
    let l1_url = l1_server.http_url();
    let client = L1Client::connect(&l1_url, Some(deployer.clone()), ClientConfig::default())
        .await
        .with_context(|| format!("connecting to the embedded L1 at {l1_url}"))?;

    note!("[setup] deploying, registering the demo models, depositing for the dev accounts…");
    let recipients: Vec<_> = keys.iter().map(|k| k.address()).collect();
    let Prepared {
        deployment, models, ..
    } = prepare(
        client.clone(),
        &dir.join("deployment.json"),
        20,
        &recipients,
    )
    .await?;

    let model_file = models
        .into_iter()
        .find(|m| m.path.ends_with(MODEL))
        .with_context(|| format!("prepare registered no {MODEL}"))?;
    let mut config = SequencerConfig {
        data_dir: dir.join("sequencer"),
        l1_rpc: l1_url,
        rpc_addr: "127.0.0.1:0".parse()?,
        l1_poll_ms: 250,
        // One connection per client: the closed-loop senders of both transports, with room.
        max_connections: (2 * count as u32 + 64).max(512),
        ..SequencerConfig::default()
    };
    if no_posting {
        // A batch is due after this many blocks or seconds: never, within a run.
        config.batch_blocks = 1 << 40;
        config.batch_interval_secs = 1 << 40;
    }
    let sequencer = Sequencer::start(
        &config,
        deployment.clone(),
        deployer,
        vec![model_file],
        None,
    )
    .await
    .context("starting the sequencer")?;
    let model = sequencer
        .models
        .find(MODEL)
        .with_context(|| format!("the sequencer serves no {MODEL}"))?;
    let domain = domain_of(&sequencer.info);

    // Dev account 0 is the sequencer: it sends nothing. Beyond the other nine, random keys
    // funded through the bridge, a chunk at a time with the chunk's deposits in flight at
    // once. A chunk is credited before the next is sent: the builder takes at most
    // `max_block_deposits` (256) deposits per L2 block and, with no request arriving,
    // does not open another block for the rest (see the report of this benchmark).
    let mut senders: Vec<Sender> = keys
        .iter()
        .skip(1)
        .take(count)
        .cloned()
        .map(Sender::new)
        .collect();
    note!("[setup] waiting for the dev accounts' deposits on L2…");
    credited(&sequencer, &mut senders).await?;
    let bridge = VerdictL1::new(client, deployment)?;
    let amount = parse_ether(EXTRA_DEPOSIT_ETHER)?;
    let extra = count.saturating_sub(senders.len());
    note!("[setup] depositing for {extra} extra senders…");
    while senders.len() < count {
        let mut chunk: Vec<Sender> = (0..(count - senders.len()).min(DEPOSIT_CHUNK))
            .map(|_| Sender::new(PrivateKeySigner::random()))
            .collect();
        let mut deposits = tokio::task::JoinSet::new();
        for sender in &chunk {
            let (bridge, recipient) = (bridge.clone(), sender.signer.address());
            deposits.spawn(async move {
                bridge
                    .deposit(recipient, amount)
                    .await
                    .with_context(|| format!("depositing for {recipient}"))
            });
        }
        while let Some(done) = deposits.join_next().await {
            done.context("a deposit task")??;
        }
        credited(&sequencer, &mut chunk).await?;
        senders.extend(chunk);
    }
    let net = Net {
        l1,
        l1_server,
        sequencer,
        model,
        domain,
    };
    Ok((net, senders))
}

/// Waits until every sender has a balance on L2; takes its nonce.
async fn credited(sequencer: &Sequencer, senders: &mut [Sender]) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    for sender in senders {
        loop {
            let account = sequencer.chain().account(&sender.address);
            if account.balance > 0 {
                sender.next_nonce = account.nonce;
                break;
            }
            if Instant::now() > deadline {
                bail!(
                    "the deposit for {} was not credited on L2 within 60 s",
                    sender.signer.address()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    Ok(())
}

/// One L2 account sending requests, and its requests signed but not yet sent.
struct Sender {
    signer: PrivateKeySigner,
    address: [u8; 20],
    /// The nonce of the next request to sign.
    next_nonce: u64,
    queue: VecDeque<SignedRequestJson>,
}

impl Sender {
    fn new(signer: PrivateKeySigner) -> Self {
        Self {
            address: signer.address().into_array(),
            signer,
            next_nonce: 0,
            queue: VecDeque::new(),
        }
    }
}

/// What a request carries besides its sender and nonce.
struct Template<'a> {
    domain: SigningDomain,
    model: &'a ServedModel,
    inputs: &'a [Tensor],
}

/// Signs requests until each sender `i` holds `want[i]`, on every core.
fn top_up(senders: &mut [Sender], want: &[usize], template: &Template<'_>) -> Result<usize> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = senders.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let jobs: Vec<_> = senders
            .chunks_mut(chunk)
            .zip(want.chunks(chunk))
            .map(|(senders, want)| {
                scope.spawn(move || -> Result<usize> {
                    let mut signed = 0;
                    for (sender, &want) in senders.iter_mut().zip(want) {
                        while sender.queue.len() < want {
                            let nonce = sender.next_nonce;
                            let input = template.inputs[(nonce as usize
                                + sender.address[19] as usize)
                                % template.inputs.len()]
                            .clone();
                            let request = InferenceRequest {
                                sender: sender.address,
                                nonce,
                                model_id: template.model.id,
                                input,
                                max_fee: template.model.fee,
                            };
                            let json = sign_request_json(&sender.signer, request, &template.domain)
                                .context("signing a request")?;
                            sender.queue.push_back(json);
                            sender.next_nonce += 1;
                            signed += 1;
                        }
                    }
                    Ok(signed)
                })
            })
            .collect();
        jobs.into_iter()
            .map(|job| {
                job.join()
                    .map_err(|_| anyhow!("a signing thread panicked"))?
            })
            .sum()
    })
}

/// Everything measured.
struct Report {
    bare: Bare,
    runs: Vec<Run>,
    signing_per_s: f64,
    /// (changed accounts, ms) of `State::root` at a seal.
    state_root: Vec<(usize, f64)>,
    fit: FitCost,
    backlog: Backlog,
}

/// Where the batcher stood when the load ended.
struct Backlog {
    load_seconds: f64,
    sealed: u64,
    posted: u64,
    posts: u64,
}

fn measure(
    args: &Args,
    net: &Net,
    mut senders: Vec<Sender>,
    load_rt: &tokio::runtime::Runtime,
) -> Result<Report> {
    let workload = Workload::load(MODEL)?;
    if workload.model.id().id != net.model.id {
        bail!("models/digits/{MODEL}.vdm is not the model the sequencer serves");
    }
    let inputs = workload.int8_inputs(workload.features.len())?;
    let template = Template {
        domain: net.domain,
        model: &net.model,
        inputs: &inputs,
    };
    // The bare loop runs on the first requests the open-loop senders will send.
    let first = 4096usize.div_ceil(args.senders);
    let want: Vec<usize> = (0..senders.len())
        .map(|i| if i < args.senders { first } else { 0 })
        .collect();
    let signing = Instant::now();
    let signed = top_up(&mut senders, &want, &template)?;
    let signing_per_s = signed as f64 / signing.elapsed().as_secs_f64();
    note!("[sign] {signed} requests at {signing_per_s:.0}/s (client side, untimed)");
    let pool: Vec<SignedRequestJson> = senders[..args.senders]
        .iter()
        .flat_map(|s| s.queue.iter().cloned())
        .collect();
    let bare_seconds = args.seconds_per_rate.min(3.0);
    note!("[bare] admission + execution on one thread for {bare_seconds} s…");
    let bare = bare_loop(
        &net.sequencer.models,
        &net.domain,
        &pool,
        Duration::from_secs_f64(bare_seconds),
    )?;
    note!(
        "[bare] {:.0} requests/s (admit {:.1} µs of which recovery {:.1} µs, execute {:.1} µs per request)",
        bare.per_s,
        bare.admit_us,
        bare.recover_us,
        bare.execute_us
    );

    let fit = fit_cost(&net.model, &pool)?;
    note!(
        "[batch] fit over {} full blocks ({} records each): {:.1} ms, keeps {} blocks ({} records, {} bytes) per post",
        fit.blocks_in,
        fit.records_per_block,
        fit.ms,
        fit.blocks_kept,
        fit.records_kept,
        fit.bytes
    );

    let addresses: Vec<[u8; 20]> = senders.iter().map(|s| s.address).collect();
    let state_root = [args.senders, args.closed_senders]
        .into_iter()
        .map(|n| Ok((n, state_root_ms(&addresses, n)?)))
        .collect::<Result<Vec<_>>>()?;
    for (n, ms) in &state_root {
        note!("[seal] state root after {n} changed accounts: {ms:.1} ms on the builder thread");
    }

    let fractions: &[f64] = if args.quick {
        &QUICK_FRACTIONS
    } else {
        &FRACTIONS
    };
    let mut ctx = Ctx {
        args,
        net,
        load_rt,
        template: &template,
        senders: &mut senders,
        bare_per_s: bare.per_s,
    };
    let mut runs = Vec::new();

    let load_started = Instant::now();
    let http_url = net.sequencer.rpc.http_url();
    let http: Vec<_> = load_rt.block_on(async {
        (0..ctx.senders.len())
            .map(|_| {
                HttpClientBuilder::default()
                    .request_timeout(Duration::from_secs(60))
                    .build(&http_url)
                    .map(Arc::new)
                    .with_context(|| format!("an HTTP client for {http_url}"))
            })
            .collect::<Result<_>>()
    })?;
    warm_up(load_rt, &http)?;
    runs.extend(ctx.transport("http", &http, fractions)?);
    drop(http);

    let ws_url = net.sequencer.rpc.ws_url();
    let ws: Vec<_> = load_rt.block_on(async {
        let mut clients = Vec::new();
        for _ in 0..ctx.senders.len() {
            let client = WsClientBuilder::default()
                .request_timeout(Duration::from_secs(60))
                .build(&ws_url)
                .await
                .with_context(|| format!("connecting to {ws_url}"))?;
            clients.push(Arc::new(client));
        }
        anyhow::Ok(clients)
    })?;
    warm_up(load_rt, &ws)?;
    runs.extend(ctx.transport("ws", &ws, fractions)?);
    drop(ws);
    let load_seconds = load_started.elapsed().as_secs_f64();
    let (sealed, posted, posts) = batch_backlog(&net.sequencer);
    note!(
        "[batch] after {load_seconds:.0} s of load: L2 head {sealed}, posted through block {posted} in {posts} posts ({} blocks waiting)",
        sealed - posted.min(sealed)
    );

    Ok(Report {
        bare,
        runs,
        signing_per_s,
        state_root,
        fit,
        backlog: Backlog {
            load_seconds,
            sealed,
            posted,
            posts,
        },
    })
}

/// What sealing a block costs the builder in rehashing the state tree when `count` of
/// `addresses` (and the sequencer) changed in it: `State::root` after one inference each.
fn state_root_ms(addresses: &[[u8; 20]], count: usize) -> Result<f64> {
    let sequencer = [0x5e; 20];
    let funded = Account {
        balance: 1 << 100,
        nonce: 0,
    };
    let mut state = State::from_accounts(addresses.iter().map(|a| (*a, funded)));
    state.root();
    // The median of five blocks.
    let mut times = Vec::new();
    for nonce in 0..5 {
        for address in &addresses[..count.min(addresses.len())] {
            state
                .apply_inference(address, nonce, 1, 1, &sequencer)
                .context("a synthetic inference")?;
        }
        let t = Instant::now();
        std::hint::black_box(state.root());
        times.push(t.elapsed());
    }
    times.sort();
    Ok(times[times.len() / 2].as_secs_f64() * 1e3)
}

/// What the batcher does per post, on its runtime worker: `fit` (encoding the batch data,
/// halving the range until it fits one post) over `batch_blocks` full blocks (each cut
/// at `max_block_bytes`, as under load), built from real requests and outputs.
struct FitCost {
    ms: f64,
    blocks_in: usize,
    blocks_kept: usize,
    records_kept: usize,
    records_per_block: usize,
    bytes: usize,
}

fn fit_cost(model: &ServedModel, pool: &[SignedRequestJson]) -> Result<FitCost> {
    let block = BlockConfig::default();
    let batcher = BatcherConfig::default();
    let mut txs = Vec::with_capacity(pool.len());
    for chunk in pool.chunks(BARE_BATCH) {
        let signed: Vec<_> = chunk
            .iter()
            .map(|r| r.to_signed().context("a pre-signed request"))
            .collect::<Result<_>>()?;
        let inputs: Vec<Tensor> = signed.iter().map(|s| s.request.input.clone()).collect();
        let outputs = model.run(&inputs).context("executing a batch")?;
        txs.extend(
            signed
                .into_iter()
                .zip(outputs)
                .map(|(signed, output)| InferenceTx {
                    signed,
                    output,
                    fee: model.fee,
                }),
        );
    }
    let mut bodies = Vec::new();
    let mut txs = txs.into_iter().cycle();
    for number in 1..=batcher.batch_blocks {
        // The builder's accounting: header and count, then each record until full.
        let mut bytes = HEADER_BYTES + 4;
        let mut inferences = Vec::new();
        while bytes < block.max_block_bytes && inferences.len() < block.max_block_records {
            let tx = txs.next().context("no transactions")?;
            let mut w = Writer::new();
            tx.encode(&mut w);
            bytes += w.finish().len();
            inferences.push(tx);
        }
        bodies.push(BlockBody {
            header: BlockHeader {
                number,
                record_count: inferences.len() as u32,
                ..BlockHeader::genesis()
            },
            inferences,
            withdrawals: vec![],
        });
    }
    let blocks_in = bodies.len();
    let records_per_block = bodies[0].inferences.len();
    let t = Instant::now();
    let data = fit(&mut bodies, batcher.max_batch_bytes);
    let ms = t.elapsed().as_secs_f64() * 1e3;
    Ok(FitCost {
        ms,
        blocks_in,
        blocks_kept: bodies.len(),
        records_kept: bodies.iter().map(|b| b.inferences.len()).sum(),
        records_per_block,
        bytes: data.len(),
    })
}

/// The batcher's position when the load stops: (sealed head, last posted block, posts).
fn batch_backlog(sequencer: &Sequencer) -> (u64, u64, u64) {
    let mut posted = (0, 0);
    while let Some(batch) = sequencer.batches().get(posted.1) {
        posted = (batch.header.last_block, posted.1 + 1);
    }
    (sequencer.chain().sealed().number, posted.0, posted.1)
}

/// One `verdict_chainInfo` per client, so every connection is open before timing starts.
fn warm_up<C: VerdictApiClient + Send + Sync + 'static>(
    load_rt: &tokio::runtime::Runtime,
    clients: &[Arc<C>],
) -> Result<()> {
    load_rt.block_on(async {
        let mut calls = tokio::task::JoinSet::new();
        for client in clients {
            let client = Arc::clone(client);
            calls.spawn(async move { client.chain_info().await });
        }
        while let Some(done) = calls.join_next().await {
            done.context("a warm-up task")?
                .context("verdict_chainInfo (warm-up)")?;
        }
        anyhow::Ok(())
    })
}

/// The bare loop's outcome.
struct Bare {
    requests: usize,
    per_s: f64,
    admit_us: f64,
    /// Of `admit_us`: the secp256k1 recovery alone.
    recover_us: f64,
    execute_us: f64,
}

/// Admits and executes `pool` (cycling) in batches of [`BARE_BATCH`] for `duration`.
fn bare_loop(
    models: &ModelSet,
    domain: &SigningDomain,
    pool: &[SignedRequestJson],
    duration: Duration,
) -> Result<Bare> {
    if pool.len() < BARE_BATCH {
        bail!("the bare loop needs at least {BARE_BATCH} requests");
    }
    let (mut admit_time, mut execute_time) = (Duration::ZERO, Duration::ZERO);
    let mut requests = 0;
    let started = Instant::now();
    let mut batches = pool.chunks_exact(BARE_BATCH).cycle();
    while started.elapsed() < duration {
        let Some(batch) = batches.next() else { break };
        let t = Instant::now();
        let admitted = batch
            .iter()
            .map(|r| admit(r, models, domain))
            .collect::<Result<Vec<_>, _>>()
            .context("admission refused a pre-signed request")?;
        admit_time += t.elapsed();
        let t = Instant::now();
        let inputs: Vec<Tensor> = admitted
            .iter()
            .map(|a| a.signed.request.input.clone())
            .collect();
        let outputs = admitted[0]
            .model
            .run(&inputs)
            .context("executing a batch")?;
        std::hint::black_box(outputs);
        execute_time += t.elapsed();
        requests += batch.len();
    }
    if requests == 0 {
        bail!("the bare loop ran no batch");
    }
    let per_s = requests as f64 / started.elapsed().as_secs_f64();
    let per_request = |d: Duration| d.as_secs_f64() * 1e6 / requests as f64;

    // Apart, untimed above: how much of admission is the signature recovery.
    let admitted = pool[..pool.len().min(BARE_BATCH * 8)]
        .iter()
        .map(|r| admit(r, models, domain))
        .collect::<Result<Vec<_>, _>>()
        .context("admission refused a pre-signed request")?;
    let t = Instant::now();
    for a in &admitted {
        let signature = Signature::from_raw(&a.signed.signature).context("a signature")?;
        let signer = signature
            .recover_address_from_prehash(&B256::from(a.request_hash))
            .context("recovering a signer")?;
        std::hint::black_box(signer);
    }
    let recover_us = t.elapsed().as_secs_f64() * 1e6 / admitted.len() as f64;
    Ok(Bare {
        requests,
        per_s,
        admit_us: per_request(admit_time),
        recover_us,
        execute_us: per_request(execute_time),
    })
}

/// One run's figures.
struct Run {
    transport: &'static str,
    /// `None`: closed loop.
    rate: Option<f64>,
    fraction: Option<f64>,
    senders: usize,
    sent: usize,
    answered: usize,
    errors: usize,
    first_error: Option<String>,
    seconds: f64,
    throughput: f64,
    latency: Percentiles,
    service: Percentiles,
    cpu: Option<Cpu>,
    /// Closed loop: a sender ran out of pre-signed requests before the time was up.
    ran_out: bool,
    /// L2 blocks sealed during the run.
    seals: usize,
    at_seal: AtSeal,
}

/// Whether slow requests are the ones a block seal fell into: a request "spans a seal"
/// when a sealed-block announcement arrived between its scheduled send and 5 ms after
/// its answer (the builder seals on its own thread, then the seal's write is committed
/// in order with the records', and the announcement follows that write).
#[derive(Clone, Copy, Default)]
struct AtSeal {
    /// Of the requests at or above the run's p99 latency.
    slow: f64,
    /// Of all requests (what chance alone gives).
    all: f64,
}

impl AtSeal {
    fn of(spans: &[(Instant, Instant)], seals: &[Instant], p99_ms: f64) -> Self {
        if spans.is_empty() {
            return Self::default();
        }
        let spans_seal = |&(from, to): &(Instant, Instant)| {
            let first = seals.partition_point(|&t| t < from);
            seals
                .get(first)
                .is_some_and(|&t| t <= to + Duration::from_millis(5))
        };
        let threshold = Duration::from_secs_f64(p99_ms / 1e3);
        let slow: Vec<_> = spans.iter().filter(|(f, t)| *t - *f >= threshold).collect();
        let share = |n: usize, of: usize| if of == 0 { 0.0 } else { n as f64 / of as f64 };
        Self {
            slow: share(slow.iter().filter(|s| spans_seal(s)).count(), slow.len()),
            all: share(spans.iter().filter(|s| spans_seal(s)).count(), spans.len()),
        }
    }
}

#[derive(Clone, Copy, Default)]
struct Percentiles {
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
}

impl Percentiles {
    fn of(mut micros: Vec<u32>) -> Self {
        if micros.is_empty() {
            return Self::default();
        }
        micros.sort_unstable();
        let at = |q: f64| {
            let rank = ((q * micros.len() as f64).ceil() as usize).clamp(1, micros.len());
            f64::from(micros[rank - 1]) / 1e3
        };
        Self {
            p50_ms: at(0.5),
            p99_ms: at(0.99),
            max_ms: at(1.0),
        }
    }
}

/// How one sender paces its requests.
#[derive(Clone, Copy)]
enum Pace {
    /// Back to back until `until`.
    Closed { until: Instant },
    /// Request `j` at `first + j * period`; nothing is sent after `give_up`.
    Open {
        first: Instant,
        period: Duration,
        give_up: Instant,
    },
}

/// One sender's outcome.
#[derive(Default)]
struct SenderRun {
    /// Scheduled send (closed loop: send) to answer, µs.
    latency: Vec<u32>,
    /// Send to answer, µs.
    service: Vec<u32>,
    /// (scheduled send, answer) of each answered request.
    spans: Vec<(Instant, Instant)>,
    sent: usize,
    errors: usize,
    first_error: Option<String>,
    last_answer: Option<Instant>,
    unsent: Vec<SignedRequestJson>,
    ran_out: bool,
}

async fn send_all<C: VerdictApiClient + Send + Sync>(
    client: Arc<C>,
    requests: Vec<SignedRequestJson>,
    pace: Pace,
) -> SenderRun {
    let mut run = SenderRun::default();
    let mut requests = requests.into_iter();
    let mut j = 0u32;
    while let Some(request) = requests.next() {
        let now = Instant::now();
        let scheduled = match pace {
            Pace::Closed { until } if now >= until => None,
            Pace::Closed { .. } => Some(now),
            Pace::Open { give_up, .. } if now >= give_up => None,
            Pace::Open { first, period, .. } => Some(first + period * j),
        };
        let Some(scheduled) = scheduled else {
            run.unsent.push(request);
            run.unsent.extend(requests);
            return run;
        };
        if scheduled > now {
            tokio::time::sleep_until(scheduled.into()).await;
        }
        j += 1;
        let sent = Instant::now();
        run.sent += 1;
        match client.send_inference(request).await {
            Ok(receipt) => {
                let done = Instant::now();
                std::hint::black_box(receipt);
                let micros = |from: Instant| (done - from).as_micros().min(u32::MAX as u128) as u32;
                run.latency.push(micros(scheduled));
                run.service.push(micros(sent));
                run.spans.push((scheduled, done));
                run.last_answer = Some(done);
            }
            Err(e) => {
                run.errors += 1;
                run.first_error.get_or_insert_with(|| e.to_string());
            }
        }
    }
    run.ran_out = matches!(pace, Pace::Closed { until } if Instant::now() < until);
    run
}

/// What every run needs.
struct Ctx<'a> {
    args: &'a Args,
    net: &'a Net,
    load_rt: &'a tokio::runtime::Runtime,
    template: &'a Template<'a>,
    senders: &'a mut Vec<Sender>,
    bare_per_s: f64,
}

impl Ctx<'_> {
    /// The closed-loop maximum over `clients`, then each fraction of it in open loop.
    fn transport<C: VerdictApiClient + Send + Sync + 'static>(
        &mut self,
        transport: &'static str,
        clients: &[Arc<C>],
        fractions: &[f64],
    ) -> Result<Vec<Run>> {
        let mut runs = Vec::new();
        let closed = self.run(transport, clients, None)?;
        let max = closed.throughput;
        runs.push(closed);
        for &fraction in fractions {
            runs.push(self.run(transport, clients, Some((fraction, max * fraction)))?);
        }
        Ok(runs)
    }

    /// One run: closed loop when `open` is `None`, else `(fraction, rate)`.
    fn run<C: VerdictApiClient + Send + Sync + 'static>(
        &mut self,
        transport: &'static str,
        clients: &[Arc<C>],
        open: Option<(f64, f64)>,
    ) -> Result<Run> {
        let seconds = self.args.seconds_per_rate;
        let count = match open {
            None => self.args.closed_senders,
            Some(_) => self.args.senders,
        };
        // Requests each sender may send: its slots in open loop; in closed loop enough for
        // 1.5 times the bare loop's rate (admission runs in parallel on the RPC threads, so
        // the end-to-end rate may pass the one-thread loop), after which a sender stops.
        let per_sender: Vec<usize> = (0..count)
            .map(|s| match open {
                None => (1.5 * self.bare_per_s * seconds / count as f64).ceil() as usize + 2,
                Some((_, rate)) => {
                    ((seconds * rate - s as f64) / count as f64).ceil().max(0.0) as usize
                }
            })
            .collect();
        top_up(&mut self.senders[..count], &per_sender, self.template)?;
        let label = match open {
            None => format!("{transport} closed loop, {count} senders"),
            Some((fraction, rate)) => format!(
                "{transport} open loop {:.0} % = {rate:.0}/s, {count} senders",
                fraction * 100.0
            ),
        };
        note!("[run] {label}, {seconds} s…");

        let batches: Vec<Vec<SignedRequestJson>> = self.senders[..count]
            .iter_mut()
            .zip(&per_sender)
            .map(|(sender, &n)| sender.queue.drain(..n).collect())
            .collect();
        let cpu_before = Cpu::now();
        let t0 = Instant::now() + Duration::from_millis(50);
        let span = Duration::from_secs_f64(seconds);
        let (seals, stop_seals) = self.watch_seals();
        let outcomes = self.load_rt.block_on(async {
            let mut tasks = Vec::with_capacity(count);
            for (s, requests) in batches.into_iter().enumerate() {
                let pace = match open {
                    None => Pace::Closed { until: t0 + span },
                    Some((_, rate)) => Pace::Open {
                        first: t0 + Duration::from_secs_f64(s as f64 / rate),
                        period: Duration::from_secs_f64(count as f64 / rate),
                        give_up: t0 + span.mul_f64(1.6) + Duration::from_secs(1),
                    },
                };
                let client = Arc::clone(&clients[s]);
                tasks.push(tokio::spawn(async move {
                    tokio::time::sleep_until(t0.into()).await;
                    send_all(client, requests, pace).await
                }));
            }
            let mut outcomes = Vec::with_capacity(count);
            for task in tasks {
                outcomes.push(task.await.context("a sender task")?);
            }
            anyhow::Ok(outcomes)
        })?;
        let cpu = cpu_before
            .zip(Cpu::now())
            .map(|(before, after)| after.minus(&before));
        let _ = stop_seals.send(());
        let seals = self.load_rt.block_on(seals).context("the block watcher")?;

        let last = outcomes.iter().filter_map(|o| o.last_answer).max();
        let elapsed = last.map_or(seconds, |l| (l - t0).as_secs_f64());
        let mut run = Run {
            transport,
            rate: open.map(|(_, rate)| rate),
            fraction: open.map(|(fraction, _)| fraction),
            senders: count,
            sent: 0,
            answered: 0,
            errors: 0,
            first_error: None,
            seconds: elapsed,
            throughput: 0.0,
            latency: Percentiles::default(),
            service: Percentiles::default(),
            cpu: cpu.map(|c| c.per_second(elapsed)),
            ran_out: false,
            seals: seals.len(),
            at_seal: AtSeal::default(),
        };
        let (mut latency, mut service, mut spans) = (Vec::new(), Vec::new(), Vec::new());
        for (sender, outcome) in self.senders.iter_mut().zip(outcomes) {
            run.sent += outcome.sent;
            run.answered += outcome.latency.len();
            run.errors += outcome.errors;
            run.ran_out |= outcome.ran_out;
            if run.first_error.is_none() {
                run.first_error = outcome.first_error;
            }
            latency.extend(outcome.latency);
            service.extend(outcome.service);
            spans.extend(outcome.spans);
            for request in outcome.unsent.into_iter().rev() {
                sender.queue.push_front(request);
            }
        }
        run.throughput = run.answered as f64 / elapsed;
        run.latency = Percentiles::of(latency);
        run.service = Percentiles::of(service);
        run.at_seal = AtSeal::of(&spans, &seals, run.latency.p99_ms);
        self.resync(count);
        note!(
            "[run]   {:.0} answered/s, p50 {:.1} ms, p99 {:.1} ms; {:.0} % of p99 requests span \
             a block seal ({:.0} % of all); {} errors{}",
            run.throughput,
            run.latency.p50_ms,
            run.latency.p99_ms,
            run.at_seal.slow * 100.0,
            run.at_seal.all * 100.0,
            run.errors,
            run.first_error
                .as_deref()
                .map(|e| format!(" (first: {e})"))
                .unwrap_or_default()
        );
        Ok(run)
    }

    /// Collects when each sealed block is announced, until told to stop.
    fn watch_seals(
        &self,
    ) -> (
        tokio::task::JoinHandle<Vec<Instant>>,
        tokio::sync::oneshot::Sender<()>,
    ) {
        let mut events = self.net.sequencer.chain().events.subscribe();
        let (stop, mut stopped) = tokio::sync::oneshot::channel();
        let task = self.load_rt.spawn(async move {
            let mut seals = Vec::new();
            loop {
                tokio::select! {
                    _ = &mut stopped => return seals,
                    event = events.recv() => match event {
                        Ok(_) => seals.push(Instant::now()),
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => return seals,
                    },
                }
            }
        });
        (task, stop)
    }

    /// After errors a sender's next nonce may differ from its queue's first: drop what
    /// the chain already took, and re-sign from the chain's nonce after a gap.
    fn resync(&mut self, count: usize) {
        for sender in &mut self.senders[..count] {
            let nonce = self.net.sequencer.chain().account(&sender.address).nonce;
            while sender
                .queue
                .front()
                .is_some_and(|r| r.nonce.to::<u64>() < nonce)
            {
                sender.queue.pop_front();
            }
            let in_order = match sender.queue.front() {
                Some(r) => r.nonce.to::<u64>() == nonce,
                None => sender.next_nonce == nonce,
            };
            if !in_order {
                sender.queue.clear();
                sender.next_nonce = nonce;
            }
        }
    }
}

/// CPU seconds by thread group, from `/proc/self/task` (Linux; `None` elsewhere).
#[derive(Clone, Copy, Default)]
struct Cpu {
    client: f64,
    builder: f64,
    commit: f64,
    other: f64,
    /// Busy CPU of the whole machine (`/proc/stat`): what is not this process is other
    /// programs competing for the same cores.
    machine: f64,
}

impl Cpu {
    fn now() -> Option<Self> {
        // Clock ticks per second: 100 on every Linux this runs on (USER_HZ).
        const TICKS: f64 = 100.0;
        let mut cpu = Self::default();
        for task in std::fs::read_dir("/proc/self/task").ok()? {
            let dir = task.ok()?.path();
            let (Ok(comm), Ok(stat)) = (
                std::fs::read_to_string(dir.join("comm")),
                std::fs::read_to_string(dir.join("stat")),
            ) else {
                continue; // the thread ended meanwhile
            };
            // Fields after the command's closing parenthesis: state is the first, utime
            // and stime the 12th and 13th.
            let Some((_, rest)) = stat.rsplit_once(')') else {
                continue;
            };
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let ticks: f64 = fields
                .get(11..13)
                .into_iter()
                .flatten()
                .filter_map(|f| f.parse::<f64>().ok())
                .sum();
            let seconds = ticks / TICKS;
            let comm = comm.trim();
            if comm.starts_with("load") {
                cpu.client += seconds;
            } else if comm.starts_with("verdict-builder") {
                cpu.builder += seconds;
            } else if comm.starts_with("store-group") {
                cpu.commit += seconds;
            } else {
                cpu.other += seconds;
            }
        }
        // The first line of /proc/stat: user nice system idle iowait irq softirq steal …
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let ticks: Vec<f64> = stat
            .lines()
            .next()?
            .split_whitespace()
            .skip(1)
            .take(8)
            .filter_map(|f| f.parse().ok())
            .collect();
        if ticks.len() == 8 {
            cpu.machine = (ticks.iter().sum::<f64>() - ticks[3] - ticks[4]) / TICKS;
        }
        Some(cpu)
    }

    /// Busy cores outside this process.
    fn others(&self) -> f64 {
        (self.machine - self.client - self.builder - self.commit - self.other).max(0.0)
    }

    fn minus(&self, before: &Self) -> Self {
        Self {
            client: self.client - before.client,
            builder: self.builder - before.builder,
            commit: self.commit - before.commit,
            other: self.other - before.other,
            machine: self.machine - before.machine,
        }
    }

    fn per_second(&self, seconds: f64) -> Self {
        Self {
            client: self.client / seconds,
            builder: self.builder / seconds,
            commit: self.commit / seconds,
            other: self.other / seconds,
            machine: self.machine / seconds,
        }
    }

    fn to_json(self) -> Value {
        json!({
            "client": self.client,
            "builder": self.builder,
            "group_commit": self.commit,
            "other_sequencer_and_l1": self.other,
            "other_programs": self.others(),
        })
    }
}

impl Report {
    /// The best closed-loop throughput over the transports.
    fn e2e_max(&self) -> f64 {
        self.runs
            .iter()
            .filter(|r| r.rate.is_none())
            .map(|r| r.throughput)
            .fold(0.0, f64::max)
    }

    /// p99 of the open-loop run at half the closed-loop maximum, per transport.
    fn p99_at_half(&self, transport: &str) -> Option<f64> {
        self.runs
            .iter()
            .find(|r| r.transport == transport && r.fraction == Some(0.5))
            .map(|r| r.latency.p99_ms)
    }

    fn to_json(&self, args: &Args) -> Value {
        let ratio = self.e2e_max() / self.bare.per_s;
        let half: serde_json::Map<String, Value> = ["http", "ws"]
            .into_iter()
            .filter_map(|t| self.p99_at_half(t).map(|p| (t.to_string(), json!(p))))
            .collect();
        let runs: Vec<Value> = self
            .runs
            .iter()
            .map(|r| {
                json!({
                    "transport": r.transport,
                    "mode": if r.rate.is_some() { "open" } else { "closed" },
                    "rate": r.rate,
                    "fraction_of_max": r.fraction,
                    "senders": r.senders,
                    "sent": r.sent,
                    "answered": r.answered,
                    "seconds": r.seconds,
                    "throughput": r.throughput,
                    "p50_ms": r.latency.p50_ms,
                    "p99_ms": r.latency.p99_ms,
                    "max_ms": r.latency.max_ms,
                    "service_p50_ms": r.service.p50_ms,
                    "service_p99_ms": r.service.p99_ms,
                    "service_max_ms": r.service.max_ms,
                    "errors": r.errors,
                    "first_error": r.first_error,
                    "ran_out_of_requests": r.ran_out,
                    "blocks_sealed": r.seals,
                    "share_of_p99_requests_spanning_a_seal": r.at_seal.slow,
                    "share_of_all_requests_spanning_a_seal": r.at_seal.all,
                    "cpu_cores": r.cpu.map(Cpu::to_json),
                })
            })
            .collect();
        json!({
            "model": MODEL,
            "profile": if cfg!(debug_assertions) { "dev" } else { "release" },
            "cpus": std::thread::available_parallelism().map_or(1, |n| n.get()),
            "seconds_per_rate": args.seconds_per_rate,
            "senders": args.senders,
            "closed_senders": args.closed_senders,
            "quick": args.quick,
            "no_posting": args.no_posting,
            "clients": "jsonrpsee, one client (one connection) per sender",
            "latency_from": "scheduled send time (open loop), send time (closed loop)",
            "client_signing_per_s": self.signing_per_s,
            "bare_loop": {
                "batch": BARE_BATCH,
                "requests": self.bare.requests,
                "requests_per_s": self.bare.per_s,
                "admit_us_per_request": self.bare.admit_us,
                "of_which_recover_us_per_request": self.bare.recover_us,
                "execute_us_per_request": self.bare.execute_us,
            },
            "seal_state_root_ms": self
                .state_root
                .iter()
                .map(|(n, ms)| json!({"changed_accounts": n, "ms": ms}))
                .collect::<Vec<_>>(),
            "batcher": {
                "fit_ms": self.fit.ms,
                "fit_blocks_in": self.fit.blocks_in,
                "records_per_full_block": self.fit.records_per_block,
                "blocks_per_post": self.fit.blocks_kept,
                "records_per_post": self.fit.records_kept,
                "bytes_per_post": self.fit.bytes,
                "load_seconds": self.backlog.load_seconds,
                "l2_head_at_end": self.backlog.sealed,
                "posted_through_block_at_end": self.backlog.posted,
                "posts_at_end": self.backlog.posts,
            },
            "runs": runs,
            "ratios": {
                "e2e_max_per_s": self.e2e_max(),
                "e2e_max_over_bare": ratio,
                "e2e_max_over_bare_goal": GOAL_RATIO,
                "e2e_max_over_bare_met": ratio >= GOAL_RATIO,
                "p99_ms_at_half_max": half,
                "p99_ms_at_half_max_goal": GOAL_P99_MS,
                "p99_ms_at_half_max_met": !half.is_empty()
                    && half.values().all(|v| v.as_f64().is_some_and(|p| p < GOAL_P99_MS)),
            },
        })
    }
}

fn print_report(report: &Report) {
    let profile = if cfg!(debug_assertions) {
        "dev"
    } else {
        "release"
    };
    println!();
    println!(
        "sequencer load, {MODEL}, {profile} profile, {} CPUs",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!(
        "bare loop (admit + execute, batch {BARE_BATCH}, one thread): {:.0} requests/s \
         (admit {:.1} µs, of which secp256k1 recovery {:.1} µs, + execute {:.1} µs per request)",
        report.bare.per_s, report.bare.admit_us, report.bare.recover_us, report.bare.execute_us
    );
    println!();
    println!(
        "{:<5} {:<11} {:>7} {:>10} {:>11} {:>8} {:>8} {:>8} {:>6} {:>9}   {:>36}",
        "",
        "load",
        "senders",
        "offered/s",
        "answered/s",
        "p50 ms",
        "p99 ms",
        "max ms",
        "errors",
        "p99@seal",
        "cores: client builder commit other | others"
    );
    for r in &report.runs {
        let load = match r.fraction {
            Some(f) => format!("open {:.0}%", f * 100.0),
            None => "closed".to_string(),
        };
        let offered = r
            .rate
            .map_or_else(|| "-".to_string(), |x| format!("{x:.0}"));
        let cpu = r.cpu.map_or_else(String::new, |c| {
            format!(
                "{:>6.2} {:>7.2} {:>6.2} {:>5.2} | {:>6.2}",
                c.client,
                c.builder,
                c.commit,
                c.other,
                c.others()
            )
        });
        println!(
            "{:<5} {:<11} {:>7} {:>10} {:>11.0} {:>8.1} {:>8.1} {:>8.1} {:>6} {:>8.0}%   {:>36}{}",
            r.transport,
            load,
            r.senders,
            offered,
            r.throughput,
            r.latency.p50_ms,
            r.latency.p99_ms,
            r.latency.max_ms,
            r.errors,
            r.at_seal.slow * 100.0,
            cpu,
            if r.ran_out {
                "  (ran out of signed requests)"
            } else {
                ""
            }
        );
    }
    println!(
        "p99@seal: share of the requests at or above the run's p99 during which a block was sealed"
    );
    println!("others: busy cores of other programs on the machine during the run");
    for (n, ms) in &report.state_root {
        println!("sealing a block with {n} changed accounts: {ms:.1} ms of state-tree rehashing");
    }
    let b = &report.backlog;
    println!(
        "batcher: one post holds {} full blocks ({} records, {} bytes); fit took {:.1} ms; \
         after {:.0} s of load, L2 head {} but posted through block {} ({} posts)",
        report.fit.blocks_kept,
        report.fit.records_kept,
        report.fit.bytes,
        report.fit.ms,
        b.load_seconds,
        b.sealed,
        b.posted,
        b.posts
    );
    println!();
    let ratio = report.e2e_max() / report.bare.per_s;
    println!(
        "end-to-end max / bare loop: {:.0} / {:.0} = {ratio:.2} (goal >= {GOAL_RATIO}: {})",
        report.e2e_max(),
        report.bare.per_s,
        if ratio >= GOAL_RATIO {
            "met"
        } else {
            "NOT met"
        }
    );
    for transport in ["http", "ws"] {
        if let Some(p99) = report.p99_at_half(transport) {
            println!(
                "p99 at half the {transport} max: {p99:.1} ms (goal < {GOAL_P99_MS} ms: {})",
                if p99 < GOAL_P99_MS { "met" } else { "NOT met" }
            );
        }
    }
}
