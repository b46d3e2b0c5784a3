//! API failures as driftless reports them.

/// A failed API call, as the server (or the transport) reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiFailure {
    /// HTTP status; 0 when the request never got an answer.
    pub code: u16,
    pub reason: String,
    pub message: String,
    /// The kind of the object the failure is about (`namespaces` for a missing namespace).
    pub details_kind: String,
    /// Per-field causes: (message, field), e.g. (`conflict with "kubectl-edit" using apps/v1`,
    /// `.spec.replicas`) for a server-side apply conflict.
    pub causes: Vec<(String, String)>,
}

impl ApiFailure {
    pub fn is_conflict(&self) -> bool {
        self.code == 409 && self.reason == "Conflict"
    }
    pub fn is_missing_namespace(&self) -> bool {
        self.code == 404 && self.details_kind == "namespaces"
    }
}

impl std::fmt::Display for ApiFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.code {
            0 => f.write_str(&self.message),
            code => write!(f, "{} ({code} {})", self.message, self.reason),
        }
    }
}

impl From<kube::Error> for ApiFailure {
    fn from(err: kube::Error) -> Self {
        match err {
            kube::Error::Api(status) => ApiFailure {
                code: status.code,
                reason: status.reason.clone(),
                message: status.message.clone(),
                details_kind: status
                    .details
                    .as_ref()
                    .map(|d| d.kind.clone())
                    .unwrap_or_default(),
                causes: status
                    .details
                    .as_ref()
                    .map(|d| {
                        d.causes
                            .iter()
                            .map(|c| (c.message.clone(), c.field.clone()))
                            .collect()
                    })
                    .unwrap_or_default(),
            },
            other => ApiFailure {
                code: 0,
                reason: String::new(),
                message: other.to_string(),
                details_kind: String::new(),
                causes: Vec::new(),
            },
        }
    }
}

pub(super) fn failure(message: String) -> ApiFailure {
    ApiFailure {
        code: 0,
        reason: String::new(),
        message,
        details_kind: String::new(),
        causes: Vec::new(),
    }
}
