//! One local stack per scenario, driven like production: the real handlers behind the SQS event-source
//! emulator (several concurrent pollers, a function timeout), faults through the stand-ins' `/__fake/`
//! control API, and counts read back from the stand-ins and moto.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use aws_sdk_sqs::types::QueueAttributeName;
use devstack::lambda::{InvokeContext, JsonHandler, json_handler};
use devstack::sqs::{EventSource, EventSourceHandle};
use devstack::{Stack, StackOptions};
use futures::FutureExt;
use lambda_kit::LeakCheck;
use serde_json::Value;

/// The log filter of a chaos run: every crate of the workspace at `debug`, the HTTP and AWS SDK plumbing at
/// `info` (the level the Lambdas run at), so a secret logged at debug by the suite's own code is caught.
pub const LOG_FILTER: &str = "debug,hyper=info,hyper_util=info,h2=info,rustls=info,reqwest=info,\
aws_smithy_runtime=info,aws_smithy_runtime_api=info,aws_sigv4=info,aws_config=info,tower=info,aws_smithy_http_client=info";

/// How the queue is consumed in a scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Consumers {
    /// Concurrent event-source pollers (the deployed mapping allows 2; FIFO groups keep per-collaborator
    /// order whatever the number).
    pub pollers: usize,
    /// The queue's visibility timeout, shortened from the deployed 360 s.
    pub visibility: Duration,
    /// The function timeout: an invocation still running after it fails as a whole, as Lambda's would.
    pub function_timeout: Duration,
}

/// A running stack plus what the scenario added.
pub struct Harness {
    /// The stack (fakes, moto, registry, queues).
    pub stack: Stack,
    /// The leak check every log line of the process goes through.
    pub leaks: LeakCheck,
    leaks_at_start: usize,
    http: reqwest::Client,
    pollers: Vec<EventSourceHandle>,
    /// Every body read from the DLQ (and deleted there), in reading order.
    dead_letters: Mutex<Vec<String>>,
}

impl std::fmt::Debug for Harness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Harness")
            .field("stack", &self.stack)
            .finish_non_exhaustive()
    }
}

impl Harness {
    /// Starts a stack on free ports with the real handlers (`demo::start`), stops its own `cls-queue`
    /// mapping (the scenario runs its own pollers) and seeds the process's leak check with every credential
    /// of the stack.
    pub async fn start() -> Result<Self> {
        let mut stack = demo::start(StackOptions::ephemeral())
            .await
            .context("starting the local stack")?;
        if let Some(source) = stack.event_source.take() {
            source.stop().await;
        }
        let leaks = LeakCheck::global();
        seed_stack_secrets(leaks, &stack).await?;
        let http = lambda_kit::http::http_client(concat!("chaos/", env!("CARGO_PKG_VERSION")))?;
        Ok(Self {
            stack,
            leaks: leaks.clone(),
            leaks_at_start: leaks.count(),
            http,
            pollers: Vec::new(),
            dead_letters: Mutex::default(),
        })
    }

    /// Leaks found since the harness started.
    pub fn leaked(&self) -> u64 {
        u64::try_from(self.leaks.count().saturating_sub(self.leaks_at_start)).unwrap_or(u64::MAX)
    }

    /// Scans a text the scenario saw (an error, a response, CLI output) for leaks.
    pub fn scan(&self, source: &str, text: &str) {
        self.leaks.scan(source, text);
    }

    /// Adds a fault rule to the stand-in `fake` (`spoke`, `github`, `slack`, `webex`) through its control API.
    pub async fn fault(&self, fake: &str, rule: &Value) -> Result<()> {
        let url = format!("{}/faults", self.stack.devstack.control_url(fake));
        let response = self.http.post(&url).json(rule).send().await?;
        if !response.status().is_success() {
            bail!(
                "{fake} refused the fault rule: {} {}",
                response.status(),
                response.text().await.unwrap_or_default()
            );
        }
        Ok(())
    }

    /// Removes every fault rule of `fake`.
    pub async fn clear_faults(&self, fake: &str) -> Result<()> {
        let url = format!("{}/faults", self.stack.devstack.control_url(fake));
        let response = self.http.delete(&url).send().await?;
        anyhow::ensure!(
            response.status().is_success(),
            "{fake}: clearing faults answered {}",
            response.status()
        );
        Ok(())
    }

    /// Sets the main queue's visibility timeout.
    pub async fn set_visibility(&self, visibility: Duration) -> Result<()> {
        self.stack
            .sqs
            .set_queue_attributes()
            .queue_url(&self.stack.queues.url)
            .attributes(
                QueueAttributeName::VisibilityTimeout,
                visibility.as_secs().to_string(),
            )
            .send()
            .await
            .map_err(|e| anyhow!("SetQueueAttributes: {e:?}"))?;
        Ok(())
    }

    /// `cls-queue` as registered by the stack, cut off after `timeout` as Lambda would (the batch then fails
    /// as a whole and its messages come back after the visibility timeout).
    pub fn consumer(&self, timeout: Duration) -> Result<JsonHandler> {
        let handler = self
            .stack
            .registry
            .get("cls-queue")
            .ok_or_else(|| anyhow!("cls-queue is not registered"))?;
        Ok(with_timeout(handler, timeout))
    }

    /// Starts `consumers.pollers` concurrent pollers of the main queue feeding `handler`.
    pub async fn start_pollers(
        &mut self,
        consumers: Consumers,
        handler: &JsonHandler,
    ) -> Result<()> {
        self.set_visibility(consumers.visibility).await?;
        for _ in 0..consumers.pollers {
            let source = EventSource::new(
                self.stack.sqs.clone(),
                &self.stack.queues.url,
                "cls-queue",
                handler.clone(),
            )
            .wait_time_secs(1);
            self.pollers.push(source.spawn());
        }
        Ok(())
    }

