//! AWS SDK clients pointed at moto, and the resources the local stack creates there.
//!
//! Clients are built from explicit values (region `us-east-1`, credentials `testing`), never from the process
//! environment, so tests can run side by side against different moto servers.

use std::collections::HashMap;

use aws_sdk_secretsmanager::error::ProvideErrorMetadata;
use aws_sdk_sqs::types::QueueAttributeName;
use serde_json::Value;

/// The region the local stack uses.
pub const REGION: &str = "us-east-1";
/// moto's default account id.
pub const ACCOUNT_ID: &str = "123456789012";

/// Creating a local AWS resource failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AwsSetupError {
    /// An SQS call failed.
    #[error("SQS {operation} failed for {name}: {message}")]
    Sqs {
        /// The operation.
        operation: &'static str,
        /// The queue name.
        name: String,
        /// The service's error code and message.
        message: String,
    },
    /// An EventBridge call failed.
    #[error("EventBridge {operation} failed for {name}: {message}")]
    Events {
        /// The operation.
        operation: &'static str,
        /// The bus or rule name.
        name: String,
        /// The service's error code and message.
        message: String,
    },
    /// A Secrets Manager call failed.
    #[error("Secrets Manager {operation} failed for {name}: {message}")]
    Secrets {
        /// The operation.
        operation: &'static str,
        /// The secret name.
        name: String,
        /// The service's error code (never the value).
        message: String,
    },
}

fn credentials() -> aws_sdk_sqs::config::Credentials {
    aws_sdk_sqs::config::Credentials::new("testing", "testing", None, None, "devstack")
}

/// An SQS client for the moto server at `endpoint`.
pub fn sqs_client(endpoint: &str) -> aws_sdk_sqs::Client {
    let config = aws_sdk_sqs::Config::builder()
        .behavior_version(aws_sdk_sqs::config::BehaviorVersion::latest())
        .region(aws_sdk_sqs::config::Region::new(REGION))
        .credentials_provider(credentials())
        .endpoint_url(endpoint)
        .http_client(lambda_kit::aws_http::aws_http_client())
        .build();
    aws_sdk_sqs::Client::from_conf(config)
}

/// A Secrets Manager client for the moto server at `endpoint`.
pub fn secrets_client(endpoint: &str) -> aws_sdk_secretsmanager::Client {
    let config = aws_sdk_secretsmanager::Config::builder()
        .behavior_version(aws_sdk_secretsmanager::config::BehaviorVersion::latest())
        .region(aws_sdk_secretsmanager::config::Region::new(REGION))
        .credentials_provider(aws_sdk_secretsmanager::config::Credentials::new(
            "testing", "testing", None, None, "devstack",
        ))
        .endpoint_url(endpoint)
        .http_client(lambda_kit::aws_http::aws_http_client())
        .build();
    aws_sdk_secretsmanager::Client::from_conf(config)
}

/// An EventBridge client for the moto server at `endpoint`.
pub fn events_client(endpoint: &str) -> aws_sdk_eventbridge::Client {
    let config = aws_sdk_eventbridge::Config::builder()
        .behavior_version(aws_sdk_eventbridge::config::BehaviorVersion::latest())
        .region(aws_sdk_eventbridge::config::Region::new(REGION))
        .credentials_provider(aws_sdk_eventbridge::config::Credentials::new(
            "testing", "testing", None, None, "devstack",
        ))
        .endpoint_url(endpoint)
        .http_client(lambda_kit::aws_http::aws_http_client())
        .build();
    aws_sdk_eventbridge::Client::from_conf(config)
}

