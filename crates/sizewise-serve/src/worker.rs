//! Worker threads: each owns one [`Engine`] and runs queued jobs one at a time.

use std::ops::ControlFlow;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use sizewise_engine::{Engine, EngineError, FinishReason, GenParams, GeneratedLogprobs, Prompt};
use tokio::sync::mpsc;

use crate::Counters;

/// Pieces a stream may have in flight before the worker waits for the client to read.
pub(crate) const EVENT_BUFFER: usize = 32;

/// What a worker tells the request's handler.
#[derive(Debug)]
pub(crate) enum Event {
    /// A piece of streamed text.
    Piece(String),
    /// Generation ended.
    Done(Outcome),
    /// The engine refused or failed the request.
    Failed(EngineError),
}

/// The end of a generation.
#[derive(Debug)]
pub(crate) struct Outcome {
    /// The whole text; empty for a stream, whose text went out as pieces.
    pub(crate) text: String,
    pub(crate) prompt_tokens: usize,
    pub(crate) output_tokens: usize,
    pub(crate) finish_reason: &'static str,
    /// Each generated token's log-probabilities, when the request asked for them.
    pub(crate) logprobs: Vec<GeneratedLogprobs>,
}

/// One request for a worker.
pub(crate) struct Job {
    pub(crate) prompt: Prompt,
    pub(crate) params: GenParams,
    /// Send each piece as an [`Event::Piece`] (else only the [`Event::Done`]).
    pub(crate) stream: bool,
    pub(crate) events: mpsc::Sender<Event>,
}

/// Starts one thread per engine; they take jobs from `queue` until every sender is gone.
pub(crate) fn spawn(
    engines: Vec<Engine>,
    queue: Receiver<Job>,
    counters: Arc<Counters>,
    stopping: Arc<AtomicBool>,
) -> std::io::Result<Vec<JoinHandle<()>>> {
    // The workers share one receiver: whichever is idle takes the next job.
    let queue = Arc::new(Mutex::new(queue));
    engines
        .into_iter()
        .enumerate()
        .map(|(index, engine)| {
            let queue = queue.clone();
            let counters = counters.clone();
            let stopping = stopping.clone();
            std::thread::Builder::new()
                .name(format!("sizewise-serve-{index}"))
                .spawn(move || work(engine, &queue, &counters, &stopping))
        })
        .collect()
}

fn work(mut engine: Engine, queue: &Mutex<Receiver<Job>>, counters: &Counters, stop: &AtomicBool) {
    loop {
        let job = {
            let queue = queue
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            queue.recv()
        };
        let Ok(job) = job else { return };
        run(&mut engine, job, counters, stop);
    }
}

fn run(engine: &mut Engine, job: Job, counters: &Counters, stop: &AtomicBool) {
    // A client that left while its request waited costs no generation.
    if job.events.is_closed() || stop.load(Ordering::Relaxed) {
        counters.cancelled.fetch_add(1, Ordering::Relaxed);
        return;
    }
    let events = &job.events;
    let on_token = |piece: &str| {
        if stop.load(Ordering::Relaxed) {
            return ControlFlow::Break(());
        }
        // A closed channel means the client is gone: free the worker for the next request.
        let gone = if job.stream {
            events
                .blocking_send(Event::Piece(piece.to_string()))
                .is_err()
        } else {
            events.is_closed()
        };
        if gone {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    };
    // A panic inside llama.cpp's bindings must not take the worker, and its slot, with it.
    let result = std::panic::catch_unwind(AssertUnwindSafe(|| {
        engine.generate(&job.prompt, &job.params, on_token)
    }));
    let event = match result {
        Ok(Ok(generation)) => {
            counters.add_tokens(generation.prompt_tokens, generation.output_tokens);
            if generation.finish_reason == FinishReason::Cancelled {
                counters.cancelled.fetch_add(1, Ordering::Relaxed);
                return;
            }
            counters.completed.fetch_add(1, Ordering::Relaxed);
            Event::Done(Outcome {
                text: if job.stream {
                    String::new()
                } else {
                    generation.text
                },
                prompt_tokens: generation.prompt_tokens,
                output_tokens: generation.output_tokens,
                finish_reason: generation.finish_reason.as_openai(),
                logprobs: generation.logprobs,
            })
        }
        Ok(Err(err)) => {
            counters.failed.fetch_add(1, Ordering::Relaxed);
            Event::Failed(err)
        }
        Err(_) => {
            counters.failed.fetch_add(1, Ordering::Relaxed);
            Event::Failed(EngineError::Decode {
                what: "the request".into(),
                reason: "the engine panicked".into(),
            })
        }
    };
    let _ = job.events.blocking_send(event);
}