    /// Stops every poller (an invocation in flight is abandoned; its messages stay on the queue).
    pub async fn stop_pollers(&mut self) {
        for poller in self.pollers.drain(..) {
            poller.stop().await;
        }
    }

    /// Stops the pollers after adding to `result` how many batches they handled (`batches`) and how many
    /// failed in part or whole (`batches_failed`).
    pub async fn stop_pollers_counting(&mut self, result: &mut crate::report::ScenarioResult) {
        let (batches, failed) = self.batches();
        for (key, value) in [("batches", batches), ("batches_failed", failed)] {
            let previous = result.details.get(key).copied().unwrap_or(0);
            result.detail(key, previous + value);
        }
        self.stop_pollers().await;
    }

    /// Batches handled by the pollers so far, and how many of them failed in part or whole.
    pub fn batches(&self) -> (u64, u64) {
        let outcomes: Vec<_> = self.pollers.iter().flat_map(|p| p.outcomes()).collect();
        for outcome in &outcomes {
            if let Some(error) = &outcome.batch_error {
                self.leaks.scan("error", error);
            }
        }
        let failed = outcomes.iter().filter(|o| !o.is_success()).count();
        (to_u64(outcomes.len()), to_u64(failed))
    }

    /// Waits until the main queue holds nothing (visible or in flight) on three checks in a row, or fails
    /// after `limit`.
    pub async fn wait_drained(&self, limit: Duration) -> Result<()> {
        let started = Instant::now();
        let mut empty_checks = 0;
        while started.elapsed() < limit {
            let depth = devstack::aws::queue_depth(&self.stack.sqs, &self.stack.queues.url)
                .await
                .map_err(|e| anyhow!("queue depth: {e}"))?;
            empty_checks = if depth == 0 { empty_checks + 1 } else { 0 };
            if empty_checks >= 3 {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        let depth = devstack::aws::queue_depth(&self.stack.sqs, &self.stack.queues.url)
            .await
            .unwrap_or(0);
        bail!(
            "the queue still holds {depth} message(s) after {} s",
            limit.as_secs()
        )
    }

    /// The bodies of every message that reached the dead-letter queue so far. The DLQ is FIFO, so a received
    /// message blocks the rest of its group until it is deleted: each one is read, kept here and deleted,
    /// and later calls return it again with any newer ones.
    pub async fn dlq_bodies(&self) -> Result<Vec<String>> {
        loop {
            let received = self
                .stack
                .sqs
                .receive_message()
                .queue_url(&self.stack.queues.dlq_url)
                .max_number_of_messages(10)
                .visibility_timeout(300)
                .wait_time_seconds(0)
                .send()
                .await
                .map_err(|e| anyhow!("ReceiveMessage on the DLQ: {e:?}"))?;
            if received.messages().is_empty() {
                break;
            }
            for message in received.messages() {
                self.stack
                    .sqs
                    .delete_message()
                    .queue_url(&self.stack.queues.dlq_url)
                    .receipt_handle(message.receipt_handle().unwrap_or_default())
                    .send()
                    .await
                    .map_err(|e| anyhow!("DeleteMessage on the DLQ: {e:?}"))?;
                lock(&self.dead_letters).push(message.body().unwrap_or_default().to_owned());
            }
        }
        Ok(lock(&self.dead_letters).clone())
    }

    /// Stops the pollers and the stack.
    pub async fn shutdown(mut self) {
        self.stop_pollers().await;
        self.stack.shutdown().await;
    }
}

/// `handler` cut off after `timeout`: the invocation then fails as a whole (`Task timed out`).
pub fn with_timeout(handler: JsonHandler, timeout: Duration) -> JsonHandler {
    json_handler(move |event: Value, ctx: InvokeContext| {
        let handler = handler.clone();
        async move {
            let run = std::panic::AssertUnwindSafe(handler(event, ctx)).catch_unwind();
            match tokio::time::timeout(timeout, run).await {
                Ok(Ok(result)) => result,
                Ok(Err(_)) => Err("the handler panicked".to_owned()),
                Err(_) => Err(format!(
                    "Task timed out after {:.2} seconds",
                    timeout.as_secs_f64()
                )),
            }
        }
    })
}

/// Seeds `leaks` with every credential of the stack: the run's dev secrets, and every credential-named
/// field of every secret the services created in moto (API keys, App private keys, webhook and signing
/// secrets, bot tokens, webhook URLs, OAuth client secrets and tokens; `LeakCheck::seed_json`).
pub async fn seed_stack_secrets(leaks: &LeakCheck, stack: &Stack) -> Result<()> {
    let dev = &stack.dev_secrets;
    leaks
        .seed("github webhook secret", &dev.github_webhook_secret)
        .seed("slack signing secret", &dev.slack_signing_secret)
        .seed("spoke api key", &dev.spoke_api_key);
    let listed = stack
        .secrets
        .list_secrets()
        .max_results(100)
        .send()
        .await
        .map_err(|e| anyhow!("ListSecrets: {e:?}"))?;
    for name in listed.secret_list().iter().filter_map(|s| s.name()) {
        let (value, _) = devstack::aws::get_secret(&stack.secrets, name)
            .await
            .map_err(|e| anyhow!("reading the secret {name}: {e}"))?;
        leaks.seed_json(name, &value);
    }
    Ok(())
}

/// A progress line on stderr (the verdict lines go to stdout).
#[allow(clippy::print_stderr)]
pub fn progress(scenario: &str, message: &str) {
    eprintln!("chaos {scenario}: {message}");
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// `usize` → `u64` for the report.
pub fn to_u64(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}