/// Creates the custom bus `bus` (an existing one is kept), the standard queue `queue` and a rule `rule` on the
/// bus whose `pattern` matches the events to deliver to the queue: locally, what a rule with a Lambda target
/// is in the stack (moto delivers each matching event's JSON as one message body). Returns the queue URL.
pub async fn create_bus_to_queue(
    events: &aws_sdk_eventbridge::Client,
    sqs: &aws_sdk_sqs::Client,
    bus: &str,
    rule: &str,
    queue: &str,
    pattern: &Value,
) -> Result<String, AwsSetupError> {
    let events_error =
        |operation: &'static str, name: &str, message: String| AwsSetupError::Events {
            operation,
            name: name.to_owned(),
            message,
        };
    match events.create_event_bus().name(bus).send().await {
        Ok(_) => {}
        Err(e) if e.code() == Some("ResourceAlreadyExistsException") => {}
        Err(e) => return Err(events_error("CreateEventBus", bus, describe(&e))),
    }
    let (url, arn) = create_queue(sqs, queue, HashMap::new()).await?;
    events
        .put_rule()
        .name(rule)
        .event_bus_name(bus)
        .event_pattern(pattern.to_string())
        .send()
        .await
        .map_err(|e| events_error("PutRule", rule, describe(&e)))?;
    let target = aws_sdk_eventbridge::types::Target::builder()
        .id(queue)
        .arn(arn)
        .build()
        .map_err(|e| events_error("PutTargets", rule, e.to_string()))?;
    events
        .put_targets()
        .rule(rule)
        .event_bus_name(bus)
        .targets(target)
        .send()
        .await
        .map_err(|e| events_error("PutTargets", rule, describe(&e)))?;
    Ok(url)
}

/// A FIFO queue and its FIFO dead-letter queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FifoQueues {
    /// The main queue's URL.
    pub url: String,
    /// The main queue's ARN.
    pub arn: String,
    /// The DLQ's URL.
    pub dlq_url: String,
    /// The DLQ's ARN.
    pub dlq_arn: String,
}

/// Settings of [`create_fifo_queue_with_dlq`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FifoQueueSpec {
    /// The main queue's name; must end in `.fifo`.
    pub name: String,
    /// The DLQ's name; must end in `.fifo`.
    pub dlq_name: String,
    /// Visibility timeout in seconds (production: 360; tests: 0 or 1).
    pub visibility_timeout_secs: u32,
    /// Receives before moto moves a message to the DLQ (production: 5).
    pub max_receive_count: u32,
}

impl FifoQueueSpec {
    /// `<name>.fifo` with DLQ `<name>-dlq.fifo`, visibility 360 s and 5 receives, as deployed.
    pub fn new(name: &str) -> Self {
        let base = name.strip_suffix(".fifo").unwrap_or(name);
        Self {
            name: format!("{base}.fifo"),
            dlq_name: format!("{base}-dlq.fifo"),
            visibility_timeout_secs: 360,
            max_receive_count: 5,
        }
    }

    /// Sets the visibility timeout.
    pub fn visibility_timeout_secs(mut self, secs: u32) -> Self {
        self.visibility_timeout_secs = secs;
        self
    }

    /// Sets the receive count after which messages are moved to the DLQ.
    pub fn max_receive_count(mut self, count: u32) -> Self {
        self.max_receive_count = count;
        self
    }
}

/// Creates the FIFO DLQ, then the FIFO queue with a redrive policy to it (explicit deduplication ids, as
/// deployed). Idempotent for identical settings.
pub async fn create_fifo_queue_with_dlq(
    client: &aws_sdk_sqs::Client,
    spec: &FifoQueueSpec,
) -> Result<FifoQueues, AwsSetupError> {
    let (dlq_url, dlq_arn) = create_queue(
        client,
        &spec.dlq_name,
        HashMap::from([(QueueAttributeName::FifoQueue, "true".to_owned())]),
    )
    .await?;
    let redrive = serde_json::json!({
        "deadLetterTargetArn": dlq_arn,
        "maxReceiveCount": spec.max_receive_count.to_string(),
    });
    let (url, arn) = create_queue(
        client,
        &spec.name,
        HashMap::from([
            (QueueAttributeName::FifoQueue, "true".to_owned()),
            (
                QueueAttributeName::VisibilityTimeout,
                spec.visibility_timeout_secs.to_string(),
            ),
            (QueueAttributeName::RedrivePolicy, redrive.to_string()),
        ]),
    )
    .await?;
    Ok(FifoQueues {
        url,
        arn,
        dlq_url,
        dlq_arn,
    })
}

