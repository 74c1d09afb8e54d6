//! What the DynamoDB and S3 adapters share about failed AWS requests.

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// The code and message of a failed request, without its request id, so the text can be
/// logged or compared without leaking AWS internals.
pub(crate) fn describe<E, R>(error: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match error {
        SdkError::ServiceError(context) => {
            let inner = context.err();
            format!(
                "{}: {}",
                inner.code().unwrap_or("unknown error"),
                inner.message().unwrap_or("no message")
            )
        }
        SdkError::TimeoutError(_) => "the request timed out".to_owned(),
        other => DisplayErrorContext(other).to_string(),
    }
}
