//! env_logger set up for a hot path: records go to stderr through a buffer
//! that a background thread writes out every `FLUSH_INTERVAL`, so an access
//! line costs a memcpy, not a write(2), per request.

use std::cell::RefCell;
use std::io::Write;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::observe_settings::LogFormat;
use crate::request_id::{self, RequestId};

/// How long a log line may wait in the buffer.
const FLUSH_INTERVAL: Duration = Duration::from_millis(100);

/// A buffer this large is written out at once rather than waiting.
const MAX_BUFFERED: usize = 256 * 1024;

/// Writes what is buffered; call it before the process exits.
#[derive(Clone)]
pub struct Flusher(Arc<Mutex<Vec<u8>>>);

impl Flusher {
    /// Writes every buffered line to stderr now.
    pub fn flush(&self) {
        let pending = std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner));
        write_stderr(&pending);
    }
}

/// The env_logger target: appends to the shared buffer; `flush` is left to
/// the background thread (env_logger flushes after every record).
struct BufferedStderr(Arc<Mutex<Vec<u8>>>);

impl Write for BufferedStderr {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        let mut buffer = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        buffer.extend_from_slice(data);
        if buffer.len() >= MAX_BUFFERED {
            let full = std::mem::take(&mut *buffer);
            drop(buffer);
            write_stderr(&full);
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn write_stderr(bytes: &[u8]) {
    if !bytes.is_empty() {
        // Nowhere to report a failure to write the log.
        let _ = std::io::stderr().lock().write_all(bytes);
    }
}

/// Where actix-http logs a connection's end at error level, also when the
/// client caused it (a malformed request, headers too large, a client gone).
const ACTIX_DISPATCHER: &str = "actix_http::h1::dispatcher";

/// env_logger, except that actix-http's "stream error" lines, which are
/// client faults answered 4xx, go out at debug like every other client fault.
struct ClientFaultsAtDebug(env_logger::Logger);

impl log::Log for ClientFaultsAtDebug {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        self.0.enabled(metadata)
    }

    fn log(&self, record: &log::Record<'_>) {
        if record.level() == log::Level::Error
            && record.target() == ACTIX_DISPATCHER
            && record.args().to_string().starts_with("stream error")
        {
            let demoted = log::Record::builder()
                .level(log::Level::Debug)
                .target(record.target())
                .args(*record.args())
                .build();
            if self.0.enabled(demoted.metadata()) {
                self.0.log(&demoted);
            }
            return;
        }
        self.0.log(record);
    }

    fn flush(&self) {
        self.0.flush();
    }
}

thread_local! {
    /// The second a line was last stamped in, and its text.
    static STAMP: RefCell<(u64, Rc<str>)> = RefCell::new((u64::MAX, Rc::from("")));
}

/// The time for a line, to the second as env_logger writes it; formatted
/// once per second per thread rather than for every line (an access line
/// is written for every request).
fn timestamp(out: &env_logger::fmt::Formatter) -> Rc<str> {
    let second = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    STAMP.with(|stamp| {
        let mut stamp = stamp.borrow_mut();
        if stamp.0 != second {
            *stamp = (second, Rc::from(out.timestamp().to_string()));
        }
        Rc::clone(&stamp.1)
    })
}

/// The level, padded to 5 characters like `{:<5}`, without the formatter's
/// padding machinery.
fn padded(level: log::Level) -> &'static str {
    match level {
        log::Level::Error => "ERROR",
        log::Level::Warn => "WARN ",
        log::Level::Info => "INFO ",
        log::Level::Debug => "DEBUG",
        log::Level::Trace => "TRACE",
    }
}

/// Whether lines are JSON objects (`log.format = "json"`) rather than text.
static JSON: AtomicBool = AtomicBool::new(false);

/// Switches the format of every line from now on (the logger is installed
/// before the settings are read).
pub fn set_format(format: LogFormat) {
    JSON.store(format == LogFormat::Json, Ordering::Relaxed);
}

/// One JSON object: time, level, target, the request's id if any, the
/// message and the record's key-values (an access line's method, route,
/// path, key, status and latency_ms).
fn json_line(time: &str, request_id: Option<&str>, record: &log::Record<'_>) -> String {
    let mut line = serde_json::Map::new();
    line.insert("time".into(), time.into());
    line.insert("level".into(), record.level().as_str().into());
    line.insert("target".into(), record.target().into());
    if let Some(id) = request_id {
        line.insert("request_id".into(), id.into());
    }
    line.insert("message".into(), record.args().to_string().into());
    let _ = record.key_values().visit(&mut Fields(&mut line));
    serde_json::Value::Object(line).to_string()
}

