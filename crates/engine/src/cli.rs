//! The command line of `simrelay`: `serve`, `ports`, `ussd`, `decode-pdu`, `extract`, `config`, `token`, `copy-db`.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use simrelay_engine::config::{self, ConfigFileArg, EngineArgs, Resolved};
use simrelay_engine::Engine;

/// SimRelay: a GSM modem on a serial port as a live SMS inbox, with verification codes up front.
#[derive(Debug, Parser)]
#[command(name = "simrelay", version, about)]
pub struct Cli {
    #[command(flatten)]
    file: ConfigFileArg,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the engine: read the modems, keep the history, serve the web UI and the API.
    Serve(EngineArgs),
    /// List serial ports with their USB identity and say which answer like a modem (AT, ATI, AT+CGMM only).
    Ports {
        /// Probe only these ports instead of every serial port the OS lists.
        #[arg(value_name = "PATH")]
        ports: Vec<String>,
        /// Print one JSON object per port instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Send a USSD code (*100# for the balance, or a menu choice) through a modem and print the network's reply.
    /// Opens the port itself, like `ports`: stop a relay that uses the modem first, or use its API instead
    /// (POST /api/modems/{id}/ussd).
    Ussd {
        /// The modem's serial port (/dev/ttyUSB2, /dev/serial/by-id/...).
        #[arg(long, value_name = "PORT")]
        modem: String,
        /// The code, such as *100#.
        code: String,
        /// Print {"reply": ..., "session_open": ...} instead of the text.
        #[arg(long)]
        json: bool,
    },
    /// Decode one PDU (hex, as AT+CMGR prints it, with the SMSC field) and print it as JSON.
    DecodePdu {
        /// The PDU in hex.
        hex: String,
    },
    /// Show the main access token, or manage the tokens of paired devices (stored hashed in tokens.toml in the
    /// state directory, by default the config file's).
    #[command(subcommand)]
    Token(TokenCommand),
    /// Print the effective configuration (defaults < config file < SIMRELAY_* environment < these flags, as
    /// `serve` would use it) and the paths used.
    Config(EngineArgs),
    /// Copy a whole message database into a new, empty one: an SQLite relay's history into the PostgreSQL
    /// database of a cluster (docs/SCALING.md), or back into a file. Stop the relay first. Its paired devices
    /// go along (from tokens.toml into the database, or back), so no phone needs pairing again.
    CopyDb {
        /// The database to read: an SQLite file or a postgres:// URL.
        #[arg(long, value_name = "FILE|URL")]
        from: PathBuf,
        /// The database to write (it must hold no message yet): an SQLite file or a postgres:// URL.
        #[arg(long, value_name = "FILE|URL")]
        to: PathBuf,
        /// The node the copied modems belong to in the target (the `node` the relay will run as).
        #[arg(long, value_name = "NAME", default_value = "")]
        node: String,
        /// The single relay's paired-devices file: read when copying from SQLite, added to when copying into
        /// SQLite. Default: tokens.toml in the state directory (as `simrelay token list` uses it).
        #[arg(long, value_name = "FILE")]
        tokens: Option<PathBuf>,
        /// Copy only the paired devices (a device already there is kept, so this may run again): for a relay
        /// whose history is not copied, such as a second relay joining a cluster that holds messages already.
        #[arg(long)]
        devices_only: bool,
    },
    /// Read one message per line from stdin (text, or JSON {"text": ...}); print {"code": ...} per line.
    Extract {
        /// Add the extractor's reasoning to each line.
        #[arg(long)]
        explain: bool,
    },
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Print the main access token (the configured one, else the one kept in the state directory, made now if
    /// there is none yet).
    Show,
    /// Print a new random token, good for the `token` setting; nothing is stored.
    Generate,
    /// Create a token for a device and print it (it is shown only this once).
    Add {
        /// A name for the device, e.g. phone.
        name: String,
        /// What it may do, comma-separated: read (messages, codes), send (SMS), admin (settings, hooks,
        /// modems, devices).
        #[arg(long, value_name = "SCOPES", default_value = "read,send")]
        scopes: String,
    },
    /// List the paired devices with their scopes.
    List,
    /// Revoke a device's token.
    Revoke {
        /// The device's name.
        name: String,
    },
}

impl Cli {
    /// Runs the chosen command; errors are printed as one line each and become a non-zero exit code.
    pub fn run(self) -> ExitCode {
        let result = match self.command {
            Command::Serve(flags) => serve(&self.file, &flags),
            Command::Config(flags) => print_config(&self.file, &flags),
            Command::Token(command) => token(&self.file, command),
            Command::Ports { ports, json } => list_ports(ports, json),
            Command::DecodePdu { hex } => decode_pdu(&hex),
            Command::Ussd { modem, code, json } => ussd(&self.file, &modem, &code, json),
            Command::Extract { explain } => extract(explain),
            Command::CopyDb {
                from,
                to,
                node,
                tokens,
                devices_only,
            } => copy_db(
                &self.file,
                &CopyDb {
                    from,
                    to,
                    node,
                    tokens,
                    devices_only,
                },
            ),
        };
        match result {
            Ok(code) => code,
            Err(e) => {
                eprintln!("simrelay: {e:#}");
                ExitCode::FAILURE
            }
        }
    }
}

/// How long `simrelay ussd` waits for the modem to be ready for the request (a SIM800L takes about 10 s).
const USSD_CONNECT_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

fn ussd(file: &ConfigFileArg, port: &str, code: &str, json: bool) -> anyhow::Result<ExitCode> {
    use simrelay_modem::{LinkState, ModemConfig, ModemEvent};
    let request = simrelay_protocol::UssdRequest {
        code: code.trim().to_owned(),
    };
    if let Some(problem) = request.problem() {
        anyhow::bail!("{problem}");
    }
    // The SIM PIN configured for this port, if the SIM asks for one.
    let pin = config::resolve_from_env(file, &EngineArgs::default())
        .ok()
        .and_then(|r| r.config.modem_pins.get(port).cloned());
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let reply = runtime.block_on(async {
        let (modem, mut events) = simrelay_modem::spawn(ModemConfig {
            port: port.to_owned(),
            pin,
            ..ModemConfig::default()
        });
        let connected = tokio::time::timeout(USSD_CONNECT_WAIT, async {
            while let Some(event) = events.recv().await {
                if let ModemEvent::Status(status) = event {
                    match status.state {
                        LinkState::Connected => return Ok(()),
                        LinkState::Failed | LinkState::PinRequired | LinkState::PukRequired => {
                            return Err(status.last_error.unwrap_or_else(|| format!("{:?}", status.state)))
                        }
                        LinkState::Disconnected if status.last_error.is_some() => {
                            return Err(status.last_error.unwrap_or_default())
                        }
                        _ => {}
                    }
                }
            }
            Err("the modem driver stopped".to_owned())
        })
        .await;
        let result = match connected {
            Ok(Ok(())) => {
                // Messages and statuses that arrive meanwhile are not this command's business; the SIM keeps
                // its messages for the relay.
                tokio::spawn(async move { while events.recv().await.is_some() {} });
                modem
                    .ussd(request.code.clone())
                    .await
                    .map_err(|e| anyhow::anyhow!("the USSD request failed: {e}"))
            }
            Ok(Err(why)) => Err(anyhow::anyhow!("cannot use the modem on {port}: {why}")),
            Err(_) => Err(anyhow::anyhow!(
                "the modem on {port} was not ready within {} s; is it plugged in, and not used by a running relay?",
                USSD_CONNECT_WAIT.as_secs()
            )),
        };
        modem.shutdown().await;
        result
    })?;
    if json {
        let body = simrelay_protocol::UssdReply {
            reply: reply.reply,
            session_open: reply.session_open,
        };
        println!(
            "{}",
            serde_json::to_string(&body).context("cannot print the reply")?
        );
    } else {
        println!("{}", reply.reply);
        if reply.session_open {
            eprintln!(
                "(the network waits for an answer: run simrelay ussd --modem {port} <choice>)"
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `simrelay copy-db`'s arguments.
struct CopyDb {
    from: PathBuf,
    to: PathBuf,
    node: String,
    tokens: Option<PathBuf>,
    devices_only: bool,
}

fn copy_db(file: &ConfigFileArg, args: &CopyDb) -> anyhow::Result<ExitCode> {
    use simrelay_engine::store::{Location, Store, StoreError};
    let (from, to) = (Location::of(&args.from), Location::of(&args.to));
    if let Location::Sqlite(path) = &from {
        // Opening a missing file would make an empty database there and copy nothing.
        anyhow::ensure!(
            path.exists(),
            "{} does not exist; name the relay's database with --from (`simrelay config` shows where it is)",
            path.display()
        );
    }
    let tokens_file = || -> anyhow::Result<PathBuf> {
        if let Some(path) = &args.tokens {
            return Ok(path.clone());
        }
        let resolved = config::resolve_from_env(file, &EngineArgs::default())
            .context("cannot find the paired-devices file; name it with --tokens FILE")?;
        Ok(resolved
            .config
            .tokens_path()
            .unwrap_or_else(|| resolved.paths.tokens_file()))
    };
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async {
        let source = Store::open_node(&from, &args.node)
            .await
            .with_context(|| format!("cannot open {from}"))?;
        let target = Store::open_node(&to, &args.node)
            .await
            .with_context(|| format!("cannot open {to}"))?;
        let result = async {
            if !args.devices_only {
                let report = source.copy_into(&target).await.map_err(|e| {
                    let hint = match e {
                        StoreError::NotEmpty => {
                            " (to copy only the paired devices, add --devices-only)"
                        }
                        _ => "",
                    };
                    anyhow::anyhow!("cannot copy {from} into {to}: {e}{hint}")
                })?;
                println!(
                    "copied {} messages, {} raw PDUs, {} sent messages, {} calls, {} settings, {} modem records \
                     and {} other records (corrections, read marks, provider reports, signal samples, the \
                     webhook signing key) from {from} to {to}",
                    report.messages,
                    report.pdus,
                    report.sent,
                    report.calls,
                    report.settings,
                    report.modems,
                    report.other
                );
            }
            let devices = copy_devices(&source, &target, tokens_file).await;
            if args.devices_only {
                return devices;
            }
            devices.context(
                "the history was copied, the paired devices were not; once this is fixed, run copy-db again \
                 with --devices-only",
            )
        }
        .await;
        source.close().await;
        target.close().await;
        result
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Moves the paired devices along with a copy: a relay on SQLite keeps them in its tokens file, a cluster in
/// its database. Only names and counts are printed, never a token or its hash.
async fn copy_devices(
    source: &simrelay_engine::store::Store,
    target: &simrelay_engine::store::Store,
    tokens_file: impl FnOnce() -> anyhow::Result<PathBuf>,
) -> anyhow::Result<()> {
    use simrelay_engine::tokens;
    let (from_file, into_file) = (source.backend() == "sqlite", target.backend() == "sqlite");
    if from_file && into_file {
        println!("paired devices: a relay on SQLite keeps them in its tokens file, which stays where it is");
        return Ok(());
    }
    let path = if from_file || into_file {
        Some(tokens_file()?)
    } else {
        None
    };
    let (devices, origin) = match &path {
        Some(path) if from_file => (tokens::load(path)?, path.display().to_string()),
        _ => (
            source
                .paired_devices()
                .await
                .context("cannot read the paired devices")?,
            "the source database".to_owned(),
        ),
    };
    let report = match &path {
        Some(path) if into_file => tokens::import(path, &devices)?,
        _ => target
            .import_paired_devices(&devices)
            .await
            .context("cannot write the paired devices")?,
    };
    let destination = match &path {
        Some(path) if into_file => path.display().to_string(),
        _ => "the target database".to_owned(),
    };
    println!(
        "paired devices from {origin} into {destination}: {} added, {} already there",
        report.added, report.present
    );
    for name in &report.name_taken {
        eprintln!(
            "simrelay: the device {name:?} was not copied: another device has that name in {destination}; \
             pair it again there, or revoke the other one and run copy-db --devices-only again"
        );
    }
    Ok(())
}

fn list_ports(ports: Vec<String>, json: bool) -> anyhow::Result<ExitCode> {
    use simrelay_modem::probe;
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let results = runtime.block_on(async {
        if ports.is_empty() {
            probe::scan(115_200).await
        } else {
            probe::probe_many(ports, 115_200).await
        }
    });
    let mut out = std::io::stdout().lock();
    if results.is_empty() {
        writeln!(out, "No serial ports found. Is the modem plugged in? (USB modems show up as /dev/ttyUSB* or /dev/ttyACM* on Linux.)")?;
    }
    for r in &results {
        let usb = r.usb.as_ref().map(|u| {
            serde_json::json!({"vid": format!("{:04x}", u.vid), "pid": format!("{:04x}", u.pid),
                "serial_number": u.serial_number, "manufacturer": u.manufacturer, "product": u.product})
        });
        if json {
            let line = serde_json::json!({"port": r.port, "is_modem": r.is_modem, "model": r.model,
                "info": r.info, "usb": usb, "error": r.error,
                "error_kind": r.error_kind.map(|k| k.as_str()), "hint": r.hint});
            writeln!(out, "{line}")?;
            continue;
        }
        let verdict = match (&r.error, r.is_modem) {
            (Some(error), _) => format!("cannot probe: {error}"),
            (None, true) => format!(
                "modem{}",
                r.model
                    .as_deref()
                    .map(|m| format!(" ({m})"))
                    .unwrap_or_default()
            ),
            (None, false) => {
                "no answer to AT: not a modem, or a modem's non-AT interface".to_string()
            }
        };
        let usb = r
            .usb
            .as_ref()
            .map(|u| format!(" [USB {:04x}:{:04x}]", u.vid, u.pid))
            .unwrap_or_default();
        writeln!(out, "{}{usb}: {verdict}", r.port)?;
        if let Some(hint) = &r.hint {
            writeln!(out, "    {hint}")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn decode_pdu(hex: &str) -> anyhow::Result<ExitCode> {
    let json = simrelay_engine::offline::decode_pdu_json(hex).context("not a valid SMS PDU")?;
    println!("{}", serde_json::to_string_pretty(&json)?);
    Ok(ExitCode::SUCCESS)
}

fn extract(explain: bool) -> anyhow::Result<ExitCode> {
    let stdin = std::io::stdin().lock();
    let mut stdout = std::io::stdout().lock();
    let mut line = Vec::new();
    let mut reader = std::io::BufReader::new(stdin);
    loop {
        line.clear();
        if reader
            .read_until(b'\n', &mut line)
            .context("cannot read standard input")?
            == 0
        {
            break;
        }
        // Bytes that are not UTF-8 become U+FFFD rather than ending the run: one bad line, one answer.
        let text = String::from_utf8_lossy(&line);
        let answer = simrelay_engine::offline::extract_line(&text, explain);
        writeln!(stdout, "{answer}").context("cannot write standard output")?;
        // Flushed per line so a caller can pipe one message at a time and wait for its answer.
        stdout.flush().context("cannot write standard output")?;
    }
    Ok(ExitCode::SUCCESS)
}

fn token(file: &ConfigFileArg, command: TokenCommand) -> anyhow::Result<ExitCode> {
    use simrelay_engine::tokens;
    // Anything written here (the main token, the devices file) is the owner's alone.
    simrelay_engine::private_files();
    // The same files the server uses: the state directory may be moved by the config file or the environment.
    let resolved = config::resolve_from_env(file, &EngineArgs::default())?;
    let path = &resolved.paths.tokens_file();
    let location = simrelay_engine::store::Location::of(&resolved.config.db);
    let shared = matches!(
        command,
        TokenCommand::Add { .. } | TokenCommand::List | TokenCommand::Revoke { .. }
    );
    if shared && matches!(location, simrelay_engine::store::Location::Postgres(_)) {
        return token_in_cluster(&location, command);
    }
    match command {
        TokenCommand::Show => {
            let token = match resolved.config.token {
                Some(token) => token,
                None => tokens::load_or_create_main_token(&resolved.paths.token_file())?,
            };
            println!("{token}");
        }
        TokenCommand::Generate => println!("{}", simrelay_engine::generate_token()),
        TokenCommand::Add { name, scopes } => {
            let scopes = tokens::parse_scopes(&scopes)?;
            let token = tokens::add_with_scopes(path, &name, scopes)?;
            println!("{token}");
            eprintln!(
                "Token for {name:?} ({scopes}) created; it is not shown again. Give it to the device's program \
                 (Authorization: Bearer <token>); to pair a phone, use the QR code in Settings instead."
            );
        }
        TokenCommand::List => {
            for t in tokens::load(path)? {
                print_device(&t.device());
            }
        }
        TokenCommand::Revoke { name } => {
            tokens::revoke(path, &name)?;
            eprintln!("Token {name:?} revoked (a running server refuses it and closes its connections within a second).");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_device(device: &simrelay_engine::tokens::Device) {
    let seen = match (&device.last_seen, &device.last_ip) {
        (Some(at), Some(ip)) => format!("last seen {at} from {ip}"),
        (Some(at), None) => format!("last seen {at}"),
        _ => "never seen".to_owned(),
    };
    println!(
        "{}\t{}\tcreated {}\t{seen}\tid {}",
        device.name, device.scopes, device.created_at, device.id
    );
}

/// `simrelay token add|list|revoke` on a cluster's database: its nodes share their paired devices there
/// (tokens.toml is not used), and a change reaches every running node within a moment.
fn token_in_cluster(
    location: &simrelay_engine::store::Location,
    command: TokenCommand,
) -> anyhow::Result<ExitCode> {
    use simrelay_engine::store::Store;
    use simrelay_engine::tokens::{self, Devices, TokensError};
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async {
        let store = Store::open_node(location, "cli").await?;
        let devices = std::sync::Arc::new(Devices::open_shared(store.clone()).await?);
        let result: anyhow::Result<()> = async {
            match command {
                TokenCommand::Add { name, scopes } => {
                    let scopes = tokens::parse_scopes(&scopes)?;
                    let (device, token) = devices.create(&name, scopes).await?;
                    println!("{token}");
                    eprintln!(
                        "Token for {:?} ({scopes}) created in the cluster's database; every node accepts it. It \
                         is not shown again.",
                        device.name
                    );
                }
                TokenCommand::List => devices.list().iter().for_each(print_device),
                TokenCommand::Revoke { name } => {
                    let id = devices
                        .list()
                        .into_iter()
                        .find(|d| d.name == name)
                        .map(|d| d.id)
                        .ok_or_else(|| TokensError::NotFound(name.clone()))?;
                    devices.revoke(&id).await?;
                    eprintln!(
                        "Token {name:?} revoked on every node of the cluster (their servers refuse it and close \
                         its connections within a second)."
                    );
                }
                TokenCommand::Show | TokenCommand::Generate => {}
            }
            Ok(())
        }
        .await;
        store.close().await;
        result
    })?;
    Ok(ExitCode::SUCCESS)
}

fn print_config(file: &ConfigFileArg, flags: &EngineArgs) -> anyhow::Result<ExitCode> {
    let Resolved { config, paths, .. } = config::resolve_from_env(file, flags)?;
    let path = &paths.config_file;
    let exists = if path.exists() {
        ""
    } else {
        " (not present: built-in defaults)"
    };
    println!("# SimRelay configuration in effect: defaults < config file < SIMRELAY_* environment < flags");
    println!("# config file: {}{exists}", path.display());
    println!(
        "# data:        {}",
        config.db.parent().unwrap_or(Path::new(".")).display()
    );
    println!(
        "# state:       {} (access token, paired devices, TLS certificate)",
        paths.state_dir.display()
    );
    match &paths.log_dir {
        Some(dir) => println!("# logs:        {}", dir.display()),
        None => println!("# logs:        standard error only (log_files = false)"),
    }
    println!("modems = {}", toml_strings(&config.modems));
    println!("demo = {}", config.demo);
    // A PostgreSQL URL is shown without its password.
    let db = simrelay_engine::store::Location::of(&config.db).to_string();
    println!("db = {}", toml_string(&db));
    println!("listen = \"{}\"", config.listen);
    match config.token {
        Some(_) => println!("# token is set (not shown; `simrelay token show` prints it)"),
        None => println!(
            "# token: generated once and kept in {} (`simrelay token show` prints it)",
            paths.token_file().display()
        ),
    }
    println!("demo_interval_secs = {}", config.demo_interval_secs);
    let retention = config.retention;
    for (key, value) in [
        ("retention_days", retention.days),
        ("retention_messages", retention.messages),
        (
            "purge_codes_after_minutes",
            retention.purge_codes_after_minutes,
        ),
    ] {
        match value {
            Some(value) => println!("{key} = {value}"),
            None => println!("# {key}: not set (keep)"),
        }
    }
    let hooks = &config.hooks;
    match hooks.command.is_empty() {
        true => println!("# hook_command: not set"),
        false => println!("hook_command = {}", toml_strings(&hooks.command)),
    }
    match &hooks.url {
        Some(url) => println!("hook_url = {}", toml_string(url)),
        None => println!("# hook_url: not set"),
    }
    println!("hook_only_codes = {}", hooks.only_codes);
    println!("hook_timeout_secs = {}", hooks.timeout_secs);
    // The webhook signing key is never printed, not even whether it is set: like the token, it stays out of
    // output that gets pasted into bug reports.
    match &config.mqtt {
        Some(mqtt) => {
            // The URL may carry a password: print it without.
            let shown = mqtt.check().map_or_else(
                |_| "(invalid)".to_owned(),
                |b| {
                    format!(
                        "{}://{}:{}",
                        if b.tls { "mqtts" } else { "mqtt" },
                        b.host,
                        b.port
                    )
                },
            );
            println!("mqtt_url = {}  # login not shown", toml_string(&shown));
            println!("mqtt_prefix = {}", toml_string(&mqtt.prefix));
            println!("mqtt_send = {}", mqtt.send);
            println!("ha_discovery = {}", mqtt.discovery);
            println!(
                "ha_discovery_prefix = {}",
                toml_string(&mqtt.discovery_prefix)
            );
        }
        None => println!("# mqtt_url: not set (no MQTT)"),
    }
    for f in &config.forwarders {
        println!(
            "# forwarder {:?}: {} (see the config file)",
            f.name,
            f.kind.as_str()
        );
    }
    println!("tls = {}", config.tls);
    // Sources carry secrets, so they are named, not printed as pasteable TOML.
    for source in &config.sources {
        println!(
            "# [[sources]] {:?} ({}): webhooks at /sources/{}/inbound and /status (secrets not shown)",
            source.name,
            source.kind.as_str(),
            source.name
        );
    }
    let dir = config.tls_path();
    let cert = dir.join(simrelay_engine::tls::CERT_FILE);
    match simrelay_engine::tls::stored_fingerprint(&dir)? {
        Some(fingerprint) => println!(
            "# tls certificate: {} (SHA-256 {fingerprint})",
            cert.display()
        ),
        None => println!(
            "# tls certificate: {} (made at the first start with tls)",
            cert.display()
        ),
    }
    Ok(ExitCode::SUCCESS)
}

/// A TOML basic string (so the output can be pasted into the config file).
fn toml_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

fn toml_strings(items: &[String]) -> String {
    format!(
        "[{}]",
        items
            .iter()
            .map(|s| toml_string(s))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

fn serve(file: &ConfigFileArg, flags: &EngineArgs) -> anyhow::Result<ExitCode> {
    // Before the first file (a log) is created.
    simrelay_engine::private_files();
    let Resolved { config, paths, .. } = config::resolve_from_env(file, flags)?;
    simrelay_engine::logging::init(paths.log_dir.as_deref())?;
    if config.modems.is_empty() && !config.demo {
        eprintln!("simrelay: no modem given; add --modem PATH for a real modem or --demo for the simulated one, or add one in the app (Modems screen)");
    }
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async {
        let engine = Engine::start(config).await?;
        // The URL with the token goes to a person at a terminal, never to a log (a service's standard output
        // usually ends up in the journal).
        if std::io::stdout().is_terminal() {
            println!("SimRelay is listening on {}", engine.url());
        } else {
            println!(
                "SimRelay is listening on {} (`simrelay token show` prints the access token)",
                engine.public_url()
            );
        }
        if let Some(fingerprint) = engine.tls_fingerprint() {
            println!("TLS certificate SHA-256 fingerprint: {fingerprint}");
        }
        let (scheme, lan_fingerprint) = engine.lan_security();
        for addr in engine.lan_addrs() {
            println!(
                "From another device on your network: {scheme}://{addr}/ (pair it with the QR code in Settings)"
            );
        }
        if let Some(fingerprint) =
            lan_fingerprint.filter(|f| Some(f.as_str()) != engine.tls_fingerprint())
        {
            println!("LAN TLS certificate SHA-256 fingerprint: {fingerprint}");
        }
        wait_for_stop_signal().await?;
        eprintln!("simrelay: shutting down");
        engine.shutdown().await;
        Ok(ExitCode::SUCCESS)
    })
}

/// Ctrl-C everywhere, and SIGTERM on Unix (what systemd and `kill` send).
async fn wait_for_stop_signal() -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .context("cannot listen for SIGTERM")?;
        tokio::select! {
            result = tokio::signal::ctrl_c() => result.context("cannot wait for Ctrl-C")?,
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c()
        .await
        .context("cannot wait for Ctrl-C")?;
    Ok(())
}
