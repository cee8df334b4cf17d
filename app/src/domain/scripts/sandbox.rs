//! The JS sandbox: QuickJS (rquickjs) runtimes on dedicated threads.
//!
//! Each worker thread owns one runtime and one context, and keeps the
//! compiled `transform` function of every script it has run (keyed by the
//! script's checksum), so a call is a JSON parse, a function call and a JSON
//! stringify. Scripts get no clock (`Date`, `performance`), no randomness
//! (`Math.random` removed), no promises or timers, no modules and no host
//! functions: no file, network or clock access, and the same input always
//! gives the same output. Every call runs under a CPU-time budget (the
//! interrupt handler reads the thread's CPU clock) and the runtime under a
//! memory limit; a runtime that hit either is thrown away and rebuilt.
use std::cell::Cell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use rquickjs::context::intrinsic::{Eval, Json, MapSet, RegExp, RegExpCompiler, TypedArrays};
use rquickjs::{CatchResultExt, CaughtError, Context, Ctx, Function, Persistent, Runtime, Value};
use tokio::sync::oneshot;

/// How much one call may use.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// CPU time per call (compiling a new script included).
    pub cpu: Duration,
    /// Heap of one runtime.
    pub memory_bytes: usize,
    /// Worker threads (one runtime each).
    pub workers: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            cpu: Duration::from_millis(50),
            memory_bytes: 32 * 1024 * 1024,
            workers: 2,
        }
    }
}

/// A script's source and its checksum (the compiled-function cache key).
#[derive(Clone, Debug)]
pub struct Script {
    pub checksum: String,
    pub source: String,
}

/// Why a call gave no result.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SandboxError {
    #[error("the script does not compile: {0}")]
    Compile(String),
    #[error("the script threw: {0}")]
    Threw(String),
    #[error("the script ran past its CPU budget of {0} ms")]
    Timeout(u128),
    #[error("the script went over its memory limit of {0} MiB")]
    OutOfMemory(usize),
    #[error("the script returned nothing JSON can hold (undefined or a function)")]
    NoResult,
    #[error("the input is not JSON: {0}")]
    Input(String),
    #[error("the script sandbox is not running")]
    Stopped,
}

struct Job {
    script: Arc<Script>,
    /// `None`: compile only.
    input: Option<String>,
    reply: oneshot::Sender<Result<String, SandboxError>>,
}

/// Handle to the worker threads; cheap to clone.
#[derive(Clone)]
pub struct Sandbox {
    tx: flume::Sender<Job>,
    limits: Limits,
}

impl Sandbox {
    /// Starts `limits.workers` threads.
    pub fn start(limits: Limits) -> Self {
        let (tx, rx) = flume::bounded::<Job>(1024);
        for i in 0..limits.workers.max(1) {
            let rx = rx.clone();
            std::thread::Builder::new()
                .name(format!("js-sandbox-{i}"))
                .spawn(move || worker(rx, limits))
                .expect("spawn a JS sandbox thread");
        }
        Sandbox { tx, limits }
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Runs `transform(input)` of `script`; `input` and the answer are JSON.
    pub async fn run(&self, script: Arc<Script>, input: String) -> Result<String, SandboxError> {
        self.send(script, Some(input)).await
    }

    /// Compiles `script` and checks it defines `transform`, without running it.
    pub async fn check(&self, script: Arc<Script>) -> Result<(), SandboxError> {
        self.send(script, None).await.map(|_| ())
    }

    async fn send(
        &self,
        script: Arc<Script>,
        input: Option<String>,
    ) -> Result<String, SandboxError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send_async(Job {
                script,
                input,
                reply,
            })
            .await
            .map_err(|_| SandboxError::Stopped)?;
        answer.await.map_err(|_| SandboxError::Stopped)?
    }
}

/// Calls `transform` of `script` `n` times on the current thread, without
/// the queue, and answers each call's duration (for `plugboard bench
/// scripts`: the cost of the JS itself).
pub fn time_calls(
    limits: Limits,
    script: &Script,
    input: &str,
    n: usize,
) -> Result<Vec<std::time::Duration>, SandboxError> {
    let mut engine = Engine::new(limits).map_err(|e| SandboxError::Compile(e.to_string()))?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let start = std::time::Instant::now();
        engine.call(script, Some(input))?;
        out.push(start.elapsed());
    }
    Ok(out)
}