/// Copies key-values into a JSON object, numbers as numbers.
struct Fields<'a>(&'a mut serde_json::Map<String, serde_json::Value>);

impl<'kvs> log::kv::VisitSource<'kvs> for Fields<'_> {
    fn visit_pair(
        &mut self,
        key: log::kv::Key<'kvs>,
        value: log::kv::Value<'kvs>,
    ) -> Result<(), log::kv::Error> {
        let json = if let Some(n) = value.to_u64() {
            n.into()
        } else if let Some(n) = value.to_i64() {
            n.into()
        } else if let Some(x) = value.to_f64() {
            x.into()
        } else if let Some(b) = value.to_bool() {
            b.into()
        } else if let Some(text) = value.to_borrowed_str() {
            text.into()
        } else if value.to_string() == "None" {
            serde_json::Value::Null
        } else {
            value.to_string().into()
        };
        self.0.insert(key.as_str().to_owned(), json);
        Ok(())
    }
}

/// Installs the logger: `RUST_LOG` sets the level (default `info`).
pub fn init() -> Flusher {
    let buffer = Arc::new(Mutex::new(Vec::with_capacity(64 * 1024)));
    let flusher = Flusher(buffer.clone());
    let logger =
        env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
            // rusty_tarantool's codec logs the login packet, password included,
            // at info; no RUST_LOG setting may turn that on.
            .filter_module("rusty_tarantool::tarantool::codec", log::LevelFilter::Off)
            .target(env_logger::Target::Pipe(Box::new(BufferedStderr(buffer))))
            // The default format's coloured level must then be stripped from every
            // line again; a plain format of the same shape costs nothing to pass on.
            .write_style(env_logger::WriteStyle::Always)
            .format(|out, record| {
                let time = timestamp(out);
                let id = request_id::current();
                if JSON.load(Ordering::Relaxed) {
                    writeln!(
                        out,
                        "{}",
                        json_line(&time, id.as_ref().map(RequestId::as_str), record)
                    )
                } else {
                    let level = padded(record.level());
                    match id {
                        Some(id) => writeln!(
                            out,
                            "[{time} {level} {} request={}] {}",
                            record.target(),
                            id.as_str(),
                            record.args()
                        ),
                        None => writeln!(
                            out,
                            "[{time} {level} {}] {}",
                            record.target(),
                            record.args()
                        ),
                    }
                }
            })
            .build();
    log::set_max_level(logger.filter());
    // Only fails if a logger is already set, which leaves that one in place.
    let _ = log::set_boxed_logger(Box::new(ClientFaultsAtDebug(logger)));
    // Panics go through the logger too, and are written out at once: a
    // panic on the main thread ends the process before the next flush.
    let on_panic = flusher.clone();
    std::panic::set_hook(Box::new(move |info| {
        let thread = std::thread::current();
        log::error!(
            "panic in thread {}: {info}",
            thread.name().unwrap_or("unnamed")
        );
        on_panic.flush();
    }));
    let background = flusher.clone();
    std::thread::Builder::new()
        .name("log-flusher".into())
        .spawn(move || loop {
            std::thread::sleep(FLUSH_INTERVAL);
            background.flush();
        })
        .expect("the log flusher thread starts");
    flusher
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_are_padded_like_the_formatter_pads_them() {
        for level in [
            log::Level::Error,
            log::Level::Warn,
            log::Level::Info,
            log::Level::Debug,
            log::Level::Trace,
        ] {
            assert_eq!(padded(level), format!("{level:<5}"));
        }
    }

    #[test]
    fn writes_are_buffered_until_flushed() {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let mut writer = BufferedStderr(buffer.clone());
        writer.write_all(b"line\n").unwrap();
        writer.flush().unwrap();
        assert_eq!(&*buffer.lock().unwrap(), b"line\n");
        Flusher(buffer.clone()).flush();
        assert!(buffer.lock().unwrap().is_empty());
    }

    #[test]
    fn a_full_buffer_is_written_out_at_once() {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let mut writer = BufferedStderr(buffer.clone());
        writer.write_all(&vec![b'\n'; MAX_BUFFERED]).unwrap();
        assert!(buffer.lock().unwrap().is_empty());
    }
}
