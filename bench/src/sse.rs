//! Server-Sent Events clients of `GET /watch`: `kv-bench sse-watchers`
//! keeps N streams open (reading and dropping what comes) while a case
//! runs, and `SseReader` hands `watch-lag` the revision of each event as it
//! arrives.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::args::Args;

/// An open `GET /watch` stream, read line by line.
pub struct SseReader {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl SseReader {
    /// Opens `GET /watch?{query}` on `addr` and reads past the response head.
    pub async fn open(addr: SocketAddr, query: &str) -> Result<SseReader, String> {
        let mut stream = TcpStream::connect(addr)
            .await
            .map_err(|e| format!("watch {addr}: {e}"))?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        let request = format!("GET /watch?{query} HTTP/1.1\r\nHost: {addr}\r\n\r\n");
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let mut reader = SseReader {
            stream,
            buf: Vec::with_capacity(64 * 1024),
        };
        loop {
            if let Some(end) = find(&reader.buf, b"\r\n\r\n") {
                if !reader.buf.starts_with(b"HTTP/1.1 200") {
                    let head = String::from_utf8_lossy(&reader.buf[..end]).into_owned();
                    return Err(format!("GET /watch answered {head}"));
                }
                reader.buf.drain(..end + 4);
                return Ok(reader);
            }
            reader.fill().await?;
        }
    }

    /// The revision of the next event (its `id:` line); `None` at the end.
    /// The body is chunked, one chunk per event, so an `id:` line is never
    /// cut by a chunk header.
    pub async fn next_id(&mut self) -> Option<u64> {
        loop {
            while let Some(end) = find(&self.buf, b"\n") {
                let line: Vec<u8> = self.buf.drain(..=end).collect();
                if let Some(id) = line.strip_prefix(b"id: ") {
                    let id = std::str::from_utf8(id).ok()?.trim();
                    return id.parse().ok();
                }
            }
            self.fill().await.ok()?;
        }
    }

    /// Reads and drops everything until the stream ends.
    pub async fn drain(mut self) {
        let mut scratch = vec![0u8; 64 * 1024];
        while matches!(self.stream.read(&mut scratch).await, Ok(n) if n > 0) {}
    }

    async fn fill(&mut self) -> Result<(), String> {
        self.buf.reserve(16 * 1024);
        match self.stream.read_buf(&mut self.buf).await {
            Ok(0) => Err("the stream ended".into()),
            Ok(_) => Ok(()),
            Err(e) => Err(e.to_string()),
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// `kv-bench sse-watchers --addr A --count N --seconds S`: N streams of
/// every change, read as fast as they come, for S seconds (or until killed).
pub fn watchers(args: &Args) -> Result<(), String> {
    let addr: SocketAddr = args.get("addr")?;
    let count: usize = args.get("count")?;
    let seconds: f64 = args.get("seconds")?;
    let threads: usize = args.get_or("threads", 1)?;
    let runtime = crate::load_runtime(threads)?;
    runtime.block_on(async move {
        let mut streams = Vec::with_capacity(count);
        for _ in 0..count {
            streams.push(SseReader::open(addr, "").await?);
        }
        println!("WATCHING {count}");
        let tasks: Vec<_> = streams
            .into_iter()
            .map(|s| tokio::spawn(s.drain()))
            .collect();
        tokio::time::sleep_until(Instant::now() + Duration::from_secs_f64(seconds)).await;
        for task in tasks {
            task.abort();
        }
        Ok(())
    })
}
