//! Errors in OpenAI's wire format: `{"error": {"message", "type", "param", "code"}}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An error answered to the client with its HTTP status, in OpenAI's error shape.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// Human-readable explanation.
    pub message: String,
    /// OpenAI error `type` (`invalid_request_error`, `upstream_error`, ...).
    pub kind: &'static str,
    /// The offending request field, if any (`messages[2].content`).
    pub param: Option<String>,
    /// Machine-readable code (`model_not_found`, `upstream_timeout`, ...).
    pub code: &'static str,
}

impl ApiError {
    /// A 400 about a request field.
    pub fn bad_request(message: impl Into<String>, param: Option<&str>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
            kind: "invalid_request_error",
            param: param.map(str::to_owned),
            code: "invalid_request",
        }
    }

    /// A 413: the body is larger than the configured limit.
    pub fn too_large(limit: usize) -> Self {
        ApiError {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            message: format!("request body exceeds the limit of {limit} bytes"),
            kind: "invalid_request_error",
            param: None,
            code: "request_too_large",
        }
    }

    /// A 404 for a model that is neither an auto name nor a configured model.
    pub fn model_not_found(model: &str) -> Self {
        ApiError {
            status: StatusCode::NOT_FOUND,
            message: format!("the model `{model}` does not exist; GET /v1/models lists the models"),
            kind: "invalid_request_error",
            param: Some("model".into()),
            code: "model_not_found",
        }
    }

    /// A 404 for a path that is not served.
    pub fn route_not_found(path: &str) -> Self {
        ApiError {
            status: StatusCode::NOT_FOUND,
            message: format!("no endpoint at {path}"),
            kind: "invalid_request_error",
            param: None,
            code: "not_found",
        }
    }

    /// A 429: too many requests in flight.
    pub fn overloaded(limit: usize) -> Self {
        ApiError {
            status: StatusCode::TOO_MANY_REQUESTS,
            message: format!("server is at its limit of {limit} concurrent requests; retry later"),
            kind: "rate_limit_error",
            param: None,
            code: "too_many_requests",
        }
    }

    /// A 503: the router is not loaded yet.
    pub fn not_ready() -> Self {
        ApiError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            message: "the router is still loading its config and models".into(),
            kind: "server_error",
            param: None,
            code: "not_ready",
        }
    }

    /// A 500 for a failure inside the router (a model that failed at inference, a join error).
    pub fn internal(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: message.into(),
            kind: "server_error",
            param: None,
            code: "internal_error",
        }
    }

    /// A 502: the upstream could not be reached or broke the exchange.
    pub fn bad_gateway(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::BAD_GATEWAY,
            message: message.into(),
            kind: "upstream_error",
            param: None,
            code: "upstream_unavailable",
        }
    }

    /// A 504: the upstream did not answer in time.
    pub fn gateway_timeout(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::GATEWAY_TIMEOUT,
            message: message.into(),
            kind: "upstream_error",
            param: None,
            code: "upstream_timeout",
        }
    }

    /// The JSON body of the error.
    pub fn body(&self) -> serde_json::Value {
        json!({
            "error": {
                "message": self.message,
                "type": self.kind,
                "param": self.param,
                "code": self.code,
            }
        })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, axum::Json(self.body())).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_body_has_openai_shape() {
        let e = ApiError::model_not_found("gpt-9");
        assert_eq!(e.status, StatusCode::NOT_FOUND);
        let b = e.body();
        assert_eq!(b["error"]["type"], "invalid_request_error");
        assert_eq!(b["error"]["param"], "model");
        assert_eq!(b["error"]["code"], "model_not_found");
        assert!(b["error"]["message"].as_str().unwrap().contains("gpt-9"));
        let e = ApiError::too_large(10);
        assert_eq!(e.body()["error"]["param"], serde_json::Value::Null);
    }
}
