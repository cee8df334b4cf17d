//! Runs a closed loop with `wrk` (Debian package `wrk`): the signed
//! requests are generated here into a file, a Lua script replays them in
//! order, and the figures come back from wrk's own latency histogram.
use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::bench::{setup_err, BenchError, Target};

/// Requests generated per run: more than a 2-core machine acknowledges in
/// the run, so none repeats (a repeat would be a cheap duplicate).
const PER_SECOND_CEILING: u64 = 20_000;

/// What wrk measured.
pub(crate) struct WrkResult {
    pub requests: u64,
    pub non_2xx: u64,
    pub per_sec: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

const SCRIPT: &str = r#"
local reqs = {}
local i = 0
local non2xx = 0
init = function(args)
  for line in io.lines(args[1]) do
    local id, ts, sig, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
    reqs[#reqs + 1] = wrk.format("POST", nil, {
      ["Content-Type"] = "application/json",
      ["X-Restopos-Account"] = args[2],
      ["X-Restopos-Timestamp"] = ts,
      ["X-Restopos-Signature"] = sig,
      ["X-Restopos-Event-Id"] = id,
    }, body)
  end
end
request = function()
  i = i + 1
  if i > #reqs then i = 1 end
  return reqs[i]
end
response = function(status, headers, body)
  if status < 200 or status > 299 then non2xx = non2xx + 1 end
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT %d %d %d %d %d\n", summary.requests, summary.duration,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"#;

/// Runs wrk against `target` for `duration` with `connections` connections.
pub(crate) fn run(
    target: &Target,
    dir: &Path,
    connections: usize,
    duration: Duration,
    offset: u64,
) -> Result<WrkResult, BenchError> {
    if Command::new("wrk").arg("--version").output().is_err() {
        return Err(BenchError::Setup(
            "wrk is not installed (Debian: apt-get install wrk)".into(),
        ));
    }
    let count = PER_SECOND_CEILING * duration.as_secs().max(1);
    let requests = dir.join("requests.tsv");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&requests).map_err(setup_err)?);
    for n in offset..offset + count {
        let s = target.signed(n);
        writeln!(out, "{}\t{}\t{}\t{}", s.event_id, s.ts, s.signature, s.body)
            .map_err(setup_err)?;
    }
    out.flush().map_err(setup_err)?;
    drop(out);
    let script = dir.join("replay.lua");
    std::fs::write(&script, SCRIPT).map_err(setup_err)?;
    let output = Command::new("wrk")
        .args([
            "-t1",
            &format!("-c{connections}"),
            &format!("-d{}s", duration.as_secs().max(1)),
            "--timeout",
            "10s",
            "-s",
        ])
        .arg(&script)
        .arg(&target.url)
        .arg("--")
        .arg(&requests)
        .arg(&target.account)
        .output()
        .map_err(setup_err)?;
    let text = String::from_utf8_lossy(&output.stdout);
    let line = text
        .lines()
        .find(|l| l.starts_with("RESULT "))
        .ok_or_else(|| {
            BenchError::Setup(format!(
                "wrk gave no result: {text}{}",
                String::from_utf8_lossy(&output.stderr)
            ))
        })?;
    let f: Vec<f64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    if f.len() != 5 {
        return Err(BenchError::Setup(format!("unexpected wrk result {line:?}")));
    }
    let _ = std::fs::remove_file(&requests);
    Ok(WrkResult {
        requests: f[0] as u64,
        non_2xx: f[2] as u64,
        per_sec: f[0] / (f[1] / 1e6),
        p50_ms: f[3] / 1000.0,
        p99_ms: f[4] / 1000.0,
    })
}
