//! `es-test-server`: the emulator as a standalone process, for benchmarks that measure eshunt
//! separately from the server.
//!
//! ```text
//! es-test-server [--port 9200] [--flavor elasticsearch|opensearch] [--version 8.15.0]
//!                [--cloudtrail] [--load FILE.ndjson --index NAME]...
//! ```
//!
//! `--cloudtrail` installs the CloudTrail mapping as the data stream template of
//! `logs-aws.cloudtrail-*` first. Each `--load` file holds one JSON document per line, either a
//! `_source` or a search hit (`{"_id", "_source", …}`), created in the `--index` that follows
//! it. The URL is printed once the data is loaded; the server runs until the process is killed.

use eshunt_testserver::{Flavor, TestServer};
use std::io::BufRead;
use std::process::ExitCode;
use std::time::Instant;

struct Args {
    port: u16,
    flavor: Flavor,
    version: String,
    cloudtrail: bool,
    loads: Vec<(String, String)>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        port: 9200,
        flavor: Flavor::Elasticsearch,
        version: String::new(),
        cloudtrail: false,
        loads: Vec::new(),
    };
    let mut pending_file: Option<String> = None;
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--port" => {
                args.port = value("--port")?
                    .parse()
                    .map_err(|e| format!("--port: {e}"))?
            }
            "--flavor" => {
                args.flavor = match value("--flavor")?.as_str() {
                    "elasticsearch" => Flavor::Elasticsearch,
                    "opensearch" => Flavor::OpenSearch,
                    other => return Err(format!("--flavor: unknown flavour `{other}`")),
                }
            }
            "--version" => args.version = value("--version")?,
            "--cloudtrail" => args.cloudtrail = true,
            "--load" => pending_file = Some(value("--load")?),
            "--index" => {
                let file = pending_file
                    .take()
                    .ok_or("--index must follow --load FILE")?;
                args.loads.push((file, value("--index")?));
            }
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    if pending_file.is_some() {
        return Err("--load FILE needs an --index NAME after it".into());
    }
    if args.version.is_empty() {
        args.version = match args.flavor {
            Flavor::Elasticsearch => "8.15.0".into(),
            Flavor::OpenSearch => "2.11.0".into(),
        };
    }
    Ok(args)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("es-test-server: {e}");
            }
            eprintln!("usage: es-test-server [--port N] [--flavor elasticsearch|opensearch] [--version V] [--cloudtrail] [--load FILE --index NAME]...");
            return ExitCode::from(2);
        }
    };
    match serve(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("es-test-server: {e}");
            ExitCode::FAILURE
        }
    }
}

fn serve(args: Args) -> Result<(), String> {
    let server = TestServer::builder(args.flavor, &args.version)
        .emulator_only()
        .port(args.port)
        .record_body_limit(4096)
        .start()
        .map_err(|e| e.to_string())?;
    if args.cloudtrail {
        install_cloudtrail(&server)?;
    }
    for (file, index) in &args.loads {
        let started = Instant::now();
        let n = load(&server, file, index)?;
        let secs = started.elapsed().as_secs_f64();
        eprintln!(
            "loaded {n} documents from {file} into {index} in {secs:.1}s ({:.0} docs/s)",
            n as f64 / secs.max(1e-9)
        );
    }
    println!("{}", server.url());
    loop {
        std::thread::park();
    }
}

fn install_cloudtrail(server: &TestServer) -> Result<(), String> {
    let body = eshunt_testserver::cloudtrail_template("logs-aws.cloudtrail-*", server.info());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async {
        let resp = reqwest::Client::new()
            .put(format!(
                "{}/_index_template/logs-aws.cloudtrail",
                server.url()
            ))
            .json(&body)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        match resp.status().as_u16() {
            200 => Ok(()),
            s => Err(format!(
                "installing the CloudTrail template answered {s}: {}",
                resp.text().await.unwrap_or_default()
            )),
        }
    })
}

fn load(server: &TestServer, file: &str, index: &str) -> Result<usize, String> {
    let reader =
        std::io::BufReader::new(std::fs::File::open(file).map_err(|e| format!("{file}: {e}"))?);
    let mut docs = Vec::new();
    for (n, line) in reader.lines().enumerate() {
        let line = line.map_err(|e| format!("{file}: {e}"))?;
        if line.trim().is_empty() {
            continue;
        }
        let value: serde_json::Value =
            serde_json::from_str(&line).map_err(|e| format!("{file}:{}: {e}", n + 1))?;
        match value.get("_source") {
            Some(source) => docs.push((
                value["_id"].as_str().map(str::to_string),
                source.to_string(),
            )),
            None => docs.push((None, line)),
        }
    }
    server.load(index, docs)
}