/// Creates a queue with `attributes`; returns its URL and ARN.
pub async fn create_queue(
    client: &aws_sdk_sqs::Client,
    name: &str,
    attributes: HashMap<QueueAttributeName, String>,
) -> Result<(String, String), AwsSetupError> {
    let sqs_error = |operation: &'static str, message: String| AwsSetupError::Sqs {
        operation,
        name: name.to_owned(),
        message,
    };
    let created = client
        .create_queue()
        .queue_name(name)
        .set_attributes(Some(attributes))
        .send()
        .await
        .map_err(|e| sqs_error("CreateQueue", describe(&e)))?;
    let url = created
        .queue_url()
        .ok_or_else(|| sqs_error("CreateQueue", "no queue URL in the answer".to_owned()))?
        .to_owned();
    let arn = queue_arn(client, &url)
        .await
        .map_err(|message| sqs_error("GetQueueAttributes", message))?;
    Ok((url, arn))
}

/// The ARN of the queue at `url`.
pub async fn queue_arn(client: &aws_sdk_sqs::Client, url: &str) -> Result<String, String> {
    let attributes = client
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| describe(&e))?;
    attributes
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn))
        .cloned()
        .ok_or_else(|| "no QueueArn attribute".to_owned())
}

/// Messages currently in the queue (visible plus in flight), from `ApproximateNumberOfMessages*`.
pub async fn queue_depth(client: &aws_sdk_sqs::Client, url: &str) -> Result<u64, String> {
    let attributes = client
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .map_err(|e| describe(&e))?;
    let map = attributes.attributes().cloned().unwrap_or_default();
    let read = |name: QueueAttributeName| {
        map.get(&name)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    Ok(read(QueueAttributeName::ApproximateNumberOfMessages)
        + read(QueueAttributeName::ApproximateNumberOfMessagesNotVisible))
}

/// Creates the secret `name` with `value` (JSON text), or writes a new `AWSCURRENT` version when it exists.
/// Returns the version id.
pub async fn put_secret(
    client: &aws_sdk_secretsmanager::Client,
    name: &str,
    value: &Value,
) -> Result<String, AwsSetupError> {
    let secrets_error = |operation: &'static str, message: String| AwsSetupError::Secrets {
        operation,
        name: name.to_owned(),
        message,
    };
    let text = value.to_string();
    match client
        .create_secret()
        .name(name)
        .secret_string(&text)
        .send()
        .await
    {
        Ok(created) => Ok(created.version_id().unwrap_or_default().to_owned()),
        Err(e) if e.code() == Some("ResourceExistsException") => {
            let put = client
                .put_secret_value()
                .secret_id(name)
                .secret_string(&text)
                .send()
                .await
                .map_err(|e| secrets_error("PutSecretValue", code_only(&e)))?;
            Ok(put.version_id().unwrap_or_default().to_owned())
        }
        Err(e) => Err(secrets_error("CreateSecret", code_only(&e))),
    }
}

/// Reads the secret's current JSON value and version id (for the demo's evidence and for tests).
pub async fn get_secret(
    client: &aws_sdk_secretsmanager::Client,
    name: &str,
) -> Result<(Value, String), AwsSetupError> {
    let secrets_error = |message: String| AwsSetupError::Secrets {
        operation: "GetSecretValue",
        name: name.to_owned(),
        message,
    };
    let got = client
        .get_secret_value()
        .secret_id(name)
        .send()
        .await
        .map_err(|e| secrets_error(code_only(&e)))?;
    let value = serde_json::from_str(got.secret_string().unwrap_or("null"))
        .map_err(|_| secrets_error("the value is not JSON".to_owned()))?;
    Ok((value, got.version_id().unwrap_or_default().to_owned()))
}

/// `Code: message` of an SDK error (SQS messages carry no secrets).
pub(crate) fn describe<E: ProvideErrorMetadata + std::fmt::Debug>(error: &E) -> String {
    match (error.code(), error.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code.to_owned(),
        _ => format!("{error:?}").chars().take(300).collect(),
    }
}

/// Only the error code of a Secrets Manager error: its message may echo request parameters.
fn code_only<E: ProvideErrorMetadata>(error: &E) -> String {
    error
        .code()
        .unwrap_or("transport or unknown error")
        .to_owned()
}
