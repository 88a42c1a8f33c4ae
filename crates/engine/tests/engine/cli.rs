//! Drives the real `simrelay` binary: `serve --demo` end to end over HTTP, `decode-pdu`, `extract`.

use std::io::{BufRead, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use simrelay_protocol::MessagePage;

fn simrelay() -> Command {
    Command::new(env!("CARGO_BIN_EXE_simrelay"))
}

#[test]
fn decode_pdu_prints_json_and_fails_cleanly_on_garbage() {
    let pdu = simrelay_testkit::pdu::deliver("+4915123456789", "Your code is 482913");
    let out = simrelay()
        .args(["decode-pdu", &simrelay_pdu::to_hex(&pdu)])
        .output()
        .expect("runs");
    assert!(out.status.success());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(json["text"], "Your code is 482913");
    assert_eq!(json["sender"], "+4915123456789");

    let out = simrelay()
        .args(["decode-pdu", "0791447758100650040B91"])
        .output()
        .expect("runs");
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    let err = String::from_utf8(out.stderr).expect("utf-8");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.starts_with("simrelay: "), "{err}");
}

#[test]
fn extract_answers_each_line_in_order() {
    let mut child = simrelay()
        .arg("extract")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawns");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin
        .write_all(
            b"Your verification code is 482913\nsee you at 12:30\n{\"text\":\"Code: 7351\"}\n\xff\xfe broken utf-8\n\
              {\"text\":\"660679 is your code\\n\\n@github.com #660679\"}\n",
        )
        .expect("write");
    drop(stdin);
    let out = child.wait_with_output().expect("exits");
    assert!(out.status.success());
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .expect("utf-8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(lines.len(), 5);
    assert_eq!(lines[0]["code"], "482913");
    assert!(lines[0]["confidence"].as_f64().is_some(), "{}", lines[0]);
    assert_eq!(lines[1]["code"], serde_json::Value::Null);
    assert_eq!(lines[2]["code"], "7351");
    assert_eq!(lines[3]["code"], serde_json::Value::Null);
    assert_eq!(lines[4]["code"], "660679");
    assert_eq!(lines[4]["origin"]["host"], "github.com");
}

#[test]
fn serve_demo_prints_its_url_and_serves_demo_messages() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut child, mut stdout) = crate::common::serve(
        simrelay().stderr(Stdio::null()),
        &dir.path().join("cli.db"),
        &["--demo"],
    );
    let mut line = String::new();
    stdout.read_line(&mut line).expect("first line");
    let url = line
        .trim()
        .strip_prefix("SimRelay is listening on ")
        .expect("announces its URL")
        .to_owned();
    assert!(
        url.starts_with("http://127.0.0.1:") && url.ends_with('/'),
        "{url}"
    );

    let deadline = Instant::now() + Duration::from_secs(20);
    let page = loop {
        let page: MessagePage = reqwest::blocking_get(&format!("{url}api/messages"));
        if !page.messages.is_empty() || Instant::now() > deadline {
            break page;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(
        page.messages
            .iter()
            .any(|m| m.modem == "demo" && m.text.contains("DEMO")),
        "{page:?}"
    );

    // SIGTERM stops it cleanly.
    let status = Command::new("kill")
        .arg(child.id().to_string())
        .status()
        .expect("kill runs");
    assert!(status.success());
    let exit = child.wait().expect("exits");
    assert!(exit.success(), "{exit:?}");
}

mod reqwest {
    //! A blocking GET on a throwaway runtime: the test above is synchronous because it drives a process.
    pub fn blocking_get<T: serde::de::DeserializeOwned>(url: &str) -> T {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            ::reqwest::get(url)
                .await
                .expect("get")
                .json()
                .await
                .expect("json")
        })
    }
}

#[test]
fn config_prints_the_layers_in_effect_and_names_bad_keys() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("config.toml");
    std::fs::write(
        &file,
        "modems = [\"/dev/ttyUSB2\"]\nlisten = \"127.0.0.1:9999\"\ntoken = \"secret\"\n",
    )
    .expect("write");
    let out = simrelay()
        .arg("config")
        .env("SIMRELAY_CONFIG", &file)
        .env("SIMRELAY_DB", dir.path().join("env.db"))
        .output()
        .expect("runs");
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).expect("utf-8");
    assert!(text.contains("modems = [\"/dev/ttyUSB2\"]"), "{text}");
    assert!(text.contains("listen = \"127.0.0.1:9999\""), "{text}");
    assert!(
        text.contains("env.db"),
        "environment beats the file: {text}"
    );
    assert!(!text.contains("secret"), "the token is not printed: {text}");

    std::fs::write(&file, "listn = \"127.0.0.1:1\"\n").expect("write");
    let out = simrelay()
        .args(["--config"])
        .arg(&file)
        .arg("config")
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).expect("utf-8");
    assert!(err.contains("listn") && err.contains("valid keys"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn ports_tells_a_modem_from_a_silent_port() {
    use simrelay_modem::{SimOptions, Simulator};
    let sim = Simulator::start(SimOptions::default())
        .await
        .expect("simulator");
    // A pty nobody answers on: the probe must say it is not a modem.
    let silent = nix::pty::openpty(None, None).expect("pty");
    let silent_path = nix::unistd::ttyname(&silent.slave).expect("ttyname");
    let modem_path = sim.path().to_string_lossy().into_owned();
    let silent_path = silent_path.to_string_lossy().into_owned();
    let out = tokio::task::spawn_blocking(move || {
        simrelay()
            .args(["ports", "--json", &modem_path, &silent_path])
            .output()
            .expect("runs")
    })
    .await
    .expect("joins");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .expect("utf-8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[0]["is_modem"], true, "{:?}", lines[0]);
    assert_eq!(lines[1]["is_modem"], false, "{:?}", lines[1]);
    sim.shutdown().await;
}

#[test]
fn token_add_list_revoke_work_on_the_tokens_file_next_to_the_config() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("config.toml");
    let run = |args: &[&str]| {
        simrelay()
            .arg("--config")
            .arg(&config)
            .args(args)
            .output()
            .expect("runs")
    };
    let out = run(&["token", "add", "Pixel 8"]);
    assert!(out.status.success(), "{out:?}");
    let token = String::from_utf8(out.stdout)
        .expect("utf-8")
        .trim()
        .to_owned();
    assert_eq!(token.len(), 64, "256 bits in hex: {token}");
    let stored = simrelay_engine::tokens::load(&dir.path().join("tokens.toml")).expect("load");
    assert_eq!(stored.len(), 1);
    assert_eq!(
        stored[0].sha256,
        simrelay_engine::tokens::token_hash(&token)
    );

    let out = run(&["token", "list"]);
    let list = String::from_utf8(out.stdout).expect("utf-8");
    assert!(list.starts_with("Pixel 8\tcreated "), "{list}");
    assert!(
        list.contains("never seen") && list.contains(&format!("id {}", stored[0].id())),
        "{list}"
    );

    // The same checks as POST /api/devices: a bad name fails with one line saying why.
    let out = run(&["token", "add", "   "]);
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).expect("utf-8");
    assert!(err.contains("name is empty"), "{err}");
    let out = run(&["token", "add", "Pixel 8"]);
    assert!(!out.status.success(), "duplicate name");

    assert!(run(&["token", "revoke", "Pixel 8"]).status.success());
    assert!(!run(&["token", "revoke", "Pixel 8"]).status.success());
    let out = run(&["token", "list"]);
    assert!(out.stdout.is_empty());
}