fn worker(rx: flume::Receiver<Job>, limits: Limits) {
    let mut engine = None;
    while let Ok(job) = rx.recv() {
        if engine.is_none() {
            match Engine::new(limits) {
                Ok(e) => engine = Some(e),
                Err(e) => {
                    tracing::error!(error = %e, "cannot start a JS runtime");
                    let _ = job.reply.send(Err(SandboxError::Stopped));
                    continue;
                }
            }
        }
        let Some(current) = engine.as_mut() else {
            continue;
        };
        let result = current.call(&job.script, job.input.as_deref());
        if matches!(
            result,
            Err(SandboxError::Timeout(_) | SandboxError::OutOfMemory(_))
        ) {
            // Interrupted or out of memory: the heap may be left in any
            // state; start the next call on a fresh runtime.
            engine = None;
        }
        let _ = job.reply.send(result);
    }
}

/// Run once per context: no randomness, no `eval`.
const HARDEN: &str =
    "delete Math.random; delete globalThis.eval; delete globalThis.queueMicrotask;";

/// Scripts a runtime keeps compiled, at most this many (each context
/// takes some of the heap limit).
const CACHED_SCRIPTS: usize = 32;
/// Stack for scripts (deep recursion becomes a RangeError, not a crash).
const STACK_BYTES: usize = 512 * 1024;

/// One script, compiled in a context of its own: its built-ins and globals
/// are its own, so no script can change what another sees.
struct Loaded {
    // Dropped in this order: the function before its context.
    function: Persistent<Function<'static>>,
    context: Context,
}

struct Engine {
    // Dropped in this order: every script before the runtime.
    scripts: HashMap<String, Loaded>,
    runtime: Runtime,
    deadline: Rc<Cell<Option<Duration>>>,
    interrupted: Rc<Cell<bool>>,
    limits: Limits,
}

impl Engine {
    fn new(limits: Limits) -> rquickjs::Result<Self> {
        let runtime = Runtime::new()?;
        runtime.set_memory_limit(limits.memory_bytes);
        runtime.set_max_stack_size(STACK_BYTES);
        let deadline = Rc::new(Cell::new(None::<Duration>));
        let interrupted = Rc::new(Cell::new(false));
        let (d, i) = (deadline.clone(), interrupted.clone());
        runtime.set_interrupt_handler(Some(Box::new(move || match d.get() {
            Some(limit) if thread_cpu_time() > limit => {
                i.set(true);
                true
            }
            _ => false,
        })));
        Ok(Engine {
            scripts: HashMap::new(),
            runtime,
            deadline,
            interrupted,
            limits,
        })
    }

    /// Compiles `script` in a fresh context (under the call's deadline).
    fn load(&self, script: &Script) -> Result<Loaded, SandboxError> {
        let context = Context::custom::<(Eval, RegExpCompiler, RegExp, Json, MapSet, TypedArrays)>(
            &self.runtime,
        )
        .map_err(|_| SandboxError::OutOfMemory(self.limits.memory_bytes / (1024 * 1024)))?;
        let (interrupted, limits) = (&self.interrupted, self.limits);
        let function = context.with(|ctx| {
            ctx.eval::<(), _>(HARDEN)
                .catch(&ctx)
                .map_err(|e| classify(e, interrupted.get(), limits))?;
            let f = compile(&ctx, &script.source).map_err(|e| match e {
                Compiled::Caught(c) => match classify(c, interrupted.get(), limits) {
                    SandboxError::Threw(m) => SandboxError::Compile(m),
                    other => other,
                },
                Compiled::NoTransform => {
                    SandboxError::Compile("the script defines no function transform(input)".into())
                }
            })?;
            Ok::<_, SandboxError>(Persistent::save(&ctx, f))
        })?;
        Ok(Loaded { function, context })
    }

    fn call(&mut self, script: &Script, input: Option<&str>) -> Result<String, SandboxError> {
        self.interrupted.set(false);
        self.deadline.set(Some(thread_cpu_time() + self.limits.cpu));
        let result = self.call_inner(script, input);
        self.deadline.set(None);
        if self.interrupted.get() && result.is_ok() {
            // Finished in the same breath as the deadline: still over budget.
            return Err(SandboxError::Timeout(self.limits.cpu.as_millis()));
        }
        result
    }

