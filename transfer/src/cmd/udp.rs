//! `send-udp` and `receive-udp`: the one-way UDP carrier with forward error correction.

use std::io::Write as _;
use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use keys::exit::{Outcome, stdout};
use transfer::diode::{self, ReceiveEvent, ReceiveSettings, SendSettings};

use crate::Global;

/// Send every complete bundle in a directory over a one-way UDP link, with forward error
/// correction (RaptorQ) so that the receiver can repair lost datagrams without asking.
#[derive(Debug, clap::Args)]
pub struct SendArgs {
    /// Directory to take bundles from (an outbox).
    #[arg(long)]
    from: PathBuf,
    /// Receiver's address, HOST:PORT.
    #[arg(long)]
    to: SocketAddr,
    /// Local address to send from.
    #[arg(long, default_value = "0.0.0.0:0")]
    bind: SocketAddr,
    /// Bytes of every datagram (UDP payload), 256 to 9000; both ends' link must carry it.
    #[arg(long, default_value_t = diode::DEFAULT_DATAGRAM_BYTES)]
    datagram_bytes: usize,
    /// Line rate not to exceed, bytes of UDP payload per second.
    #[arg(long, default_value_t = 10_000_000)]
    rate: u64,
    /// Repair symbols per source block, as a percentage of its source symbols (at least two):
    /// the share of datagrams the link may lose.
    #[arg(long, default_value_t = 25, value_parser = clap::value_parser!(u32).range(0..=400))]
    repair_percent: u32,
    /// Move each file here once sent (default: leave it, and send it again next run).
    #[arg(long)]
    sent: Option<PathBuf>,
}

/// Receive bundles sent with send-udp and write each into a directory once it is complete and
/// matches its header; report sessions that stop short, writing nothing of them.
#[derive(Debug, clap::Args)]
pub struct ReceiveArgs {
    /// Address to listen on, HOST:PORT.
    #[arg(long)]
    listen: SocketAddr,
    /// Directory to write complete bundles into (an inbox).
    #[arg(long)]
    to: PathBuf,
    /// Seconds without a datagram after which an open session is given up as incomplete.
    #[arg(long, default_value_t = 30)]
    session_timeout: u64,
    /// Exit once this many seconds pass with no datagram and no open session (default: run
    /// until stopped, as a service).
    #[arg(long)]
    idle_exit: Option<u64>,
}

/// Runs `send-udp`.
pub fn send(global: &Global, args: &SendArgs) -> anyhow::Result<Outcome> {
    let socket = UdpSocket::bind(args.bind)
        .map_err(|e| anyhow::anyhow!("binding {} to send from: {e}", args.bind))?;
    let settings = SendSettings {
        datagram_bytes: args.datagram_bytes,
        bytes_per_second: args.rate,
        repair_percent: args.repair_percent,
        sent_dir: args.sent.clone(),
        ..SendSettings::defaults()
    };
    let report = diode::send_dir(&socket, args.to, &args.from, &settings)?;
    if global.json() {
        keys::exit::print_json(&serde_json::to_value(&report)?)?;
    } else {
        let goodput: u64 = report.sent.iter().map(|f| f.bytes).sum();
        writeln!(
            stdout(),
            "sent {} bundle(s), {} bytes in {} datagrams, {:.1} s ({:.0} bytes/s of files, line \
             rate {} bytes/s); {} incomplete left in place",
            report.sent.len(),
            goodput,
            report.datagrams,
            report.seconds,
            goodput as f64 / report.seconds.max(1e-9),
            report.line_rate,
            report.incomplete.len()
        )?;
        for (name, reason) in &report.incomplete {
            writeln!(stdout(), "  incomplete: {name}: {reason}")?;
        }
    }
    Ok(Outcome::of(report.sent.len(), 0))
}

/// Runs `receive-udp`.
pub fn receive(global: &Global, args: &ReceiveArgs) -> anyhow::Result<Outcome> {
    let socket = UdpSocket::bind(args.listen)
        .map_err(|e| anyhow::anyhow!("listening on {}: {e}", args.listen))?;
    let settings = ReceiveSettings {
        session_timeout: Duration::from_secs(args.session_timeout.max(1)),
        ..ReceiveSettings::defaults(args.to.clone())
    };
    let json = global.json();
    let report = diode::receive(
        &socket,
        settings,
        args.idle_exit.map(Duration::from_secs),
        &AtomicBool::new(false),
        |event| {
            if !json {
                let line = match event {
                    ReceiveEvent::Written { name, bytes } => {
                        format!("written: {name} ({bytes} bytes)")
                    }
                    ReceiveEvent::AlreadyThere { name } => format!("already there: {name}"),
                    ReceiveEvent::Incomplete { name, reason } => {
                        format!(
                            "incomplete: {}: {reason}",
                            name.as_deref().unwrap_or("(no header)")
                        )
                    }
                    ReceiveEvent::Refused { .. } | ReceiveEvent::Heartbeat { .. } => return,
                };
                let _ = writeln!(stdout(), "{line}");
            }
        },
    )?;
    if json {
        keys::exit::print_json(&serde_json::to_value(&report)?)?;
    }
    Ok(Outcome::of(
        report.written.len() + report.already_there.len(),
        report.incomplete.len(),
    ))
}
