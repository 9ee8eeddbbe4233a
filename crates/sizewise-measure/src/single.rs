//! One streamed request at a time, keeping each answer's text: for commands that need what
//! the model said (`eval`), not a load.

use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::Result;
use crate::client::{Conn, Exec, Job, Target};
use crate::config::Endpoint;
use crate::record::RequestRecord;
use crate::sse::SseParser;

/// A connection to one endpoint that sends requests one after another and keeps their text.
pub struct OneAtATime {
    target: Target,
    timeout: Duration,
    conn: Option<Conn>,
    parser: SseParser,
    sent: u64,
}

impl std::fmt::Debug for OneAtATime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OneAtATime")
            .field("target", &self.target)
            .field("timeout", &self.timeout)
            .field("sent", &self.sent)
            .finish_non_exhaustive()
    }
}

impl OneAtATime {
    /// Resolves `url` (the API base, e.g. `http://127.0.0.1:8080/v1`) for `endpoint`.
    /// `ca_cert` is a PEM of extra trusted roots for `https://`.
    pub async fn new(
        url: &str,
        endpoint: Endpoint,
        api_key: Option<&str>,
        ca_cert: Option<&[u8]>,
        timeout: Duration,
    ) -> Result<OneAtATime> {
        Ok(OneAtATime {
            target: Target::resolve(url, endpoint, api_key, ca_cert).await?,
            timeout,
            conn: None,
            parser: SseParser::default(),
            sent: 0,
        })
    }

    /// Sends `body` (a streaming request: `"stream": true`) and waits for its end. The record
    /// carries the streamed text, the usage, the finish reason and the timeline; a failure is
    /// in its `error`, never a panic or a hang past the timeout.
    pub async fn send(&mut self, body: &serde_json::Value, max_tokens: u32) -> RequestRecord {
        let exec = Exec {
            target: &self.target,
            timeout: self.timeout,
            strict_token_count: false,
            capture_text: true,
        };
        let now = Instant::now();
        let job = Job {
            index: self.sent,
            max_tokens,
            body: Bytes::from(body.to_string()),
            phase_start: now,
            planned: now,
        };
        self.sent += 1;
        self.parser.reset();
        exec.execute(job, &mut self.conn, &mut self.parser).await
    }
}