    fn call_inner(&mut self, script: &Script, input: Option<&str>) -> Result<String, SandboxError> {
        if !self.scripts.contains_key(&script.checksum) {
            let loaded = self.load(script)?;
            if self.scripts.len() >= CACHED_SCRIPTS {
                self.scripts.clear();
            }
            self.scripts.insert(script.checksum.clone(), loaded);
        }
        let Some(input) = input else {
            return Ok("null".to_string());
        };
        let (interrupted, limits) = (&self.interrupted, self.limits);
        let loaded = self
            .scripts
            .get(&script.checksum)
            .ok_or(SandboxError::Stopped)?;
        loaded.context.with(|ctx| {
            let caught = |e: CaughtError<'_>| classify(e, interrupted.get(), limits);
            let function = loaded
                .function
                .clone()
                .restore(&ctx)
                .map_err(|e| SandboxError::Compile(format!("cached function unusable: {e}")))?;
            let arg = ctx
                .json_parse(input)
                .catch(&ctx)
                .map_err(|e| SandboxError::Input(e.to_string()))?;
            let out: Value = function.call((arg,)).catch(&ctx).map_err(caught)?;
            let text = ctx
                .json_stringify(out)
                .catch(&ctx)
                .map_err(caught)?
                .ok_or(SandboxError::NoResult)?;
            text.to_string()
                .map_err(|e| SandboxError::Threw(e.to_string()))
        })
    }
}

enum Compiled<'js> {
    Caught(CaughtError<'js>),
    NoTransform,
}

/// Evaluates the script in its own function scope (strict mode, so a
/// script cannot leak globals by accident) and returns its `transform`.
/// The wrapper adds no line, so errors point at the script's own lines.
fn compile<'js>(ctx: &Ctx<'js>, source: &str) -> Result<Function<'js>, Compiled<'js>> {
    let wrapped = format!(
        "(function(){{'use strict';{source}\n;return typeof transform === 'function' ? transform : undefined;}})()"
    );
    let value: Value = ctx.eval(wrapped).catch(ctx).map_err(Compiled::Caught)?;
    value.into_function().ok_or(Compiled::NoTransform)
}

fn classify(e: CaughtError<'_>, interrupted: bool, limits: Limits) -> SandboxError {
    if interrupted {
        return SandboxError::Timeout(limits.cpu.as_millis());
    }
    let oom = SandboxError::OutOfMemory(limits.memory_bytes / (1024 * 1024));
    match e {
        CaughtError::Exception(ex) => {
            let message = ex.message().unwrap_or_default();
            if message.contains("out of memory") {
                return oom;
            }
            let name = ex
                .get::<_, Option<String>>("name")
                .ok()
                .flatten()
                .unwrap_or_else(|| "Error".into());
            SandboxError::Threw(if message.is_empty() {
                name
            } else {
                format!("{name}: {message}")
            })
        }
        CaughtError::Value(v) => {
            if v.is_null() || v.is_undefined() {
                // QuickJS throws `null` when even the error object could
                // not be allocated.
                return oom;
            }
            let shown = v
                .as_string()
                .and_then(|s| s.to_string().ok())
                .or_else(|| v.as_number().map(|n| n.to_string()))
                .unwrap_or_else(|| format!("a thrown {}", v.type_name()));
            SandboxError::Threw(shown)
        }
        CaughtError::Error(rquickjs::Error::Allocation) => oom,
        CaughtError::Error(e) => SandboxError::Threw(e.to_string()),
    }
}

/// CPU time this thread has used.
fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant
    // every Linux and macOS supports.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn script(source: &str) -> Arc<Script> {
        Arc::new(Script {
            checksum: format!("{:x}", hash(source)),
            source: source.into(),
        })
    }

    fn hash(s: &str) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        s.hash(&mut h);
        h.finish()
    }

    fn sandbox() -> Sandbox {
        Sandbox::start(Limits {
            cpu: Duration::from_millis(100),
            memory_bytes: 8 * 1024 * 1024,
            workers: 1,
        })
    }

    #[tokio::test]
    async fn transforms_and_reuses_the_compiled_function() {
        let sb = sandbox();
        let s = script("function transform(input) { return {n: input.a * 2, tag: 'x'}; }");
        for a in [1, 2, 3] {
            let out = sb.run(s.clone(), format!("{{\"a\":{a}}}")).await.unwrap();
            assert_eq!(out, format!("{{\"n\":{},\"tag\":\"x\"}}", a * 2));
        }
    }

    #[tokio::test]
    async fn has_no_clock_randomness_or_eval() {
        let sb = sandbox();
        let s = script(
            "function transform() { return [typeof Date, typeof Math.random, typeof eval, typeof Promise, typeof performance, typeof require, typeof fetch]; }",
        );
        let out = sb.run(s, "null".into()).await.unwrap();
        assert_eq!(
            out,
            r#"["undefined","undefined","undefined","undefined","undefined","undefined","undefined"]"#
        );
    }

    #[tokio::test]
    async fn a_throw_is_reported_with_its_message() {
        let sb = sandbox();
        let s = script("function transform(i) { throw new TypeError('bad payload: ' + i.x); }");
        let err = sb.run(s, r#"{"x":7}"#.into()).await.unwrap_err();
        assert_eq!(err, SandboxError::Threw("TypeError: bad payload: 7".into()));
        let s = script("function transform() { throw 'plain'; }");
        assert_eq!(
            sb.run(s, "1".into()).await.unwrap_err(),
            SandboxError::Threw("plain".into())
        );
    }

    #[tokio::test]
    async fn an_endless_loop_is_stopped_and_the_next_call_works() {
        let sb = sandbox();
        let s = script("function transform() { for (;;) {} }");
        assert_eq!(
            sb.run(s, "1".into()).await.unwrap_err(),
            SandboxError::Timeout(100)
        );
        let ok = script("function transform(i) { return i + 1; }");
        assert_eq!(sb.run(ok, "1".into()).await.unwrap(), "2");
    }

    #[tokio::test]
    async fn a_memory_bomb_is_stopped_and_the_next_call_works() {
        let sb = sandbox();
        let s = script("function transform() { const a = []; for (;;) { a.push('x'.repeat(1024) + a.length); } }");
        assert_eq!(
            sb.run(s, "1".into()).await.unwrap_err(),
            SandboxError::OutOfMemory(8)
        );
        let ok = script("function transform(i) { return i + 1; }");
        assert_eq!(sb.run(ok, "41".into()).await.unwrap(), "42");
    }

    #[tokio::test]
    async fn compile_errors_and_missing_transform_are_named() {
        let sb = sandbox();
        let err = sb
            .run(script("function transform( {"), "1".into())
            .await
            .unwrap_err();
        assert!(matches!(err, SandboxError::Compile(m) if m.contains("SyntaxError")));
        let err = sb
            .run(script("function other() {}"), "1".into())
            .await
            .unwrap_err();
        assert!(matches!(err, SandboxError::Compile(m) if m.contains("transform")));
        let err = sb
            .run(
                script("function transform() { return undefined; }"),
                "1".into(),
            )
            .await
            .unwrap_err();
        assert_eq!(err, SandboxError::NoResult);
    }

    #[test]
    fn a_runtime_frees_cleanly_after_use() {
        // QuickJS asserts, and aborts the process, if a runtime is freed
        // with objects still alive.
        let s = Script {
            checksum: "free".into(),
            source: "function transform(i) { return {a: [i, {b: i}]}; }".into(),
        };
        let calls = time_calls(Limits::default(), &s, "{\"x\":1}", 3).unwrap();
        assert_eq!(calls.len(), 3);
    }

    #[tokio::test]
    async fn no_script_can_change_what_another_sees() {
        let sb = sandbox();
        let meddler = script(
            "function transform() { Array.prototype.map = function () { return 'hijacked'; }; globalThis.leak = 1; return 1; }",
        );
        assert_eq!(sb.run(meddler, "1".into()).await.unwrap(), "1");
        let honest = script(
            "function transform(i) { return [[1, 2].map((x) => x * i), typeof globalThis.leak]; }",
        );
        assert_eq!(
            sb.run(honest, "3".into()).await.unwrap(),
            r#"[[3,6],"undefined"]"#
        );
    }

    #[tokio::test]
    async fn scripts_do_not_see_each_others_globals() {
        let sb = sandbox();
        let a = script("var leaked = 1; function transform() { return typeof leaked; }");
        let b = script("function transform() { return typeof leaked; }");
        assert_eq!(sb.run(a, "1".into()).await.unwrap(), "\"number\"");
        assert_eq!(sb.run(b, "1".into()).await.unwrap(), "\"undefined\"");
    }
}
